/*
 * launch.c - kernel launches and the call's queue: arguments, profiling
 * marks, and the start and end of a call (which queue, what it waits for,
 * the event the caller gets).
 *
 * Stage times: on a profiling queue a marker is enqueued after the uploads and
 * after each stage; an in-order queue completes a marker when everything
 * before it is done, so stage i lasts from the end of marker i to the end of
 * marker i + 1. That covers every kernel CLBlast runs for a GEMM (it returns
 * the event of its last kernel only), and also the device's idle time while
 * the host enqueues the stage's commands. Resolved in ocl_attention_stats.
 */
#include <string.h>

#include "call.h"

void ocl_arg_masks(ocl_args *a, const ocl_call *c)
{
    const mha_problem *pr = c->pr;
    const ocl_masks *m = &c->masks;
    arg_mem(a, m->attn.mem);
    arg_ulong(a, m->attn.offset);
    arg_int(a, m->attn_kind);
    arg_int(a, pr->attn_mask_3d);
    arg_mem(a, m->kpm.mem);
    arg_ulong(a, m->kpm.offset);
    arg_int(a, m->kpm_kind);
    arg_int(a, (int64_t)c->args->causal);
    arg_int(a, pr->apply_dropout);
    arg_float(a, pr->dropout);
    arg_float(a, pr->apply_dropout ? 1.0f / (1.0f - pr->dropout) : 1.0f);
    arg_ulong(a, c->args->dropout_seed);
}

/* The __local arguments alone against the device's local memory: drivers
 * that leave them out of CL_KERNEL_LOCAL_MEM_SIZE (rusticl 22.3 does, though
 * the specification counts them; docs/portability.md) would otherwise pass
 * ocl_limits_check_launch with any size. */
static mha_status check_local_arguments(const ocl_call *c, const ocl_args *a, size_t local)
{
    const uint64_t most = c->ctx->limits.local_mem;
    if (most == 0 || a->local_bytes <= most)
        return MHA_STATUS_OK;
    cl_ulong reported = 0;
    if (clGetKernelWorkGroupInfo(a->kernel, c->ctx->device->device, CL_KERNEL_LOCAL_MEM_SIZE,
                                 sizeof reported, &reported, NULL) != CL_SUCCESS)
        reported = 0;
    return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                               "opencl: %s: a work-group of %zu work-items needs %llu bytes of "
                               "local memory for its __local arguments (the driver's "
                               "CL_KERNEL_LOCAL_MEM_SIZE says %llu), more than "
                               "CL_DEVICE_LOCAL_MEM_SIZE (%llu bytes)",
                               a->name, local, (unsigned long long)a->local_bytes,
                               (unsigned long long)reported, (unsigned long long)most);
}

mha_status ocl_launch(ocl_call *c, ocl_args *a, size_t global, size_t local)
{
    if (a->err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(a->err),
                                   "opencl: clSetKernelArg(%s, %u): %s (%d)", a->name,
                                   (unsigned)(a->index - 1), ocl_cl_error_name(a->err),
                                   (int)a->err);
    if (c->ctx->gemm_only) /* MHA_OPENCL_GEMM_ONLY: our kernels are left out */
        return MHA_STATUS_OK;
    mha_status st = ocl_limits_check_launch(&c->ctx->limits, c->ctx->device->device, a->kernel,
                                            a->name, local);
    if (st == MHA_STATUS_OK)
        st = check_local_arguments(c, a, local);
    if (st != MHA_STATUS_OK)
        return st;
    cl_int err = ocl_fault(c->ctx, "clEnqueueNDRangeKernel");
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(c->queue, a->kernel, 1, NULL, &global,
                                     local ? &local : NULL, 0, NULL, NULL);
    if (err == CL_INVALID_WORK_GROUP_SIZE || err == CL_INVALID_WORK_ITEM_SIZE) {
        /* the device's limit, not ours: say what was asked and what the
         * kernel allows (0 when the driver does not say) */
        size_t kernel_max = 0, device_max = 0;
        if (clGetKernelWorkGroupInfo(a->kernel, c->ctx->device->device, CL_KERNEL_WORK_GROUP_SIZE,
                                     sizeof kernel_max, &kernel_max, NULL) != CL_SUCCESS)
            kernel_max = 0;
        if (clGetDeviceInfo(c->ctx->device->device, CL_DEVICE_MAX_WORK_GROUP_SIZE,
                            sizeof device_max, &device_max, NULL) != CL_SUCCESS)
            device_max = 0;
        return ocl_host->set_error(
            ocl_cl_status(err),
            "opencl: clEnqueueNDRangeKernel(%s): %s (%d): global size %zu, local size %zu "
            "(0: the driver's choice), the kernel's CL_KERNEL_WORK_GROUP_SIZE %zu, the "
            "device's CL_DEVICE_MAX_WORK_GROUP_SIZE %zu",
            a->name, ocl_cl_error_name(err), (int)err, global, local, kernel_max, device_max);
    }
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err),
                                   "opencl: clEnqueueNDRangeKernel(%s): %s (%d)", a->name,
                                   ocl_cl_error_name(err), (int)err);
    return MHA_STATUS_OK;
}

mha_status ocl_marker(ocl_call *c, cl_uint count, const cl_event *wait, cl_event *event)
{
    cl_int err = ocl_fault(c->ctx, "clEnqueueMarkerWithWaitList");
    if (err == CL_SUCCESS)
        err = clEnqueueMarkerWithWaitList(c->queue, count, count ? wait : NULL, event);
    if (err != CL_SUCCESS) {
        *event = NULL;
        return ocl_cl_fail(err, "clEnqueueMarkerWithWaitList");
    }
    ocl_event_created(c->ctx);
    return MHA_STATUS_OK;
}

mha_status ocl_mark(ocl_call *c, const char *stage, bool gemm)
{
    ocl_attention *att = c->att;
    cl_event event = NULL;
    if (!c->profiling || (stage && !gemm && c->ctx->gemm_only))
        return MHA_STATUS_OK;
    if (att->mark_count > MHA_MAX_STAGES)
        return ocl_host->set_error(MHA_STATUS_INTERNAL, "opencl: more than %d stages",
                                   MHA_MAX_STAGES);
    mha_status st = ocl_marker(c, 0, NULL, &event);
    if (st != MHA_STATUS_OK)
        return st;
    if (stage) {
        att->stage_names[att->mark_count - 1] = stage;
        att->stage_gemm[att->mark_count - 1] = gemm;
    }
    att->marks[att->mark_count++] = event;
    return MHA_STATUS_OK;
}

mha_status ocl_call_begin(ocl_call *c)
{
    ocl_attention *att = c->att;
    const mha_opencl_forward *ext = c->ext;
    c->queue = att->queue;
    c->profiling = att->queue_profiling;
    if (ext && ext->header.struct_size < sizeof *ext)
        return ocl_host->set_error(MHA_STATUS_INVALID_STRUCT_SIZE,
                                   "opencl: mha_opencl_forward.header.struct_size is %zu but "
                                   "must be at least %zu",
                                   ext->header.struct_size, sizeof *ext);
    if (ext && ext->done)
        *ext->done = NULL;
    if (ext && ext->wait_count > 0 && !ext->wait_events)
        return ocl_host->set_error(MHA_STATUS_NULL_ARGUMENT,
                                   "opencl: mha_opencl_forward.wait_events is NULL but "
                                   "wait_count is %u",
                                   (unsigned)ext->wait_count);
    if (ext && ext->queue && ext->queue != att->queue) {
        mha_status st = ocl_check_queue(c->ctx, ext->queue, "mha_opencl_forward.queue",
                                        &c->profiling);
        if (st != MHA_STATUS_OK)
            return st;
        c->queue = ext->queue;
    }
    /* The previous call may still run (on another queue): it uses the same
     * scratch buffers. Then the caller's events. */
    cl_event wait[64];
    cl_uint count = 0;
    if (att->last_event)
        wait[count++] = att->last_event;
    if (ext && ext->wait_count > 0) {
        if (ext->wait_count > 63)
            return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                       "opencl: mha_opencl_forward.wait_count is %u, at most 63",
                                       (unsigned)ext->wait_count);
        memcpy(wait + count, ext->wait_events, ext->wait_count * sizeof(cl_event));
        count += ext->wait_count;
    }
    if (count == 0 || (count == 1 && att->last_event && c->queue == att->last_queue))
        return MHA_STATUS_OK; /* an in-order queue waits anyway */
    cl_event gate = NULL;
    mha_status st = ocl_marker(c, count, wait, &gate);
    if (st == MHA_STATUS_OK)
        ocl_event_release(c->ctx, gate);
    return st;
}

mha_status ocl_call_finish(ocl_call *c)
{
    ocl_attention *att = c->att;
    cl_event done = NULL;
    mha_status st = ocl_marker(c, 0, NULL, &done);
    if (st != MHA_STATUS_OK)
        return st;
    if (att->last_event)
        ocl_event_release(c->ctx, att->last_event);
    att->last_event = done;
    att->last_queue = c->queue;
    /* Submit the call's commands now. `done`, and last_event that the next
     * call may wait for on another queue, must complete without anyone
     * flushing this queue: an enqueued command need not start before a flush
     * (under rusticl it does not, and a wait from another queue deadlocked).
     * A blocking read flushes too, but a call whose outputs are all cl_mem
     * returns without one. */
    cl_int err = ocl_fault(c->ctx, "clFlush");
    if (err == CL_SUCCESS)
        err = clFlush(c->queue);
    if (err != CL_SUCCESS)
        return ocl_cl_fail(err, "clFlush");
    if (c->ext && c->ext->done) {
        clRetainEvent(done); /* the caller's reference, not counted as ours */
        *c->ext->done = done;
    }
    return MHA_STATUS_OK;
}
