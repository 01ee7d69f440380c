/*
 * program.c - builds the programs of the kernel table (kernels.h), each from
 * the embedded cl/shared.h, cl/philox.cl, cl/common.cl and its own source
 * (sources.c), through the binary cache of cache.c: one cache entry per program, named
 * after it. context.c decides when (the common program when a context is
 * created, the others at the first call that needs them).
 *
 * A build from source (a cache miss) takes seconds under PoCL: it is told at
 * MHA_LOG_INFO (the host's log service, ABI 1.1; a 1.0 host's trace
 * otherwise), before and after. Cache hits and misses are traced.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "internal.h"

static const char *const g_kernel_names[OCL_KERNEL_COUNT] = {
#define OCL_X(id, name, program) #name,
    OCL_KERNELS(OCL_X)
#undef OCL_X
};
static const ocl_program_id g_kernel_programs[OCL_KERNEL_COUNT] = {
#define OCL_X(id, name, program) OCL_PROGRAM_##program,
    OCL_KERNELS(OCL_X)
#undef OCL_X
};

const char *ocl_kernel_name(ocl_kernel_id id) { return g_kernel_names[id]; }
ocl_program_id ocl_kernel_program(ocl_kernel_id id) { return g_kernel_programs[id]; }

#define OCL_BUILD_OPTIONS "-cl-std=CL1.2"
/* The developer setting appended to the build options (e.g. "-DNAME=VALUE",
 * or something that breaks the build to test the failure path; settings.c).
 * Part of the cache key. */
#define OCL_BUILD_OPTIONS_ENV "MHA_OPENCL_BUILD_OPTIONS"
#define OCL_OPTIONS_MAX 1024
/* The part of a build log that goes into the error message. */
#define OCL_BUILD_LOG_MAX 2048

/* A message at MHA_LOG_INFO: the host's log service where it has one (ABI
 * 1.1), else its trace. */
__attribute__((format(printf, 1, 2))) static void info(const char *format, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    if (MHA_HOST_HAS(ocl_host, log))
        ocl_host->log(MHA_LOG_INFO, "%s", message);
    else
        ocl_host->trace("%s", message);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Records a BUILD_ERROR carrying the start of the build log. */
static mha_status build_failure(cl_program program, cl_device_id device, cl_int err,
                                const char *name, const char *options)
{
    char *log = NULL;
    size_t size = 0;
    mha_status status;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) == CL_SUCCESS &&
        size > 0)
        log = ocl_host->alloc(size + 1);
    if (log && clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log, NULL) ==
                   CL_SUCCESS) {
        log[size] = '\0';
        size_t len = strlen(log);
        bool cut = len > OCL_BUILD_LOG_MAX;
        if (cut)
            log[OCL_BUILD_LOG_MAX] = '\0';
        status = ocl_host->set_error(MHA_STATUS_BUILD_ERROR,
                                     "opencl: clBuildProgram(%s kernels, \"%s\"): %s (%d); "
                                     "build log%s:\n%s",
                                     name, options, ocl_cl_error_name(err), (int)err,
                                     cut ? " (truncated)" : "", log);
    } else {
        status = ocl_host->set_error(MHA_STATUS_BUILD_ERROR,
                                     "opencl: clBuildProgram(%s kernels, \"%s\"): %s (%d); "
                                     "no build log",
                                     name, options, ocl_cl_error_name(err), (int)err);
    }
    ocl_host->free(log);
    return status;
}

/* The cache key: everything that decides what the binary is. */
static uint64_t program_key(ocl_program_id id, const ocl_device *dev, const char *options)
{
    uint64_t h = 14695981039346656037ull;
    const char *sources[OCL_SOURCES_MAX];
    size_t lengths[OCL_SOURCES_MAX];
    const cl_uint count = ocl_program_sources(id, sources, lengths);
    for (cl_uint i = 0; i < count; ++i)
        h = ocl_hash_bytes(h, sources[i], lengths[i]);
    h = ocl_hash_bytes(h, options, strlen(options) + 1);
    h = ocl_hash_bytes(h, dev->info.name, strlen(dev->info.name) + 1);
    h = ocl_hash_bytes(h, dev->info.vendor, strlen(dev->info.vendor) + 1);
    h = ocl_hash_bytes(h, dev->info.driver, strlen(dev->info.driver) + 1);
    return h;
}

/* A program from a cached binary, or NULL (then build from source). */
static cl_program load_cached(cl_context context, cl_device_id device, const char *path,
                              uint64_t key, const char *options)
{
    size_t size = 0;
    unsigned char *bin = ocl_cache_load(path, key, &size);
    cl_program program = NULL;
    cl_int err = CL_SUCCESS, bin_status = CL_SUCCESS;
    if (!bin) {
        ocl_host->trace("opencl: cache: miss: %s", path);
        return NULL;
    }
    const unsigned char *bins[1] = {bin};
    program = clCreateProgramWithBinary(context, 1, &device, &size, bins, &bin_status, &err);
    if (err == CL_SUCCESS && bin_status == CL_SUCCESS)
        err = clBuildProgram(program, 1, &device, options, NULL, NULL);
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
        ocl_host->trace("opencl: cache: %s refused by the driver (%s), rebuilding", path,
                        ocl_cl_error_name(err != CL_SUCCESS ? err : bin_status));
        if (program)
            clReleaseProgram(program);
        program = NULL;
    } else {
        ocl_host->trace("opencl: cache: loaded %s", path);
    }
    ocl_host->free(bin);
    return program;
}

static void store_cached(cl_program program, const char *path, uint64_t key)
{
    size_t size = 0;
    unsigned char *bin = NULL;
    if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0)
        return;
    bin = ocl_host->alloc(size);
    if (!bin)
        return;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS)
        ocl_cache_store(path, key, bin, size);
    ocl_host->free(bin);
}

mha_status ocl_program_build(const ocl_build_target *t, ocl_program_id id, cl_program *out)
{
    const char *name = ocl_program_name(id);
    cl_context context = t->cl;
    const ocl_device *dev = t->device;
    mha_status status = MHA_STATUS_OK;
    cl_program program = NULL;
    cl_int err = CL_SUCCESS;
    cl_device_id device = dev->device;
    const char *sources[OCL_SOURCES_MAX];
    size_t lengths[OCL_SOURCES_MAX];
    const cl_uint count = ocl_program_sources(id, sources, lengths);
    char path[4200], options[OCL_OPTIONS_MAX];
    const char *extra = t->settings->build_options;

    *out = NULL;
    int n = snprintf(options, sizeof options, "%s%s%s", OCL_BUILD_OPTIONS,
                     extra && *extra ? " " : "", extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof options)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: %s is %zu characters long, at most %d",
                                   OCL_BUILD_OPTIONS_ENV, strlen(extra),
                                   OCL_OPTIONS_MAX - 1 - (int)sizeof OCL_BUILD_OPTIONS);
    const uint64_t key = program_key(id, dev, options);
    const bool cached = ocl_cache_path(t->settings, name, key, path, sizeof path);
    if (cached && (program = load_cached(context, device, path, key, options)) != NULL) {
        *out = program;
        return MHA_STATUS_OK;
    }
    if (cached)
        info("opencl: building the %s kernels for %s (first run; cached in %s)", name,
             dev->info.name, t->settings->cache_dir);
    else
        info("opencl: building the %s kernels for %s (the program cache is off)", name,
             dev->info.name);
    const double start = seconds_now();
    err = ocl_fault_at(t->faults, "clCreateProgramWithSource");
    if (err == CL_SUCCESS)
        program = clCreateProgramWithSource(context, count, sources, lengths, &err);
    if (err != CL_SUCCESS) {
        program = NULL;
        status = ocl_cl_fail(err, "clCreateProgramWithSource");
        goto done;
    }
    err = ocl_fault_at(t->faults, "clBuildProgram");
    if (err != CL_SUCCESS) {
        status = ocl_cl_fail(err, "clBuildProgram (injected fault)");
        goto done;
    }
    err = clBuildProgram(program, 1, &device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        status = err == CL_BUILD_PROGRAM_FAILURE || err == CL_INVALID_BUILD_OPTIONS
                     ? build_failure(program, device, err, name, options)
                     : ocl_cl_fail(err, "clBuildProgram");
        goto done;
    }
    info("opencl: built the %s kernels in %.1f s", name, seconds_now() - start);
    if (cached)
        store_cached(program, path, key);
    *out = program;
    program = NULL;
done:
    if (program)
        clReleaseProgram(program);
    return status;
}
