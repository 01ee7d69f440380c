/*
 * limits.c - the device's limits the plugin obeys: buffer and memory sizes,
 * work-group and work-item sizes, local memory, the base address alignment.
 * Read once per device (platform.c's ocl_device_describe); each context then
 * lowers them to MHA_OPENCL_LIMITS (settings.c parses it), so that tests can
 * make a small device out of PoCL's.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static uint64_t device_ulong(cl_device_id device, cl_device_info param)
{
    cl_ulong v = 0;
    return clGetDeviceInfo(device, param, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static size_t device_size(cl_device_id device, cl_device_info param)
{
    size_t v = 0;
    return clGetDeviceInfo(device, param, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static cl_uint device_uint(cl_device_id device, cl_device_info param)
{
    cl_uint v = 0;
    return clGetDeviceInfo(device, param, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

/* CL_DEVICE_MAX_WORK_ITEM_SIZES has CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS
 * entries, which may be more than 3: read them all, keep the first 3.
 * Dimensions the device does not have take 1. */
static void read_work_item_sizes(cl_device_id device, ocl_device_limits *out)
{
    out->work_item_dims = device_uint(device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS);
    for (int i = 0; i < 3; ++i)
        out->max_work_item[i] = (unsigned)i < out->work_item_dims ? 0 : 1;
    if (out->work_item_dims == 0)
        return;
    size_t *sizes = ocl_host->calloc(out->work_item_dims, sizeof *sizes);
    if (!sizes)
        return; /* unknown (0): not checked */
    if (clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_ITEM_SIZES,
                        out->work_item_dims * sizeof *sizes, sizes, NULL) == CL_SUCCESS)
        for (unsigned i = 0; i < 3 && i < out->work_item_dims; ++i)
            out->max_work_item[i] = sizes[i];
    ocl_host->free(sizes);
}

void ocl_device_limits_read(cl_device_id device, ocl_device_limits *out)
{
    memset(out, 0, sizeof *out);
    out->max_alloc = device_ulong(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    out->global_mem = device_ulong(device, CL_DEVICE_GLOBAL_MEM_SIZE);
    out->local_mem = device_ulong(device, CL_DEVICE_LOCAL_MEM_SIZE);
    out->max_work_group = device_size(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
    out->base_addr_align = device_uint(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN) / 8u;
    read_work_item_sizes(device, out);
}

static uint64_t lower(uint64_t value, uint64_t cap)
{
    return cap != 0 && (value == 0 || cap < value) ? cap : value;
}

void ocl_device_limits_cap(ocl_device_limits *limits, const ocl_device_limits *caps)
{
    limits->max_alloc = lower(limits->max_alloc, caps->max_alloc);
    limits->global_mem = lower(limits->global_mem, caps->global_mem);
    limits->local_mem = lower(limits->local_mem, caps->local_mem);
    limits->max_work_group = (size_t)lower(limits->max_work_group, caps->max_work_group);
    for (int i = 0; i < 3; ++i)
        limits->max_work_item[i] = (size_t)lower(limits->max_work_item[i], caps->max_work_group);
    /* no buffer is larger than the memory that holds it */
    limits->max_alloc = lower(limits->max_alloc, limits->global_mem);
}

void ocl_format_bytes(uint64_t bytes, char *text, size_t cap)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double scaled = (double)bytes;
    int unit = -1;
    while (scaled >= 1024.0 && unit < 3) {
        scaled /= 1024.0;
        ++unit;
    }
    if (unit < 0)
        snprintf(text, cap, "%llu bytes", (unsigned long long)bytes);
    else
        snprintf(text, cap, "%llu bytes = %.1f %s", (unsigned long long)bytes, scaled,
                 units[unit]);
}

mha_status ocl_limits_check_buffer(const ocl_device_limits *limits, const char *what,
                                   const char *formula, uint64_t bytes)
{
    if (limits->max_alloc == 0 || bytes <= limits->max_alloc)
        return MHA_STATUS_OK;
    char need[64], limit[64];
    ocl_format_bytes(bytes, need, sizeof need);
    ocl_format_bytes(limits->max_alloc, limit, sizeof limit);
    return ocl_host->set_error(MHA_STATUS_OUT_OF_MEMORY,
                               "opencl: the buffer \"%s\" (%s) needs %s, more than "
                               "CL_DEVICE_MAX_MEM_ALLOC_SIZE (%s)",
                               what, formula, need, limit);
}

mha_status ocl_limits_check_total(const ocl_device_limits *limits, const char *what,
                                  uint64_t bytes)
{
    if (limits->global_mem == 0 || bytes <= limits->global_mem)
        return MHA_STATUS_OK;
    char need[64], limit[64];
    ocl_format_bytes(bytes, need, sizeof need);
    ocl_format_bytes(limits->global_mem, limit, sizeof limit);
    return ocl_host->set_error(MHA_STATUS_OUT_OF_MEMORY,
                               "opencl: %s needs %s of device memory, more than "
                               "CL_DEVICE_GLOBAL_MEM_SIZE (%s)",
                               what, need, limit);
}

mha_status ocl_limits_check_launch(const ocl_device_limits *limits, cl_device_id device,
                                   cl_kernel kernel, const char *name, size_t local)
{
    size_t kernel_max = 0;
    cl_ulong local_bytes = 0;
    if (clGetKernelWorkGroupInfo(kernel, device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max,
                                 &kernel_max, NULL) != CL_SUCCESS)
        kernel_max = 0; /* not told: not checked */
    if (clGetKernelWorkGroupInfo(kernel, device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local_bytes,
                                 &local_bytes, NULL) != CL_SUCCESS)
        local_bytes = 0;
    const char *limit = NULL;
    size_t most = 0;
    if (local > 0 && kernel_max > 0 && local > kernel_max)
        limit = "the kernel's CL_KERNEL_WORK_GROUP_SIZE", most = kernel_max;
    else if (local > 0 && limits->max_work_group > 0 && local > limits->max_work_group)
        limit = "the device's CL_DEVICE_MAX_WORK_GROUP_SIZE", most = limits->max_work_group;
    else if (local > 0 && limits->max_work_item[0] > 0 && local > limits->max_work_item[0])
        limit = "the device's CL_DEVICE_MAX_WORK_ITEM_SIZES[0]", most = limits->max_work_item[0];
    if (limit)
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: %s: a work-group of %zu work-items is more than %s "
                                   "(%zu)",
                                   name, local, limit, most);
    if (limits->local_mem > 0 && local_bytes > limits->local_mem)
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: %s: a work-group of %zu work-items needs %llu bytes "
                                   "of local memory (CL_KERNEL_LOCAL_MEM_SIZE), more than "
                                   "CL_DEVICE_LOCAL_MEM_SIZE (%llu bytes)",
                                   name, local, (unsigned long long)local_bytes,
                                   (unsigned long long)limits->local_mem);
    return MHA_STATUS_OK;
}
