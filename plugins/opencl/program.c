/* program.c - builds the embedded kernels (cl/philox.cl + cl/attention.cl). */
#include <string.h>

#include "internal.h"

#define OCL_BUILD_OPTIONS "-cl-std=CL1.2"
/* The part of a build log that goes into the error message. */
#define OCL_BUILD_LOG_MAX 2048

/* Records a BUILD_ERROR carrying the start of the build log. */
static mha_status build_failure(cl_program program, cl_device_id device, cl_int err)
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
                                     "opencl: clBuildProgram(attention kernels): %s (%d); "
                                     "build log%s:\n%s",
                                     ocl_cl_error_name(err), (int)err,
                                     cut ? " (truncated)" : "", log);
    } else {
        status = ocl_host->set_error(MHA_STATUS_BUILD_ERROR,
                                     "opencl: clBuildProgram(attention kernels): %s (%d); "
                                     "no build log",
                                     ocl_cl_error_name(err), (int)err);
    }
    ocl_host->free(log);
    return status;
}

mha_status ocl_program_build(cl_context context, cl_device_id device, cl_program *out)
{
    mha_status status = MHA_STATUS_OK;
    cl_program program = NULL;
    cl_int err = CL_SUCCESS;
    const char *sources[2] = {(const char *)mha_cl_philox, (const char *)mha_cl_attention};
    size_t lengths[2] = {mha_cl_philox_len, mha_cl_attention_len};

    *out = NULL;
    program = clCreateProgramWithSource(context, 2, sources, lengths, &err);
    if (err != CL_SUCCESS) {
        status = ocl_cl_fail(err, "clCreateProgramWithSource");
        goto done;
    }
    err = clBuildProgram(program, 1, &device, OCL_BUILD_OPTIONS, NULL, NULL);
    if (err != CL_SUCCESS) {
        status = err == CL_BUILD_PROGRAM_FAILURE ? build_failure(program, device, err)
                                                 : ocl_cl_fail(err, "clBuildProgram");
        goto done;
    }
    *out = program;
    program = NULL;
done:
    if (program)
        clReleaseProgram(program);
    return status;
}
