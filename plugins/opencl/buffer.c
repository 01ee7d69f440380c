/* buffer.c - device buffers that grow on demand, and their allocation count. */
#include "internal.h"

mha_status ocl_buffer_create(ocl_context *ctx, ocl_alloc_stats *stats, ocl_buffer *buf,
                             cl_mem_flags flags, size_t bytes, const char *what)
{
    cl_mem mem = NULL;
    if (bytes == 0)
        bytes = sizeof(float);
    /* fits.c checks a forward's buffers before it enqueues anything; this
     * catches the rest (the weights) before the driver sees them */
    mha_status st = ocl_limits_check_buffer(&ctx->limits, what, "as allocated", bytes);
    if (st == MHA_STATUS_OK)
        st = ocl_limits_check_total(&ctx->limits, "the backend's buffers",
                                    atomic_load(&ctx->device_bytes) + bytes);
    if (st != MHA_STATUS_OK)
        return st;
    cl_int err = ocl_fault(ctx, "clCreateBuffer");
    if (err == CL_SUCCESS)
        mem = clCreateBuffer(ctx->cl, flags, bytes, NULL, &err);
    if (err != CL_SUCCESS || !mem) {
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clCreateBuffer(%s, %zu bytes): %s (%d)",
                                   what, bytes, ocl_cl_error_name(err), (int)err);
    }
    buf->mem = mem;
    buf->size = bytes;
    if (ctx->faults)
        ctx->faults->live_buffers++;
    stats->allocations += 1;
    stats->bytes += bytes;
    atomic_fetch_add(&ctx->device_bytes, bytes);
    if (stats->bytes > stats->bytes_peak)
        stats->bytes_peak = stats->bytes;
    return MHA_STATUS_OK;
}

mha_status ocl_buffer_reserve(ocl_context *ctx, ocl_alloc_stats *stats, ocl_buffer *buf,
                              size_t bytes, const char *what)
{
    if (buf->mem && buf->size >= bytes)
        return MHA_STATUS_OK;
    /* Release first: the old contents are scratch, and the device may not
     * hold both. (Commands still in flight keep it alive: OpenCL frees a
     * released buffer only once they are done.) */
    ocl_buffer_release(ctx, stats, buf);
    return ocl_buffer_create(ctx, stats, buf, CL_MEM_READ_WRITE, bytes, what);
}

void ocl_buffer_release(ocl_context *ctx, ocl_alloc_stats *stats, ocl_buffer *buf)
{
    if (buf->mem) {
        clReleaseMemObject(buf->mem);
        stats->bytes -= buf->size;
        atomic_fetch_sub(&ctx->device_bytes, buf->size);
        if (ctx->faults)
            ctx->faults->live_buffers--;
    }
    buf->mem = NULL;
    buf->size = 0;
}
