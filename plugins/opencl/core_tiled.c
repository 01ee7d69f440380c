/*
 * core_tiled.c - the attention core's tiled query kernel (cl/core_tiled.cl)
 * on OpenCL: the kernel of the head sizes, its work-group and key tile from
 * the device's limits (the rules: ocl_core_* in path.c), and the launch.
 * core.c prepares the buffers and the geometry, chooses the kernel and
 * calls it.
 */
#include "core.h"

/* Work-items (query rows) per group at most. */
#define CORE_GROUP_ROWS 64

/* The kernel of row width dm (ocl_core_tile_width). */
static ocl_kernel_id tiled_kernel(int dm)
{
    return dm <= 16 ? OCL_K_CORE_TILED_16 : dm <= 32 ? OCL_K_CORE_TILED_32
           : dm <= 64 ? OCL_K_CORE_TILED_64 : dm <= 128 ? OCL_K_CORE_TILED_128
                                                        : OCL_K_CORE_TILED_256;
}

static mha_status set_arg(cl_kernel kernel, const char *name, cl_uint index, size_t size,
                          const void *value)
{
    cl_int err = clSetKernelArg(kernel, index, size, value);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clSetKernelArg(%s, %u): %s (%d)",
                                   name, (unsigned)index, ocl_cl_error_name(err), (int)err);
    return MHA_STATUS_OK;
}

/* Rows per group: a power of two up to CORE_GROUP_ROWS, the device's and
 * the kernel's work-group limits, and no more than L needs. */
static size_t group_rows(const ocl_context *ctx, cl_kernel kernel, int64_t L)
{
    const ocl_device_limits *limits = &ctx->limits;
    size_t most = CORE_GROUP_ROWS, kernel_max = 0;
    if (limits->max_work_group > 0 && limits->max_work_group < most)
        most = limits->max_work_group;
    if (limits->max_work_item[0] > 0 && limits->max_work_item[0] < most)
        most = limits->max_work_item[0];
    if (clGetKernelWorkGroupInfo(kernel, ctx->device->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof kernel_max, &kernel_max, NULL) == CL_SUCCESS &&
        kernel_max > 0 && kernel_max < most)
        most = kernel_max;
    size_t rows = 1;
    while (rows * 2 <= most && (int64_t)rows < L)
        rows *= 2;
    return rows;
}

mha_status ocl_core_tiled_run(ocl_context *ctx, cl_command_queue queue, cl_program program,
                              const mha_core_problem *pr, const cl_mem *mems)
{
    const int dm = ocl_core_tile_width(pr->head_dim, pr->v_head_dim);
    const ocl_kernel_id id = tiled_kernel(dm);
    const char *name = ocl_kernel_name(id);
    const uint64_t local_mem = ctx->limits.local_mem;
    const uint64_t keys = ocl_core_tile_keys(local_mem, dm);
    if (keys == 0)
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: %s: head sizes D = %lld and Dv = %lld need %llu bytes "
                                   "of local memory for a tile of one key (k and v rows of %d "
                                   "floats), more than the device's %llu",
                                   name, (long long)pr->head_dim, (long long)pr->v_head_dim,
                                   (unsigned long long)(2u * (uint64_t)dm * sizeof(cl_float)), dm,
                                   (unsigned long long)local_mem);
    const cl_int block_k = (cl_int)keys;
    const size_t tile_bytes = (size_t)block_k * (size_t)dm * sizeof(cl_float);

    cl_int err = ocl_fault(ctx, "clCreateKernel");
    cl_kernel kernel = NULL;
    if (err == CL_SUCCESS)
        kernel = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clCreateKernel(%s): %s (%d)", name,
                                   ocl_cl_error_name(err), (int)err);

    cl_int dtype = pr->dtype, mask_dtype = pr->mask.data ? pr->mask.dtype : 0;
    cl_int attends = pr->mask_true_attends, nonpad_dtype = pr->nonpad.data ? pr->nonpad.dtype : 0;
    cl_int causal = pr->is_causal, from_nonpad = pr->offset_from_nonpad;
    cl_float scale = pr->scale, softcap = pr->softcap;
    const void *ints[] = {&dtype, &mask_dtype, &attends, &nonpad_dtype, &causal, &from_nonpad};
    mha_status status = MHA_STATUS_OK;
    cl_uint arg = 0;
    for (int i = 0; i < OCL_CORE_TILED_MEMS && status == MHA_STATUS_OK; ++i)
        status = set_arg(kernel, name, arg++, sizeof(cl_mem), &mems[i]);
    for (int i = 0; i < 6 && status == MHA_STATUS_OK; ++i)
        status = set_arg(kernel, name, arg++, sizeof(cl_int), ints[i]);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_float), &scale);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_float), &softcap);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, tile_bytes, NULL); /* ks */
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, tile_bytes, NULL); /* vs */
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_int), &block_k);

    const size_t rows = group_rows(ctx, kernel, pr->q_len);
    if (status == MHA_STATUS_OK)
        status = ocl_limits_check_launch(&ctx->limits, ctx->device->device, kernel, name, rows);
    const size_t local[2] = {rows, 1};
    const size_t global[2] = {((size_t)pr->q_len + rows - 1) / rows * rows,
                              (size_t)(pr->batch * pr->q_heads)};
    if (status == MHA_STATUS_OK && global[0] > 0 && global[1] > 0) {
        err = ocl_fault(ctx, "clEnqueueNDRangeKernel");
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(queue, kernel, 2, NULL, global, local, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = ocl_host->set_error(ocl_cl_status(err),
                                         "opencl: clEnqueueNDRangeKernel(%s): %s (%d): global "
                                         "size %zu x %zu, local size %zu x 1, %d keys per tile",
                                         name, ocl_cl_error_name(err), (int)err, global[0],
                                         global[1], rows, (int)block_k);
    }
    clReleaseKernel(kernel);
    return status;
}
