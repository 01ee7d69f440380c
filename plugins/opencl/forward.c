/*
 * forward.c - the forward pipeline of one attention call, all on the device:
 *
 *   inputs             host tensors are uploaded into reused scratch buffers;
 *                      cl_mem tensors (interop) are used in place
 *   projections        mha_transpose: each distinct input X transposed, padded
 *                      to CLBlast's tiles; then a CLBlast SGEMM per projection
 *                      with W^T as uploaded, so that CLBlast copies nothing
 *                      (the query's alone on the absorbed path)
 *   then one of three paths for the attention products (ocl_path, use_fused,
 *   use_absorbed):
 *   absorbed           (cl/absorbed.cl) no K or V: the queries through W_k,
 *                      scores against the key rows as given, the softmax
 *                      below, the weighted sum of the value rows as given
 *                      through W_v into rows (l, n); few queries, CPUs
 *   or from the projections:
 *   mha_split_heads    bias, per-head Q^T (D, L), K^T (D, S') or K (S', D),
 *                      V (S', D), bias_kv / zero_attn rows; the fused kernels
 *                      read K and V in place when there are no such rows
 *   fused              mha_attention_fused(_weights) (cl/fused.cl): scores,
 *                      masks, softmax, dropout and P V with no L x S' matrix, the
 *                      heads side by side in rows (l, n), and the weights when
 *                      asked for; CPUs
 *   or GEMM:
 *   scores             CLBlast strided-batched SGEMM over N*H heads: scale Q K^T,
 *                      keys-major (P^T per head, see cl/attention.cl)
 *   mha_softmax(_items) masks, causal, softmax, dropout (in place)
 *   mha_weights_out    the weights asked for, query-major (averaged or per head)
 *   P V                strided-batched SGEMM, per head (N*H, L, D); then
 *                      mha_merge_heads: heads side by side in rows (l, n)
 *   output projection  mha_transpose of the merged heads, CLBlast SGEMM, then
 *                      mha_output (bias, caller's layout)
 *   outputs            downloaded into host tensors, or written into cl_mem ones
 *
 * The call runs on one in-order queue: the attention object's, or the one
 * named by mha_opencl_forward. It returns once everything is enqueued when
 * every output is a cl_mem; a host output makes it wait for the results.
 *
 * Stage times: on a profiling queue a marker is enqueued after the uploads and
 * after each stage; an in-order queue completes a marker when everything
 * before it is done, so stage i lasts from the end of marker i to the end of
 * marker i + 1. That covers every kernel CLBlast runs for a GEMM (it returns
 * the event of its last kernel only), and also the device's idle time while
 * the host enqueues the stage's commands. Resolved in ocl_attention_stats.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Sets consecutive kernel arguments, remembering the first failure. */
typedef struct ocl_args {
    cl_kernel kernel;
    const char *name;
    cl_uint index;
    cl_int err;
} ocl_args;

static void arg(ocl_args *a, size_t size, const void *value)
{
    if (a->err == CL_SUCCESS)
        a->err = clSetKernelArg(a->kernel, a->index, size, value);
    a->index++;
}
static void arg_mem(ocl_args *a, cl_mem mem) { arg(a, sizeof mem, &mem); }
static void arg_int(ocl_args *a, int64_t v)
{
    cl_int x = (cl_int)v;
    arg(a, sizeof x, &x);
}
static void arg_ulong(ocl_args *a, uint64_t v)
{
    cl_ulong x = v;
    arg(a, sizeof x, &x);
}
static void arg_float(ocl_args *a, float v)
{
    cl_float x = v;
    arg(a, sizeof x, &x);
}

static mha_status launch(ocl_attention *att, ocl_args *a, size_t global, size_t local)
{
    if (a->err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(a->err),
                                   "opencl: clSetKernelArg(%s, %u): %s (%d)", a->name,
                                   (unsigned)(a->index - 1), ocl_cl_error_name(a->err),
                                   (int)a->err);
    if (att->context->gemm_only) /* MHA_OPENCL_GEMM_ONLY: our kernels are left out */
        return MHA_STATUS_OK;
    cl_int err = ocl_fault(att->context, "clEnqueueNDRangeKernel");
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(att->run_queue, a->kernel, 1, NULL, &global,
                                     local ? &local : NULL, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err),
                                   "opencl: clEnqueueNDRangeKernel(%s): %s (%d)", a->name,
                                   ocl_cl_error_name(err), (int)err);
    return MHA_STATUS_OK;
}

/* Enqueues a marker that waits for `wait` events and returns it in *event. */
static mha_status marker(ocl_attention *att, cl_uint count, const cl_event *wait,
                         cl_event *event)
{
    cl_int err = ocl_fault(att->context, "clEnqueueMarkerWithWaitList");
    if (err == CL_SUCCESS)
        err = clEnqueueMarkerWithWaitList(att->run_queue, count, count ? wait : NULL, event);
    if (err != CL_SUCCESS) {
        *event = NULL;
        return ocl_cl_fail(err, "clEnqueueMarkerWithWaitList");
    }
    ocl_event_created(att->context);
    return MHA_STATUS_OK;
}

/* On a profiling queue, a marker that ends `stage` (NULL: the start marker). */
static mha_status mark(ocl_attention *att, const char *stage, bool gemm)
{
    cl_event event = NULL;
    if (!att->run_profiling || (stage && !gemm && att->context->gemm_only))
        return MHA_STATUS_OK;
    if (att->mark_count > MHA_MAX_STAGES)
        return ocl_host->set_error(MHA_STATUS_INTERNAL, "opencl: more than %d stages",
                                   MHA_MAX_STAGES);
    mha_status st = marker(att, 0, NULL, &event);
    if (st != MHA_STATUS_OK)
        return st;
    if (stage) {
        att->stage_names[att->mark_count - 1] = stage;
        att->stage_gemm[att->mark_count - 1] = gemm;
    }
    att->marks[att->mark_count++] = event;
    return MHA_STATUS_OK;
}

static mha_status reserve(ocl_attention *att, ocl_buffer *buf, size_t bytes, const char *what)
{
    return ocl_buffer_reserve(att->context, &att->stats, buf, bytes, what);
}

/* A tensor's data on the device: a buffer and a byte offset into it. */
typedef struct ocl_view {
    cl_mem mem;
    size_t offset;
} ocl_view;

/* Checks a cl_mem tensor of `bytes` bytes: it belongs to the backend's
 * context, its offset is a multiple of `align` and the data fits. */
static mha_status device_view(ocl_attention *att, const mha_tensor *t, size_t bytes, size_t align,
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
    if (owner != att->context->cl)
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

/* An input: a cl_mem tensor in place, or a host tensor uploaded into `scratch`
 * (a blocking write: the caller's memory is free again when the call returns). */
static mha_status input_view(ocl_attention *att, const mha_tensor *t, ocl_buffer *scratch,
                             size_t bytes, size_t align, const char *name, ocl_view *view)
{
    if (t->memory == MHA_MEMORY_OPENCL_BUFFER)
        return device_view(att, t, bytes, align, name, view);
    mha_status st = reserve(att, scratch, bytes, name);
    if (st != MHA_STATUS_OK)
        return st;
    cl_int err = ocl_fault(att->context, "clEnqueueWriteBuffer");
    if (err == CL_SUCCESS)
        err = clEnqueueWriteBuffer(att->run_queue, scratch->mem, CL_TRUE, 0, bytes, t->data, 0,
                                   NULL, NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clEnqueueWriteBuffer(%s): %s (%d)",
                                   name, ocl_cl_error_name(err), (int)err);
    view->mem = scratch->mem;
    view->offset = 0;
    return MHA_STATUS_OK;
}

/* An output: a cl_mem tensor in place, or `scratch`, downloaded at the end. */
static mha_status output_view(ocl_attention *att, const mha_tensor *t, ocl_buffer *scratch,
                              size_t bytes, const char *name, ocl_view *view)
{
    if (t->memory == MHA_MEMORY_OPENCL_BUFFER)
        return device_view(att, t, bytes, sizeof(float), name, view);
    mha_status st = reserve(att, scratch, bytes, name);
    view->mem = scratch->mem;
    view->offset = 0;
    return st;
}

static mha_status download(ocl_attention *att, cl_mem mem, void *dst, size_t bytes,
                           const char *what)
{
    cl_int err = ocl_fault(att->context, "clEnqueueReadBuffer");
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(att->run_queue, mem, CL_TRUE, 0, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clEnqueueReadBuffer(%s): %s (%d)",
                                   what, ocl_cl_error_name(err), (int)err);
    return MHA_STATUS_OK;
}

/*
 * The projections, X W^T for X (rows, kdim) row-major and PyTorch's W
 * (E, kdim), are made as CLBlast's padded GEMM kernel (GEMMK = 0) reads its
 * operands in place: column-major C^T (E x rows) = A B^T with A = W^T
 * (kdim, E) as uploaded (attention.c), B = X^T (kdim, rows') from our
 * mha_transpose, each at offset 0 of a buffer of its own, and rows' padded
 * to CLBlast's tile. Handed X and W as they come, CLBlast transposes both in
 * kernels of its own and pads C in and out: on PoCL that cost 25-35% of a
 * 16384 x 1024 x 512 projection (bench/results/2026-11-30-layout).
 */

/* Reserves scratch that a kernel fills; in GEMM-only timing, where our
 * kernels are left out, a new buffer is zeroed instead (denormals or NaNs
 * left in it would skew the GEMMs' timing). */
static mha_status reserve_scratch(ocl_attention *att, ocl_buffer *buf, size_t bytes,
                                  const char *what)
{
    const uint64_t before = att->stats.allocations;
    mha_status st = reserve(att, buf, bytes, what);
    if (st != MHA_STATUS_OK || !att->context->gemm_only || att->stats.allocations == before)
        return st;
    const cl_float zero = 0.0f;
    cl_int err = clEnqueueFillBuffer(att->run_queue, buf->mem, &zero, sizeof zero, 0, buf->size,
                                     0, NULL, NULL);
    return err == CL_SUCCESS ? MHA_STATUS_OK : ocl_cl_fail(err, "clEnqueueFillBuffer");
}

/* The temporary buffer CLBlast needs for C^T (m x n) = A (m x k) B^T laid
 * out as project() hands them. */
static mha_status gemm_temp_size(ocl_attention *att, size_t m, size_t n, size_t k, size_t *temp)
{
    CLBlastStatusCode s = (CLBlastStatusCode)ocl_fault(att->context, "CLBlastSGemmTempBufferSize");
    *temp = 0;
    if (s == CLBlastSuccess)
        s = CLBlastSGemmTempBufferSize(CLBlastLayoutColMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, m, n, k, 0, m, 0, n, 0, m,
                                       &att->run_queue, temp);
    return s == CLBlastSuccess ? MHA_STATUS_OK : ocl_clblast_fail(s, "CLBlastSGemmTempBufferSize");
}

/* The rows to give a projection of `rows` input rows (kdim k) so that CLBlast
 * copies nothing: the fewest padding rows with the smallest temporary buffer
 * it asks for. CLBlast does not tell its tile sizes, only what a call needs;
 * these are the multiples its tuned tiles come in. */
static mha_status padded_rows(ocl_attention *att, size_t rows, size_t k, size_t *padded)
{
    static const size_t multiples[] = {1, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256};
    size_t best_temp = SIZE_MAX;
    *padded = rows;
    for (size_t i = 0; i < sizeof multiples / sizeof multiples[0] && best_temp > 0; ++i) {
        const size_t n = (rows + multiples[i] - 1) / multiples[i] * multiples[i];
        size_t temp = 0;
        mha_status st = gemm_temp_size(att, (size_t)att->E, n, k, &temp);
        if (st != MHA_STATUS_OK)
            return st;
        if (temp < best_temp) {
            best_temp = temp;
            *padded = n;
        }
    }
    return MHA_STATUS_OK;
}

/* xt (cols, ld) = the rows (rows, cols) at src_off floats into src, row
 * stride src_ld, transposed; columns rows..ld of xt zero (mha_transpose). */
static mha_status transpose_rows(ocl_attention *att, cl_mem src, size_t src_off, size_t src_ld,
                                 size_t rows, size_t cols, ocl_buffer *xt, size_t ld,
                                 const char *what)
{
    mha_status st = reserve_scratch(att, xt, cols * ld * sizeof(float), what);
    if (st != MHA_STATUS_OK)
        return st;
    ocl_args a = {att->k_transpose, "mha_transpose", 0, CL_SUCCESS};
    arg_mem(&a, src);
    arg_ulong(&a, src_off);
    arg_ulong(&a, src_ld);
    arg_int(&a, (int64_t)rows);
    arg_int(&a, (int64_t)cols);
    arg_mem(&a, xt->mem);
    arg_int(&a, (int64_t)ld);
    return launch(att, &a, (ld + 7) / 8 * ((cols + 7) / 8), 0);
}

/* c (rows, E) row-major = X W^T, from xt = X^T (k, rows) and wt = W^T (k, E)
 * (rows padded by padded_rows). Hands CLBlast our own temporary buffer, if
 * it wants one at all, so that it allocates nothing. */
static mha_status project(ocl_attention *att, size_t rows, size_t k, cl_mem wt, cl_mem xt,
                          ocl_buffer *c, const char *what)
{
    const size_t E = (size_t)att->E;
    size_t temp = 0;
    mha_status st = reserve(att, c, rows * E * sizeof(float), "projections");
    if (st == MHA_STATUS_OK)
        st = gemm_temp_size(att, E, rows, k, &temp);
    if (st == MHA_STATUS_OK)
        st = reserve(att, &att->gemm_temp, temp > 64 ? temp : 64, "gemm temp");
    if (st != MHA_STATUS_OK)
        return st;
    CLBlastStatusCode s = (CLBlastStatusCode)ocl_fault(att->context, what);
    if (s == CLBlastSuccess)
        s = CLBlastSgemmWithTempBuffer(CLBlastLayoutColMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, E, rows, k, 1.0f, wt, 0, E, xt, 0,
                                       rows, 0.0f, c->mem, 0, E, &att->run_queue, NULL,
                                       att->gemm_temp.mem);
    return s == CLBlastSuccess ? MHA_STATUS_OK : ocl_clblast_fail(s, what);
}

/* Column-major C_i (m x n) = alpha op(A_i) (m x k) * op(B_i) (k x n) for i < batch,
 * each matrix `stride` floats after the previous one. The per-head products
 * are laid out so that CLBlast needs no temporary copy: A not transposed, B
 * transposed, C packed (ld = m, stride = m*n), sizes multiples of its tiles. */
static mha_status gemm_batched(ocl_attention *att, CLBlastTranspose ta, CLBlastTranspose tb,
                               size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_ld,
                               size_t a_stride, cl_mem b, size_t b_ld, size_t b_stride, cl_mem c,
                               size_t c_ld, size_t c_stride, size_t batch, const char *what)
{
    CLBlastStatusCode s = (CLBlastStatusCode)ocl_fault(att->context, what);
    if (s == CLBlastSuccess)
        s = CLBlastSgemmStridedBatched(CLBlastLayoutColMajor, ta, tb, m, n, k, alpha, a, 0, a_ld,
                                       a_stride, b, 0, b_ld, b_stride, 0.0f, c, 0, c_ld, c_stride,
                                       batch, &att->run_queue, NULL);
    if (s != CLBlastSuccess)
        return ocl_clblast_fail(s, what);
    return MHA_STATUS_OK;
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

/* The masks of a call on the device; kinds are OCL_MASK_*. */
typedef struct ocl_masks {
    ocl_view attn, kpm;
    int attn_kind, kpm_kind;
} ocl_masks;

/* An optional mask; *kind is OCL_MASK_*. */
static mha_status mask_view(ocl_attention *att, const mha_tensor *t, ocl_buffer *buf, int *kind,
                            const char *what, ocl_view *view)
{
    *kind = OCL_MASK_NONE;
    view->mem = NULL;
    view->offset = 0;
    if (!t->data || t->dtype == MHA_DTYPE_NONE)
        return MHA_STATUS_OK;
    *kind = t->dtype == MHA_DTYPE_BOOL ? OCL_MASK_BOOL : OCL_MASK_FLOAT;
    return input_view(att, t, buf, numel(t) * dtype_size(t->dtype), dtype_size(t->dtype), what,
                      view);
}

/* Rows of q, k or v (and of their projections) lie (t, n), or (n, t) when
 * batch-first: row t of batch entry n is t*step_t + n*step_n, of `rows` per
 * batch entry. */
typedef struct ocl_row_steps {
    uint64_t t, n;
} ocl_row_steps;

static ocl_row_steps row_steps(const mha_problem *pr, int64_t rows)
{
    const bool bf = pr->batched && pr->batch_first;
    return (ocl_row_steps){bf ? 1u : (uint64_t)pr->batch, bf ? (uint64_t)rows : 1u};
}

/* mha_split_heads for one of q, k, v, from its projection `src` (rows of E):
 * per head (T, D), or (D, T) when transposed. */
static mha_status split_heads(ocl_attention *att, const mha_problem *pr, cl_mem src,
                              int64_t src_rows, int64_t total_rows, size_t bias_off,
                              size_t extra_off, bool has_extra, bool transposed, ocl_buffer *dst,
                              const char *what)
{
    const int64_t N = pr->batch, H = pr->num_heads, D = pr->head_dim;
    const ocl_row_steps step = row_steps(pr, src_rows);
    ocl_args a = {att->k_split, "mha_split_heads", 0, CL_SUCCESS};
    size_t bytes = (size_t)N * (size_t)H * (size_t)total_rows * (size_t)D * sizeof(float);
    mha_status st = reserve_scratch(att, dst, bytes, what);
    if (st != MHA_STATUS_OK)
        return st;
    arg_mem(&a, src);
    arg_ulong(&a, 0);
    arg_ulong(&a, (uint64_t)att->E);
    arg_ulong(&a, step.t);
    arg_ulong(&a, step.n);
    arg_mem(&a, att->biases.mem);
    arg_ulong(&a, bias_off);
    arg_int(&a, att->bias);
    arg_mem(&a, att->biases.mem);
    arg_ulong(&a, extra_off);
    arg_int(&a, has_extra);
    arg_mem(&a, dst->mem);
    arg_int(&a, N);
    arg_int(&a, H);
    arg_int(&a, total_rows);
    arg_int(&a, src_rows);
    arg_int(&a, D);
    arg_int(&a, transposed);
    /* transposed: a work-item per 8 rows (cl/attention.cl) */
    const int64_t items = transposed ? (total_rows + 7) / 8 : total_rows;
    return launch(att, &a, (size_t)(N * H * items), 0);
}

/* The smallest power of two >= n = S', within the device's limit: the local
 * size of mha_softmax (one group per row). */
static size_t softmax_local_size(const ocl_attention *att, int64_t n)
{
    size_t wg = 1;
    while (wg < (size_t)n && wg * 2 <= att->softmax_wg_max)
        wg *= 2;
    return wg;
}

/* The mask, causal and dropout arguments, in the order the softmax kernels
 * and mha_attention_fused take them. */
static void arg_masks(ocl_args *a, const mha_problem *pr, const mha_forward_args *args,
                      const ocl_masks *masks)
{
    arg_mem(a, masks->attn.mem);
    arg_ulong(a, masks->attn.offset);
    arg_int(a, masks->attn_kind);
    arg_int(a, pr->attn_mask_3d);
    arg_mem(a, masks->kpm.mem);
    arg_ulong(a, masks->kpm.offset);
    arg_int(a, masks->kpm_kind);
    arg_int(a, (int64_t)args->causal);
    arg_int(a, pr->apply_dropout);
    arg_float(a, pr->dropout);
    arg_float(a, pr->apply_dropout ? 1.0f / (1.0f - pr->dropout) : 1.0f);
    arg_ulong(a, args->dropout_seed);
}

/* Whether this call runs the attention products in a fused kernel (see
 * ocl_path). GEMM-only timing has no fused kernel to leave out. */
static bool use_fused(const ocl_attention *att, const mha_problem *pr)
{
    if (att->context->gemm_only || pr->head_dim > OCL_FUSED_HEAD_DIM_MAX)
        return false;
    if (att->path != OCL_PATH_AUTO)
        return att->path == OCL_PATH_FUSED;
    return (att->context->device->type & CL_DEVICE_TYPE_CPU) != 0;
}

/* Whether this call takes the absorbed path (see ocl_path): by the flops of
 * one batch entry, projecting K and V and their two products against the
 * absorbed products (cl/absorbed.cl). */
static bool use_absorbed(const ocl_attention *att, const mha_problem *pr)
{
    if (att->context->gemm_only || pr->src_len_total != pr->src_len)
        return false;
    if (att->path != OCL_PATH_AUTO)
        return att->path == OCL_PATH_ABSORBED;
    if (!(att->context->device->type & CL_DEVICE_TYPE_CPU))
        return false; /* unmeasured on other devices */
    const double L = (double)pr->tgt_len, S = (double)pr->src_len;
    const double E = (double)pr->embed_dim, H = (double)pr->num_heads;
    const double kv = (double)pr->kdim + (double)pr->vdim;
    const double projected = S * E * kv + 2.0 * L * S * E;
    const double absorbed = H * L * S * kv + L * E * kv;
    return absorbed * OCL_ABSORBED_MIN_GAIN <= projected;
}

static const mha_opencl_forward *find_forward_ext(const mha_forward_args *args)
{
    for (const mha_extension *e = args->next; e; e = e->next)
        if (e->type == MHA_OPENCL_EXT_FORWARD)
            return (const mha_opencl_forward *)e;
    return NULL;
}

/* Picks the queue of this call and what it must wait for. */
static mha_status begin(ocl_attention *att, const mha_opencl_forward *ext)
{
    att->run_queue = att->queue;
    att->run_profiling = att->queue_profiling;
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
        mha_status st = ocl_check_queue(att->context, ext->queue, "mha_opencl_forward.queue",
                                        &att->run_profiling);
        if (st != MHA_STATUS_OK)
            return st;
        att->run_queue = ext->queue;
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
    if (count == 0 || (count == 1 && att->last_event && att->run_queue == att->last_queue))
        return MHA_STATUS_OK; /* an in-order queue waits anyway */
    cl_event gate = NULL;
    mha_status st = marker(att, count, wait, &gate);
    if (st == MHA_STATUS_OK)
        ocl_event_release(att->context, gate);
    return st;
}

/* Where the fused kernels read K and V: key j of batch entry n, head h at
 * j*key_stride + n*batch_stride + h*head_stride floats; bias: the in_proj
 * bias is still to be added (K and V read from the projections in place). */
typedef struct ocl_kv {
    cl_mem k, v;
    size_t key_stride, batch_stride, head_stride;
    bool bias;
} ocl_kv;

/* Steps 4-7 in one kernel (cl/fused.cl): scores, masks, softmax, dropout
 * and P V without the L x S' matrix, writing the merged heads (rows (l, n))
 * for the output projection; mha_attention_fused_weights also writes the
 * weights into *wout when it is not NULL. */
static mha_status fused_attention(ocl_attention *att, const mha_problem *pr,
                                  const mha_forward_args *args, const ocl_masks *masks,
                                  const ocl_kv *kv, const ocl_view *wout)
{
    const size_t R = (size_t)pr->tgt_len * (size_t)pr->batch, E = (size_t)pr->embed_dim;
    const size_t B = (size_t)pr->batch * (size_t)pr->num_heads, L = (size_t)pr->tgt_len;
    const bool average = args->average_attn_weights;
    mha_status st;
    ocl_args a = {wout ? att->k_fused_weights : att->k_fused,
                  wout ? "mha_attention_fused_weights" : "mha_attention_fused", 0, CL_SUCCESS};
    if ((st = reserve(att, &att->ocat, R * E * sizeof(float), "merged heads")) != MHA_STATUS_OK)
        return st;
    arg_mem(&a, att->q_h.mem);
    arg_mem(&a, kv->k);
    arg_mem(&a, kv->v);
    arg_ulong(&a, kv->key_stride);
    arg_ulong(&a, kv->batch_stride);
    arg_ulong(&a, kv->head_stride);
    arg_mem(&a, att->biases.mem);
    arg_ulong(&a, att->off_bin + E);
    arg_ulong(&a, att->off_bin + 2 * E);
    arg_int(&a, kv->bias);
    arg_mem(&a, att->ocat.mem);
    if (wout) {
        arg_mem(&a, wout->mem);
        arg_ulong(&a, wout->offset / sizeof(float));
        arg_int(&a, average ? pr->num_heads : 1); /* heads per output plane */
    }
    arg_int(&a, pr->batch);
    arg_int(&a, pr->num_heads);
    arg_int(&a, pr->tgt_len);
    arg_int(&a, pr->src_len);
    arg_int(&a, pr->src_len_total);
    arg_int(&a, pr->head_dim);
    arg_float(&a, pr->scale);
    arg_masks(&a, pr, args, masks);
    /* a work-item per OCL_FUSED_ROWS queries of a head (of all heads of a
     * batch entry when averaging weights), alone in its work-group: PoCL
     * gives each work-item of a group its own copy of the kernel's private
     * arrays, and large groups overflowed its stack */
    const size_t planes = wout && average ? (size_t)pr->batch : B;
    const size_t items = planes * ((L + OCL_FUSED_ROWS - 1) / OCL_FUSED_ROWS);
    if ((st = launch(att, &a, items, 1)) != MHA_STATUS_OK)
        return st;
    return mark(att, !wout ? "attention" : average ? "attention_average" : "attention_weights",
                false);
}

/* The softmax kernel over att->scores (keys-major, (N*H, S', L)) with masks
 * and dropout, then the weights into *wout when it is not NULL. Without
 * weights to return, the work-item kernels leave P unnormalised (one pass
 * less over it): *deferred then tells that att->row_scale holds each row's
 * 1/sum for whoever consumes P. */
static mha_status softmax_and_weights(ocl_attention *att, const mha_problem *pr,
                                      const mha_forward_args *args, const ocl_masks *masks,
                                      const ocl_view *wout, bool *deferred)
{
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len;
    const size_t Sp = (size_t)pr->src_len_total, B = N * (size_t)pr->num_heads;
    mha_status st;
    ocl_softmax kind = att->softmax;
    if (kind == OCL_SOFTMAX_AUTO)
        kind = (att->context->device->type & CL_DEVICE_TYPE_CPU) ? OCL_SOFTMAX_ITEMS
               : B * L >= OCL_SOFTMAX_COLUMNS_MIN                  ? OCL_SOFTMAX_COLUMNS
                                                                   : OCL_SOFTMAX_GROUP;
    const bool group = kind == OCL_SOFTMAX_GROUP;
    *deferred = !group && !wout;
    const size_t local = group ? softmax_local_size(att, pr->src_len_total) : 0;
    /* items: one work-item per OCL_SOFTMAX_ITEM_ROWS rows of a plane;
     * columns: one per row; group: a work-group per row */
    const size_t global = kind == OCL_SOFTMAX_ITEMS
                              ? B * ((L + OCL_SOFTMAX_ITEM_ROWS - 1) / OCL_SOFTMAX_ITEM_ROWS)
                          : kind == OCL_SOFTMAX_COLUMNS ? B * L
                                                        : B * L * local;
    ocl_args a = {kind == OCL_SOFTMAX_ITEMS     ? att->k_softmax_items
                  : kind == OCL_SOFTMAX_COLUMNS ? att->k_softmax_columns
                                                : att->k_softmax,
                  kind == OCL_SOFTMAX_ITEMS     ? "mha_softmax_items"
                  : kind == OCL_SOFTMAX_COLUMNS ? "mha_softmax_columns"
                                                : "mha_softmax",
                  0, CL_SUCCESS};
    arg_mem(&a, att->scores.mem);
    arg_int(&a, pr->num_heads);
    arg_int(&a, pr->tgt_len);
    arg_int(&a, pr->src_len);
    arg_int(&a, pr->src_len_total);
    arg_float(&a, 1.0f); /* the scores come scaled */
    arg_masks(&a, pr, args, masks);
    if (!group) {
        if (*deferred && (st = reserve(att, &att->row_scale, B * L * sizeof(float),
                                       "row scale")) != MHA_STATUS_OK)
            return st;
        arg_int(&a, (int64_t)B);
        arg_mem(&a, *deferred ? att->row_scale.mem : att->scores.mem);
        arg_int(&a, *deferred);
    } else {
        arg(&a, local * sizeof(cl_float), NULL);
    }
    if ((st = launch(att, &a, global, local)) != MHA_STATUS_OK ||
        (!wout && (st = mark(att, "softmax", false)) != MHA_STATUS_OK))
        return st;

    /* weights, query-major: averaged over the heads, or per head (timed with
     * the softmax: a stats record holds at most MHA_MAX_STAGES stages) */
    if (wout) {
        const bool average = args->average_attn_weights;
        const size_t planes = average ? N : B; /* output planes (L, S') */
        ocl_args w = {att->k_weights, "mha_weights_out", 0, CL_SUCCESS};
        arg_mem(&w, att->scores.mem);
        arg_mem(&w, wout->mem);
        arg_ulong(&w, wout->offset / sizeof(float));
        arg_int(&w, (int64_t)planes);
        arg_int(&w, average ? pr->num_heads : 1);
        arg_int(&w, pr->tgt_len);
        arg_int(&w, pr->src_len_total);
        /* a work-item per 8x8 tile (cl/attention.cl) */
        const size_t tiles = planes * ((L + 7) / 8) * ((Sp + 7) / 8);
        const char *stage = average ? "softmax_average" : "softmax_weights";
        if ((st = launch(att, &w, tiles, 0)) != MHA_STATUS_OK ||
            (st = mark(att, stage, false)) != MHA_STATUS_OK)
            return st;
    }
    return MHA_STATUS_OK;
}

/* Steps 4-7 as CLBlast GEMMs around a softmax kernel, the L x S' matrix in
 * att->scores; the weights go to *wout when it is not NULL. */
static mha_status gemm_attention(ocl_attention *att, const mha_problem *pr,
                                 const mha_forward_args *args, const ocl_masks *masks,
                                 const ocl_view *wout)
{
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len;
    const size_t Sp = (size_t)pr->src_len_total, E = (size_t)pr->embed_dim;
    const size_t D = (size_t)pr->head_dim, R = L * N, B = N * (size_t)pr->num_heads;
    bool deferred = false; /* P left unnormalised (softmax_and_weights) */
    mha_status st;

    /* 4. scaled scores per head, keys-major: column-major (L x S') =
     * scale (Q^T)^T K^T, element (l, j) at j*L + l (see cl/attention.cl). The
     * GEMM applies the scale as (q.k) * scale, as the softmax kernels did. */
    if ((st = reserve(att, &att->scores, B * L * Sp * sizeof(float), "scores")) != MHA_STATUS_OK ||
        (st = gemm_batched(att, CLBlastTransposeNo, CLBlastTransposeYes, L, Sp, D, pr->scale,
                           att->q_h.mem, L, D * L, att->k_h.mem, Sp, D * Sp, att->scores.mem, L,
                           Sp * L, B, "CLBlastSgemmStridedBatched(scores)")) != MHA_STATUS_OK ||
        (st = mark(att, "scores", true)) != MHA_STATUS_OK)
        return st;

    /* 5-6. softmax, and the weights */
    if ((st = softmax_and_weights(att, pr, args, masks, wout, &deferred)) != MHA_STATUS_OK)
        return st;

    /* 7. O = P V per head, packed (B, L, D): column-major (D x L) = V^T P^T,
     * P^T being the keys-major scores; then the heads side by side in rows
     * (l, n) for the output projection */
    if ((st = reserve(att, &att->o_h, R * E * sizeof(float), "head outputs")) != MHA_STATUS_OK ||
        (st = gemm_batched(att, CLBlastTransposeNo, CLBlastTransposeYes, D, L, Sp, 1.0f,
                           att->v_h.mem, D, Sp * D, att->scores.mem, L, Sp * L, att->o_h.mem, D,
                           L * D, B, "CLBlastSgemmStridedBatched(P V)")) != MHA_STATUS_OK ||
        (st = mark(att, "pv", true)) != MHA_STATUS_OK)
        return st;
    {
        ocl_args a = {att->k_merge, "mha_merge_heads", 0, CL_SUCCESS};
        if ((st = reserve(att, &att->ocat, R * E * sizeof(float), "merged heads")) != MHA_STATUS_OK)
            return st;
        arg_mem(&a, att->o_h.mem);
        arg_mem(&a, att->ocat.mem);
        arg_int(&a, pr->batch);
        arg_int(&a, pr->num_heads);
        arg_int(&a, pr->tgt_len);
        arg_int(&a, pr->head_dim);
        arg_mem(&a, deferred ? att->row_scale.mem : att->o_h.mem);
        arg_int(&a, deferred);
        if ((st = launch(att, &a, R * E, 0)) != MHA_STATUS_OK)
            return st;
        return mark(att, "merge", false);
    }
}

/* Steps 3-7 from the projections: heads, then the fused kernels or the
 * GEMMs (see ocl_path); the merged heads in att->ocat, the weights in *wout
 * when it is not NULL. */
static mha_status projected_attention(ocl_attention *att, const mha_problem *pr,
                                      const mha_forward_args *args, const ocl_masks *masks,
                                      const ocl_view *wout)
{
    const size_t E = (size_t)pr->embed_dim, Sp = (size_t)pr->src_len_total;
    mha_status st;

    /* 3. heads, with projection bias and the extra key/value rows: Q^T (D, L)
     * per head; K^T (D, S') for the scores GEMM or K (S', D) for the fused
     * kernel, V (S', D). When one work-item takes all the queries of a head
     * (decoding), the fused kernel reads each key once: it then reads K and V
     * from the projections in place, adding their bias, unless bias_kv or
     * zero_attn rows come after the keys. With more queries per head the
     * per-head copies pay off: the kernel re-reads every key per block of
     * queries, and rows of the projections lie N*E floats apart (N=4 L=512:
     * attention 25-27 ms from the copies, 32-34 in place). */
    const bool fused = use_fused(att, pr);
    const bool kv_in_place =
        fused && pr->src_len_total == pr->src_len && pr->tgt_len <= OCL_FUSED_ROWS;
    if ((st = split_heads(att, pr, att->proj_q.mem, pr->tgt_len, pr->tgt_len, att->off_bin, 0,
                          false, true, &att->q_h, "q heads")) != MHA_STATUS_OK)
        return st;
    if (!kv_in_place &&
        ((st = split_heads(att, pr, att->proj_k.mem, pr->src_len, pr->src_len_total,
                           att->off_bin + E, att->off_bias_k, att->add_bias_kv, !fused, &att->k_h,
                           "k heads")) != MHA_STATUS_OK ||
         (st = split_heads(att, pr, att->proj_v.mem, pr->src_len, pr->src_len_total,
                           att->off_bin + 2 * E, att->off_bias_v, att->add_bias_kv, false,
                           &att->v_h, "v heads")) != MHA_STATUS_OK))
        return st;
    if ((st = mark(att, "heads", false)) != MHA_STATUS_OK)
        return st;

    /* 4-7. the attention products */
    if (fused) {
        const size_t D = (size_t)pr->head_dim, H = (size_t)pr->num_heads;
        ocl_kv kv = {att->k_h.mem, att->v_h.mem, D, H * Sp * D, Sp * D, false};
        if (kv_in_place) {
            const ocl_row_steps step = row_steps(pr, pr->src_len);
            kv = (ocl_kv){att->proj_k.mem, att->proj_v.mem, step.t * E, step.n * E, D, att->bias};
        }
        return fused_attention(att, pr, args, masks, &kv, wout);
    }
    return gemm_attention(att, pr, args, masks, wout);
}

/* Steps 3-7 with the key and value projections absorbed (cl/absorbed.cl):
 * the queries through W_k, scores against the caller's key rows xk, the
 * softmax kernel, the weighted sums of the caller's value rows xv, through
 * W_v into the merged heads in att->ocat; the weights go to *wout when it is
 * not NULL. The L x S matrix is in att->scores, as on the GEMM path. */
static mha_status absorbed_attention(ocl_attention *att, const mha_problem *pr,
                                     const mha_forward_args *args, const ocl_masks *masks,
                                     const ocl_view *xk, const ocl_view *xv,
                                     const ocl_view *wout)
{
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len, S = (size_t)pr->src_len;
    const size_t E = (size_t)pr->embed_dim, kd = (size_t)pr->kdim, vd = (size_t)pr->vdim;
    const size_t rows = N * (size_t)pr->num_heads * L; /* (n, h, l) */
    const ocl_row_steps q_step = row_steps(pr, pr->tgt_len), x_step = row_steps(pr, pr->src_len);
    bool deferred = false;
    mha_status st;

    /* 3-4. a = scale W_k,h^T q (+ c = scale q.b_k) in q_h, then the scores */
    {
        ocl_args a = {att->k_absorb_queries, "mha_absorb_queries", 0, CL_SUCCESS};
        if ((st = reserve(att, &att->q_h, rows * (kd + 1) * sizeof(float),
                          "absorbed queries")) != MHA_STATUS_OK)
            return st;
        arg_mem(&a, att->proj_q.mem);
        arg_ulong(&a, q_step.t);
        arg_ulong(&a, q_step.n);
        arg_mem(&a, att->w_k.mem);
        arg_mem(&a, att->biases.mem);
        arg_ulong(&a, att->off_bin);
        arg_ulong(&a, att->off_bin + E);
        arg_int(&a, att->bias);
        arg_mem(&a, att->q_h.mem);
        arg_int(&a, pr->batch);
        arg_int(&a, pr->num_heads);
        arg_int(&a, pr->tgt_len);
        arg_int(&a, pr->head_dim);
        arg_int(&a, pr->kdim);
        arg_float(&a, pr->scale);
        if ((st = launch(att, &a, rows * (kd + 1), 0)) != MHA_STATUS_OK)
            return st;
    }
    {
        ocl_args a = {att->k_absorbed_scores, "mha_absorbed_scores", 0, CL_SUCCESS};
        if ((st = reserve(att, &att->scores, rows * S * sizeof(float), "scores")) != MHA_STATUS_OK)
            return st;
        arg_mem(&a, att->q_h.mem);
        arg_mem(&a, xk->mem);
        arg_ulong(&a, xk->offset / sizeof(float));
        arg_ulong(&a, x_step.t);
        arg_ulong(&a, x_step.n);
        arg_mem(&a, att->scores.mem);
        arg_int(&a, pr->batch);
        arg_int(&a, pr->num_heads);
        arg_int(&a, pr->tgt_len);
        arg_int(&a, pr->src_len);
        arg_int(&a, pr->kdim);
        /* this kernel and mha_absorbed_values run alone in their work-groups:
         * PoCL's packing of work-items into vectors suits their float8 code
         * badly (decoding's pv 10.7-11.3 ms in groups of PoCL's choice, 7.5-8.3
         * alone; scores alike) */
        const size_t keys = (S + OCL_ABSORBED_KEYS - 1) / OCL_ABSORBED_KEYS;
        if ((st = launch(att, &a, N * keys, 1)) != MHA_STATUS_OK ||
            (st = mark(att, "scores", false)) != MHA_STATUS_OK)
            return st;
    }

    /* 5-6. softmax, and the weights */
    if ((st = softmax_and_weights(att, pr, args, masks, wout, &deferred)) != MHA_STATUS_OK)
        return st;

    /* 7. u = P x_v, with the row sums of P as a last column, in o_h; then
     * W_v u + b_v sum(P) */
    {
        ocl_args a = {att->k_absorbed_values, "mha_absorbed_values", 0, CL_SUCCESS};
        if ((st = reserve(att, &att->o_h, rows * (vd + 1) * sizeof(float),
                          "absorbed values")) != MHA_STATUS_OK)
            return st;
        arg_mem(&a, att->scores.mem);
        arg_mem(&a, xv->mem);
        arg_ulong(&a, xv->offset / sizeof(float));
        arg_ulong(&a, x_step.t);
        arg_ulong(&a, x_step.n);
        arg_mem(&a, att->o_h.mem);
        arg_int(&a, pr->batch);
        arg_int(&a, pr->num_heads);
        arg_int(&a, pr->tgt_len);
        arg_int(&a, pr->src_len);
        arg_int(&a, pr->vdim);
        if ((st = launch(att, &a, N * ((vd + 1 + 15) / 16), 1)) != MHA_STATUS_OK) /* 16 columns */
            return st;
    }
    {
        ocl_args a = {att->k_absorbed_output, "mha_absorbed_output", 0, CL_SUCCESS};
        if ((st = reserve(att, &att->ocat, L * N * E * sizeof(float), "merged heads")) !=
            MHA_STATUS_OK)
            return st;
        arg_mem(&a, att->o_h.mem);
        arg_mem(&a, att->w_v.mem);
        arg_mem(&a, att->biases.mem);
        arg_ulong(&a, att->off_bin + 2 * E);
        arg_int(&a, att->bias);
        arg_mem(&a, deferred ? att->row_scale.mem : att->o_h.mem);
        arg_int(&a, deferred);
        arg_mem(&a, att->ocat.mem);
        arg_int(&a, pr->batch);
        arg_int(&a, pr->num_heads);
        arg_int(&a, pr->tgt_len);
        arg_int(&a, pr->head_dim);
        arg_int(&a, pr->vdim);
        if ((st = launch(att, &a, L * N * E, 0)) != MHA_STATUS_OK)
            return st;
    }
    return mark(att, "pv", false);
}

/* The end of a call that enqueued everything: *done for the caller, and the
 * event the next call waits for. */
static mha_status finish(ocl_attention *att, const mha_opencl_forward *ext)
{
    cl_event done = NULL;
    mha_status st = marker(att, 0, NULL, &done);
    if (st != MHA_STATUS_OK)
        return st;
    if (att->last_event)
        ocl_event_release(att->context, att->last_event);
    att->last_event = done;
    att->last_queue = att->run_queue;
    if (ext && ext->done) {
        clRetainEvent(done); /* the caller's reference, not counted as ours */
        *ext->done = done;
    }
    return MHA_STATUS_OK;
}

mha_status ocl_attention_forward(void *attention, const mha_problem *pr,
                                 const mha_forward_args *args)
{
    ocl_attention *att = attention;
    mha_status st = MHA_STATUS_OK;
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len, S = (size_t)pr->src_len;
    const size_t Sp = (size_t)pr->src_len_total, E = (size_t)pr->embed_dim;
    const size_t kd = (size_t)pr->kdim, vd = (size_t)pr->vdim;
    const size_t R = L * N, Rk = S * N, B = N * (size_t)pr->num_heads;
    const bool self = pr->self_attention;
    const bool kv_same = !self && pr->kv_same && kd == vd;
    const bool want_weights = args->need_weights && args->attn_weights.data;
    const mha_opencl_forward *ext = find_forward_ext(args);
    ocl_masks masks;
    ocl_view xq, xk, xv, out, wout;

    ocl_attention_drop_marks(att);
    att->stage_count = 0;
    if ((st = begin(att, ext)) != MHA_STATUS_OK)
        goto done;

    /* 1. inputs, and where the outputs go */
    if ((st = input_view(att, &args->query, &att->x_q, R * E * sizeof(float), sizeof(float),
                         "query", &xq)) != MHA_STATUS_OK)
        goto done;
    xk = xv = xq;
    if (!self) {
        if ((st = input_view(att, &args->key, &att->x_k, Rk * kd * sizeof(float), sizeof(float),
                             "key", &xk)) != MHA_STATUS_OK)
            goto done;
        xv = xk;
        if (!kv_same &&
            (st = input_view(att, &args->value, &att->x_v, Rk * vd * sizeof(float),
                             sizeof(float), "value", &xv)) != MHA_STATUS_OK)
            goto done;
    }
    if ((st = mask_view(att, &args->attn_mask, &att->attn_mask, &masks.attn_kind, "attn_mask", &masks.attn)) != MHA_STATUS_OK ||
        (st = mask_view(att, &args->key_padding_mask, &att->kpm, &masks.kpm_kind, "key_padding_mask", &masks.kpm)) != MHA_STATUS_OK ||
        (st = output_view(att, &args->attn_output, &att->out, R * E * sizeof(float), "attn_output", &out)) != MHA_STATUS_OK)
        goto done;
    const size_t weights_count = args->average_attn_weights ? N * L * Sp : B * L * Sp;
    if (want_weights &&
        (st = output_view(att, &args->attn_weights, &att->avg, weights_count * sizeof(float),
                          "attn_weights", &wout)) != MHA_STATUS_OK)
        goto done;
    if ((st = mark(att, NULL, false)) != MHA_STATUS_OK)
        goto done;

    /* 2. projections: each distinct input transposed once, then one GEMM per
     * projection into its own buffer (see project); the query's alone on the
     * absorbed path */
    size_t Rp = R, Rkp, Rvp; /* rows of the GEMMs, padded */
    const size_t fq = xq.offset / sizeof(float), fk = xk.offset / sizeof(float);
    const size_t fv = xv.offset / sizeof(float);
    if ((st = padded_rows(att, R, E, &Rp)) != MHA_STATUS_OK ||
        (st = transpose_rows(att, xq.mem, fq, E, R, E, &att->xt_q, Rp, "query^T")) != MHA_STATUS_OK ||
        (st = project(att, Rp, E, att->w_q.mem, att->xt_q.mem, &att->proj_q,
                      "CLBlastSgemm(q_proj)")) != MHA_STATUS_OK)
        goto done;
    /* the absorbed path reads the keys and values as given, never projected */
    const bool absorbed = use_absorbed(att, pr);
    cl_mem xt_k = att->xt_q.mem, xt_v = att->xt_q.mem;
    Rkp = Rvp = Rp;
    if (!self && !absorbed) {
        if ((st = padded_rows(att, Rk, kd, &Rkp)) != MHA_STATUS_OK ||
            (st = transpose_rows(att, xk.mem, fk, kd, Rk, kd, &att->xt_k, Rkp, "key^T")) != MHA_STATUS_OK)
            goto done;
        xt_k = xt_v = att->xt_k.mem;
        Rvp = Rkp;
    }
    if (!self && !kv_same && !absorbed) {
        if ((st = padded_rows(att, Rk, vd, &Rvp)) != MHA_STATUS_OK ||
            (st = transpose_rows(att, xv.mem, fv, vd, Rk, vd, &att->xt_v, Rvp, "value^T")) != MHA_STATUS_OK)
            goto done;
        xt_v = att->xt_v.mem;
    }
    if (!absorbed &&
        ((st = project(att, Rkp, kd, att->w_k.mem, xt_k, &att->proj_k,
                       "CLBlastSgemm(k_proj)")) != MHA_STATUS_OK ||
         (st = project(att, Rvp, vd, att->w_v.mem, xt_v, &att->proj_v,
                       "CLBlastSgemm(v_proj)")) != MHA_STATUS_OK))
        goto done;
    if ((st = mark(att, "projections", true)) != MHA_STATUS_OK)
        goto done;
    /* 3-7. the attention products; the merged heads in att->ocat */
    st = absorbed ? absorbed_attention(att, pr, args, &masks, &xk, &xv, want_weights ? &wout : NULL)
                  : projected_attention(att, pr, args, &masks, want_weights ? &wout : NULL);
    if (st != MHA_STATUS_OK)
        goto done;

    /* 8. output projection (the merged heads transposed into xt_q, whose
     * padded rows suit the same GEMM shape), bias and layout */
    if ((st = transpose_rows(att, att->ocat.mem, 0, E, R, E, &att->xt_q, Rp,
                             "merged heads^T")) != MHA_STATUS_OK ||
        (st = project(att, Rp, E, att->w_o.mem, att->xt_q.mem, &att->y,
                      "CLBlastSgemm(out_proj)")) != MHA_STATUS_OK ||
        (st = mark(att, "output", true)) != MHA_STATUS_OK)
        goto done;
    {
        ocl_args a = {att->k_output, "mha_output", 0, CL_SUCCESS};
        arg_mem(&a, att->y.mem);
        arg_mem(&a, out.mem);
        arg_ulong(&a, out.offset / sizeof(float));
        arg_mem(&a, att->biases.mem);
        arg_ulong(&a, att->off_bo);
        arg_int(&a, att->bias);
        arg_int(&a, pr->batch);
        arg_int(&a, pr->tgt_len);
        arg_int(&a, pr->embed_dim);
        arg_int(&a, pr->batched && pr->batch_first);
        if ((st = launch(att, &a, R * E, 0)) != MHA_STATUS_OK ||
            (st = mark(att, "output_bias", false)) != MHA_STATUS_OK)
            goto done;
    }
    if ((st = finish(att, ext)) != MHA_STATUS_OK)
        goto done;

    /* 9. host outputs (blocking reads: the call waits for its results) */
    if (want_weights && args->attn_weights.memory == MHA_MEMORY_HOST &&
        (st = download(att, wout.mem, args->attn_weights.data, weights_count * sizeof(float),
                       "attn_weights")) != MHA_STATUS_OK)
        goto done;
    if (args->attn_output.memory == MHA_MEMORY_HOST)
        st = download(att, out.mem, args->attn_output.data, R * E * sizeof(float), "attn_output");
done:
    if (st != MHA_STATUS_OK) {
        clFinish(att->run_queue); /* leave nothing in flight */
        ocl_attention_drop_marks(att);
        if (ext && ext->done && *ext->done) {
            clReleaseEvent(*ext->done);
            *ext->done = NULL;
        }
    }
    return st;
}
