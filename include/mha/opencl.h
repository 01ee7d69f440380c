/*
 * opencl.h - extensions understood by the "opencl" plugin: running on the
 * caller's OpenCL context and queue, with tensors in cl_mem buffers.
 * docs/opencl.md has the long form and an example.
 *
 *  - mha_opencl_context_options, passed to mha_backend_open_with(), opens the
 *    backend on the caller's cl_context (and optionally its queue).
 *  - Tensors then may live in that context's buffers: mha_tensor.memory =
 *    MHA_MEMORY_OPENCL_BUFFER, .data = the cl_mem, .offset = a byte offset
 *    (a multiple of 4 for float32 tensors). Host and cl_mem tensors may be
 *    mixed in one call.
 *  - mha_opencl_forward, chained into mha_forward_args.next, names the queue
 *    of one call, events it must wait for, and returns an event that
 *    completes when its outputs are written.
 *
 * A forward whose outputs are all cl_mem buffers returns once its work is
 * enqueued; one with a host output returns when the results are in host
 * memory. Host inputs are copied before the call returns either way. cl_mem
 * tensors must stay alive and unchanged until the call's event completes.
 */
#ifndef MHA_OPENCL_H
#define MHA_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdint.h>

#include "mha/mha.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Extension type values of the opencl plugin ('O' 'C' in the high bits). */
#define MHA_OPENCL_EXT_CONTEXT 0x4f430002u /* option of mha_backend_open_with */
#define MHA_OPENCL_EXT_FORWARD 0x4f430003u /* in mha_forward_args.next */
/* 0x4f430004u is the plugin's fault-injection test hook (not installed:
 * plugins/opencl/faults.h). */

/* Runs the backend on the caller's context. Pass it to mha_backend_open_with
 * with the spec "opencl" (a device in the spec is an error: the device comes
 * from here). The backend retains `context` and `queue` until
 * mha_backend_close; the struct itself is only read during the call. */
typedef struct mha_opencl_context_options {
    mha_extension header;    /* struct_size = sizeof, type = MHA_OPENCL_EXT_CONTEXT */
    cl_context context;      /* required */
    cl_device_id device;     /* NULL: the queue's device, else the context's first */
    /* Optional: the queue every call of this backend runs on unless its
     * mha_opencl_forward names another. In-order, on `context` and `device`.
     * With CL_QUEUE_PROFILING_ENABLE the stage times of
     * mha_attention_get_stats are measured, otherwise not. NULL: each
     * attention object makes its own profiling queue on `context`. */
    cl_command_queue queue;
} mha_opencl_context_options;

/* Per-call options; chain into mha_forward_args.next. Caller-owned, only
 * read (and *done written) during the call. */
typedef struct mha_opencl_forward {
    mha_extension header;       /* struct_size = sizeof, type = MHA_OPENCL_EXT_FORWARD */
    cl_command_queue queue;     /* NULL: the backend's queue (see above). In-order,
                                 * on the backend's context and device. */
    cl_uint wait_count;         /* events the call's first command waits for */
    const cl_event *wait_events; /* (at most 63) */
    /* out, optional: an event that completes when the outputs are written,
     * NULL on failure. The caller owns it: clReleaseEvent when done. */
    cl_event *done;
} mha_opencl_forward;

#ifdef __cplusplus
}
#endif
#endif /* MHA_OPENCL_H */
