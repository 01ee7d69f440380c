/* views.c - a call's tensors on the device: cl_mem tensors checked and used
 * in place, host tensors uploaded into the attention object's scratch
 * buffers (grown on demand, reused), host outputs downloaded at the end. */
#include "call.h"

mha_status ocl_reserve(ocl_call *c, ocl_buffer *buf, size_t bytes, const char *what)
{
    return ocl_buffer_reserve(c->ctx, &c->att->stats, buf, bytes, what);
}

/* In GEMM-only timing, where our kernels are left out, a new buffer is zeroed
 * instead (denormals or NaNs left in it would skew the GEMMs' timing). */
mha_status ocl_reserve_scratch(ocl_call *c, ocl_buffer *buf, size_t bytes, const char *what)
{
    const uint64_t before = c->att->stats.allocations;
    mha_status st = ocl_reserve(c, buf, bytes, what);
    if (st != MHA_STATUS_OK || !c->ctx->gemm_only || c->att->stats.allocations == before)
        return st;
    const cl_float zero = 0.0f;
    cl_int err = clEnqueueFillBuffer(c->queue, buf->mem, &zero, sizeof zero, 0, buf->size, 0,
                                     NULL, NULL);
    return err == CL_SUCCESS ? MHA_STATUS_OK : ocl_cl_fail(err, "clEnqueueFillBuffer");
}

/* Checks a cl_mem tensor of `bytes` bytes: it belongs to the backend's
 * context, its offset is a multiple of `align` and the data fits. */
static mha_status device_view(ocl_call *c, const mha_tensor *t, size_t bytes, size_t align,
                              const char *name, ocl_view *view)
{
    cl_mem mem = (cl_mem)t->data;
    cl_context owner = NULL;
    size_t size = 0;
    cl_int err = clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: %s.data is not a usable cl_mem: clGetMemObjectInfo: %s (%d)",
                                   name, ocl_cl_error_name(err), (int)err);
    if (owner != c->ctx->cl)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: %s.data is a cl_mem of another cl_context than the "
                                   "backend's (open the backend on that context: "
                                   "mha_backend_open_with and MHA_OPENCL_EXT_CONTEXT)",
                                   name);
    if (t->offset % align != 0)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: %s.offset is %llu but must be a multiple of %zu", name,
                                   (unsigned long long)t->offset, align);
    if (t->offset > size || bytes > size - t->offset)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: %s needs %zu bytes at offset %llu but its cl_mem "
                                   "holds %zu",
                                   name, bytes, (unsigned long long)t->offset, size);
    view->mem = mem;
    view->offset = (size_t)t->offset;
    return MHA_STATUS_OK;
}

/* A blocking write: the caller's memory is free again when the call returns. */
mha_status ocl_input_view(ocl_call *c, const mha_tensor *t, ocl_buffer *scratch, size_t bytes,
                          size_t align, const char *name, ocl_view *view)
{
    if (t->memory == MHA_MEMORY_OPENCL_BUFFER)
        return device_view(c, t, bytes, align, name, view);
    mha_status st = ocl_reserve(c, scratch, bytes, name);
    if (st != MHA_STATUS_OK)
        return st;
    cl_int err = ocl_fault(c->ctx, "clEnqueueWriteBuffer");
    if (err == CL_SUCCESS)
        err = clEnqueueWriteBuffer(c->queue, scratch->mem, CL_TRUE, 0, bytes, t->data, 0, NULL,
                                   NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clEnqueueWriteBuffer(%s): %s (%d)",
                                   name, ocl_cl_error_name(err), (int)err);
    view->mem = scratch->mem;
    view->offset = 0;
    return MHA_STATUS_OK;
}

mha_status ocl_output_view(ocl_call *c, const mha_tensor *t, ocl_buffer *scratch, size_t bytes,
                           const char *name, ocl_view *view)
{
    if (t->memory == MHA_MEMORY_OPENCL_BUFFER)
        return device_view(c, t, bytes, sizeof(float), name, view);
    mha_status st = ocl_reserve(c, scratch, bytes, name);
    view->mem = scratch->mem;
    view->offset = 0;
    return st;
}

/* Bytes per element (mha_dtype_size lives in libmha, which plugins do not link). */
static size_t dtype_size(mha_dtype dtype)
{
    return dtype == MHA_DTYPE_BOOL ? 1u : dtype == MHA_DTYPE_F16 ? 2u : 4u;
}

static size_t numel(const mha_tensor *t)
{
    size_t n = 1;
    for (int32_t i = 0; i < t->rank; ++i)
        n *= (size_t)t->shape[i];
    return n;
}

mha_status ocl_mask_view(ocl_call *c, const mha_tensor *t, ocl_buffer *buf, int *kind,
                         const char *what, ocl_view *view)
{
    *kind = OCL_MASK_NONE;
    view->mem = NULL;
    view->offset = 0;
    if (!t->data || t->dtype == MHA_DTYPE_NONE)
        return MHA_STATUS_OK;
    *kind = t->dtype == MHA_DTYPE_BOOL ? OCL_MASK_BOOL : OCL_MASK_FLOAT;
    return ocl_input_view(c, t, buf, numel(t) * dtype_size(t->dtype), dtype_size(t->dtype),
                          what, view);
}

mha_status ocl_download(ocl_call *c, cl_mem mem, void *dst, size_t bytes, const char *what)
{
    cl_int err = ocl_fault(c->ctx, "clEnqueueReadBuffer");
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(c->queue, mem, CL_TRUE, 0, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clEnqueueReadBuffer(%s): %s (%d)",
                                   what, ocl_cl_error_name(err), (int)err);
    return MHA_STATUS_OK;
}
