/*
 * platform.c - every OpenCL platform and device, enumerated once in init(),
 * and the device spec syntax of context_create:
 *
 *   ""     the value of MHA_OPENCL_DEVICE if set and not empty, else the
 *          first GPU, else the first device, of the devices with OpenCL 1.2
 *          or later (ocl_device_default)
 *   "N"    the N-th device overall (counting across platforms)
 *   "P.D"  device D of platform P
 *   other  the first device whose name contains the text (case-insensitive)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static ocl_device *g_devices;
static ocl_device_choice *g_choices; /* what ocl_device_default knows of each */
static size_t g_device_count;

static void copy_trimmed(char *dst, size_t cap, const char *src)
{
    while (*src == ' ')
        ++src;
    size_t n = strlen(src);
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\n'))
        --n;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void device_string(cl_device_id dev, cl_device_info param, char *dst, size_t cap)
{
    char buf[256];
    size_t got = 0;
    buf[0] = '\0';
    if (clGetDeviceInfo(dev, param, sizeof buf - 1, buf, &got) != CL_SUCCESS)
        buf[0] = '\0';
    buf[sizeof buf - 1] = '\0';
    copy_trimmed(dst, cap, buf);
}

void ocl_device_describe(ocl_device *d)
{
    mha_device_info *info = &d->info;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    snprintf(info->spec, sizeof info->spec, "%u.%u", d->platform_index, d->device_index);
    device_string(d->device, CL_DEVICE_NAME, info->name, sizeof info->name);
    device_string(d->device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    device_string(d->device, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
    cl_device_type type = 0;
    if (clGetDeviceInfo(d->device, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        type = 0;
    d->type = type;
    d->kind = ocl_device_kind_of(type);
    snprintf(info->kind, sizeof info->kind, "%s", ocl_device_kind_name(d->kind));
    device_string(d->device, CL_DEVICE_VERSION, d->version, sizeof d->version);
    d->usable = ocl_device_version_enough(d->version);
    d->loop_cap = ocl_device_loop_cap(info->name);
    cl_ulong mem = 0;
    if (clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL) == CL_SUCCESS)
        info->memory_bytes = mem;
    cl_uint units = 0;
    if (clGetDeviceInfo(d->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL) ==
        CL_SUCCESS)
        info->compute_units = units;
    ocl_device_limits_read(d->device, &d->limits);
}

mha_status ocl_devices_init(void)
{
    mha_status status = MHA_STATUS_OK;
    cl_platform_id *platforms = NULL;
    cl_device_id *ids = NULL;
    cl_uint nplat = 0;

    g_devices = NULL;
    g_choices = NULL;
    g_device_count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    if (err != CL_SUCCESS || nplat == 0) {
        /* No ICD or no platform: a valid state with zero devices. */
        ocl_host->trace("opencl: no OpenCL platform (%s)", ocl_cl_error_name(err));
        goto done;
    }
    platforms = ocl_host->calloc(nplat, sizeof *platforms);
    if (!platforms) {
        status = ocl_out_of_host_memory("platform list");
        goto done;
    }
    err = clGetPlatformIDs(nplat, platforms, NULL);
    if (err != CL_SUCCESS) {
        status = ocl_cl_fail(err, "clGetPlatformIDs");
        goto done;
    }
    for (cl_uint p = 0; p < nplat; ++p) {
        cl_uint ndev = 0;
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (err != CL_SUCCESS || ndev == 0) {
            ocl_host->trace("opencl: platform %u has no device (%s)", (unsigned)p,
                            ocl_cl_error_name(err));
            continue;
        }
        ocl_host->free(ids);
        ids = ocl_host->calloc(ndev, sizeof *ids);
        if (!ids) {
            status = ocl_out_of_host_memory("device list");
            goto done;
        }
        err = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, ndev, ids, NULL);
        if (err != CL_SUCCESS) {
            ocl_host->trace("opencl: platform %u: clGetDeviceIDs: %s", (unsigned)p,
                            ocl_cl_error_name(err));
            continue;
        }
        size_t bytes = (g_device_count + ndev) * sizeof *g_devices;
        ocl_device *grown = g_devices ? ocl_host->realloc(g_devices, bytes) : ocl_host->alloc(bytes);
        if (!grown) {
            status = ocl_out_of_host_memory("device table");
            goto done;
        }
        g_devices = grown;
        bytes = (g_device_count + ndev) * sizeof *g_choices;
        ocl_device_choice *choices =
            g_choices ? ocl_host->realloc(g_choices, bytes) : ocl_host->alloc(bytes);
        if (!choices) {
            status = ocl_out_of_host_memory("device table");
            goto done;
        }
        g_choices = choices;
        for (cl_uint d = 0; d < ndev; ++d) {
            ocl_device *dev = &g_devices[g_device_count++];
            memset(dev, 0, sizeof *dev);
            dev->platform = platforms[p];
            dev->device = ids[d];
            dev->platform_index = (unsigned)p;
            dev->device_index = (unsigned)d;
            ocl_device_describe(dev);
            ocl_host->trace("opencl: device %s: %s (%s, %s)%s", dev->info.spec, dev->info.name,
                            dev->info.kind, dev->version,
                            dev->usable ? "" : ": below OpenCL 1.2, never the default");
            g_choices[g_device_count - 1] = (ocl_device_choice){dev->kind, dev->usable};
        }
    }
done:
    ocl_host->free(platforms);
    ocl_host->free(ids);
    if (status != MHA_STATUS_OK)
        ocl_devices_shutdown();
    return status;
}

void ocl_devices_shutdown(void)
{
    ocl_host->free(g_devices);
    ocl_host->free(g_choices);
    g_devices = NULL;
    g_choices = NULL;
    g_device_count = 0;
}

size_t ocl_devices_count(void)
{
    return g_device_count;
}

const ocl_device *ocl_devices_at(size_t index)
{
    return index < g_device_count ? &g_devices[index] : NULL;
}

/* The index ocl_device_default chooses; g_device_count when no device is
 * usable. */
static size_t default_index(void)
{
    return ocl_device_default(g_choices, g_device_count);
}

int ocl_devices_score(void)
{
    const size_t index = default_index();
    if (index >= g_device_count)
        return 0; /* no device, or none with OpenCL 1.2 */
    return g_devices[index].kind == OCL_DEVICE_GPU ? 100 : 10;
}

mha_status ocl_device_check_version(const ocl_device *d)
{
    if (d->usable)
        return MHA_STATUS_OK;
    return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                               "opencl: device %s (\"%s\") reports \"%s\"; the plugin needs "
                               "OpenCL %d.%d or later",
                               d->info.spec, d->info.name, d->version, OCL_DEVICE_MIN_MAJOR,
                               OCL_DEVICE_MIN_MINOR);
}

/* Parses a non-empty run of decimal digits ending at *end; false otherwise. */
static bool parse_index(const char *s, const char **end, unsigned long *out)
{
    if (!isdigit((unsigned char)*s))
        return false;
    char *e = NULL;
    unsigned long v = strtoul(s, &e, 10);
    *end = e;
    *out = v;
    return true;
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; ++hay) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            ++i;
        if (i == n)
            return true;
    }
    return n == 0;
}

mha_status ocl_devices_find(const char *spec, const char *env_spec, const ocl_device **out)
{
    *out = NULL;
    if (!spec)
        spec = "";
    const char *what = spec;
    if (spec[0] == '\0') {
        if (env_spec && env_spec[0] != '\0') {
            spec = env_spec;
            what = env_spec;
        } else {
            const size_t index = default_index();
            if (index < g_device_count) {
                *out = &g_devices[index];
                return MHA_STATUS_OK;
            }
            if (g_device_count > 0 && !g_devices[0].usable) /* none is 1.2: say why */
                return ocl_device_check_version(&g_devices[0]);
            return ocl_host->set_error(MHA_STATUS_NOT_FOUND, "opencl: no OpenCL device");
        }
    }

    const char *end = NULL;
    unsigned long a = 0, b = 0;
    if (parse_index(spec, &end, &a)) {
        if (*end == '\0') {
            if (a < g_device_count) {
                *out = &g_devices[a];
                return MHA_STATUS_OK;
            }
            goto not_found;
        }
        const char *end2 = NULL;
        if (*end == '.' && parse_index(end + 1, &end2, &b) && *end2 == '\0') {
            for (size_t i = 0; i < g_device_count; ++i)
                if (g_devices[i].platform_index == a && g_devices[i].device_index == b) {
                    *out = &g_devices[i];
                    return MHA_STATUS_OK;
                }
            goto not_found;
        }
    }
    /* by name: the first usable match, else the first match (refused by
     * the context, naming its version) */
    for (int pass = 0; pass < 2; ++pass)
        for (size_t i = 0; i < g_device_count; ++i)
            if ((pass == 1 || g_devices[i].usable) &&
                contains_nocase(g_devices[i].info.name, spec)) {
                *out = &g_devices[i];
                return MHA_STATUS_OK;
            }
not_found:
    return ocl_host->set_error(MHA_STATUS_NOT_FOUND, "opencl: no device matches \"%s\"", what);
}

void ocl_device_info_copy(mha_device_info *dst, const mha_device_info *src)
{
    size_t size = dst->struct_size;
    if (size == 0 || size > sizeof *src)
        size = sizeof *src;
    memcpy(dst, src, size);
    dst->struct_size = size;
}
