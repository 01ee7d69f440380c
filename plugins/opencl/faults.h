/*
 * faults.h - the OpenCL plugin's fault-injection hook, a test aid (not
 * installed). Tests reach it through their target's include directories
 * (tests/opencl/CMakeLists.txt); the plugin accepts it as an option of
 * mha_backend_open_with.
 *
 * Every OpenCL call of the plugin that can fail for reasons outside its
 * control (context creation, program builds, buffer allocation, queue and
 * kernel creation, every enqueue) and every CLBlast call is a fault point.
 * The fail_at-th point counted in `points` is not made and fails as if the
 * driver had answered CL_OUT_OF_RESOURCES, or `error` when it is set; with
 * `only` set, only the points of that call (its name, for example
 * "clEnqueueNDRangeKernel") are counted. Not thread-safe: one thread uses
 * the backend while a hook is attached.
 */
#ifndef MHA_OPENCL_FAULTS_H
#define MHA_OPENCL_FAULTS_H

#include <stdint.h>

#include "mha/mha.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Option of mha_backend_open_with ('O' 'C' in the high bits, as the
 * extension types of mha/opencl.h). */
#define MHA_OPENCL_EXT_FAULTS 0x4f430004u

typedef struct mha_opencl_faults {
    uint64_t fail_at;      /* in: 0 = never; the caller may change it between calls */
    uint64_t points;       /* in/out: fault points passed (the caller may reset it) */
    uint64_t injected;     /* out: faults injected so far */
    int64_t live_buffers;  /* out: cl_mem objects the plugin holds now (this backend) */
    int64_t live_events;   /* out: cl_event objects the plugin holds now */
    int32_t error;         /* in: the cl_int error to inject; 0 = CL_OUT_OF_RESOURCES */
    const char *only;      /* in: NULL, or the one call whose points are counted */
} mha_opencl_faults;

typedef struct mha_opencl_fault_options {
    mha_extension header;      /* struct_size = sizeof, type = MHA_OPENCL_EXT_FAULTS */
    mha_opencl_faults *faults; /* caller-owned; must outlive the backend */
} mha_opencl_fault_options;

#ifdef __cplusplus
}
#endif
#endif /* MHA_OPENCL_FAULTS_H */
