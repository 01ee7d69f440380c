/*
 * call.h - one forward call's context and the helpers its steps share (not
 * installed). forward.c runs the steps; the helpers live in:
 *   launch.c    kernel arguments and launches, profiling marks, the call's
 *               queue (begin/finish)
 *   views.c     device views of tensors, uploads, downloads, scratch
 *   layout.c    the CLBlast layout: transposes, padding, projections, GEMMs
 *   heads.c     splitting the projections into heads, merging them back
 *   gemm.c      the GEMM path (and the softmax + weights the absorbed path shares)
 *   fused.c     the fused path
 *   flash.c     the flash path
 *   absorbed.c  the absorbed path
 */
#ifndef MHA_OPENCL_CALL_H
#define MHA_OPENCL_CALL_H

#include "internal.h"

/* A tensor's data on the device: a buffer and a byte offset into it. */
typedef struct ocl_view {
    cl_mem mem;
    size_t offset;
} ocl_view;

/* The masks of a call on the device; kinds are OCL_MASK_*. */
typedef struct ocl_masks {
    ocl_view attn, kpm;
    int attn_kind, kpm_kind;
} ocl_masks;

/* Everything one forward call's steps share. Lives on the stack of
 * ocl_attention_forward; every pointer is borrowed for the call. */
typedef struct ocl_call {
    ocl_attention *att;
    ocl_context *ctx;               /* att->context */
    const mha_problem *pr;
    const mha_forward_args *args;
    const mha_opencl_forward *ext;  /* MHA_OPENCL_EXT_FORWARD in args->next, or NULL */
    cl_command_queue queue;         /* the attention object's, or ext->queue */
    bool profiling;                 /* queue has CL_QUEUE_PROFILING_ENABLE */
    ocl_path path;                  /* of the attention products (path.c): never AUTO */
    ocl_masks masks;
    ocl_view xq, xk, xv;            /* the inputs on the device */
    ocl_view out;                   /* attn_output on the device */
    const ocl_view *wout;           /* attn_weights on the device, or NULL: none asked for */
    ocl_view wout_view;             /* what wout points at */
} ocl_call;

/* The path rules' view of this call (path.h). */
static inline ocl_path_rules ocl_call_rules(const ocl_call *c)
{
    return (ocl_path_rules){c->ctx->device->kind == OCL_DEVICE_CPU, c->ctx->gemm_only,
                            c->att->path, c->att->softmax, c->wout != NULL,
                            c->ctx->device->loop_cap, c->ctx->limits.max_alloc};
}

/* ---- launch.c ------------------------------------------------------------ */
/* Sets consecutive kernel arguments, remembering the first failure. */
typedef struct ocl_args {
    cl_kernel kernel;
    const char *name;
    cl_uint index;
    cl_int err;
    cl_ulong local_bytes; /* of the __local arguments set (value NULL) */
} ocl_args;

static inline void arg(ocl_args *a, size_t size, const void *value)
{
    if (a->err == CL_SUCCESS)
        a->err = clSetKernelArg(a->kernel, a->index, size, value);
    if (!value)
        a->local_bytes += size;
    a->index++;
}
static inline void arg_mem(ocl_args *a, cl_mem mem) { arg(a, sizeof mem, &mem); }
static inline void arg_int(ocl_args *a, int64_t v)
{
    cl_int x = (cl_int)v;
    arg(a, sizeof x, &x);
}
static inline void arg_ulong(ocl_args *a, uint64_t v)
{
    cl_ulong x = v;
    arg(a, sizeof x, &x);
}
static inline void arg_float(ocl_args *a, float v)
{
    cl_float x = v;
    arg(a, sizeof x, &x);
}
/* The arguments of kernel `id` of the attention object, from index 0. */
static inline ocl_args ocl_args_of(const ocl_call *c, ocl_kernel_id id)
{
    return (ocl_args){c->att->kernels[id], ocl_kernel_name(id), 0, CL_SUCCESS, 0};
}
/* The mask, causal and dropout arguments, in the order the softmax kernels
 * and the fused kernels take them. */
void ocl_arg_masks(ocl_args *a, const ocl_call *c);

/* Enqueues the kernel of `a` over `global` work-items (local: 0 = the
 * driver's choice); a failed clSetKernelArg is reported here. */
mha_status ocl_launch(ocl_call *c, ocl_args *a, size_t global, size_t local);
/* Enqueues a marker that waits for `count` events and returns it in *event. */
mha_status ocl_marker(ocl_call *c, cl_uint count, const cl_event *wait, cl_event *event);
/* On a profiling queue, a marker that ends `stage` (NULL: the start marker). */
mha_status ocl_mark(ocl_call *c, const char *stage, bool gemm);
/* Picks the call's queue and makes it wait for the previous call and the
 * caller's events. */
mha_status ocl_call_begin(ocl_call *c);
/* The end of a call that enqueued everything: the caller's done event, and
 * the event the next call waits for. */
mha_status ocl_call_finish(ocl_call *c);

/* ---- fits.c -------------------------------------------------------------- */
/* Whether the call fits the device (ctx->limits): each scratch buffer it
 * will hold against max_alloc, all the backend will hold (every attention
 * object's buffers) against global_mem; OUT_OF_MEMORY naming the buffer and the sizes when not. Asked
 * before any work is enqueued (after ocl_call_begin: it needs the queue). */
mha_status ocl_call_fits(ocl_call *c, size_t weights_count);

/* ---- views.c ------------------------------------------------------------- */
/* Makes buf at least `bytes` large (counted in the object's stats). */
mha_status ocl_reserve(ocl_call *c, ocl_buffer *buf, size_t bytes, const char *what);
/* The same for scratch that a kernel fills (zeroed when new in GEMM-only timing). */
mha_status ocl_reserve_scratch(ocl_call *c, ocl_buffer *buf, size_t bytes, const char *what);
/* An input: a cl_mem tensor in place, or a host tensor uploaded into `scratch`. */
mha_status ocl_input_view(ocl_call *c, const mha_tensor *t, ocl_buffer *scratch, size_t bytes,
                          size_t align, const char *name, ocl_view *view);
/* An output: a cl_mem tensor in place, or `scratch`, downloaded at the end. */
mha_status ocl_output_view(ocl_call *c, const mha_tensor *t, ocl_buffer *scratch, size_t bytes,
                           const char *name, ocl_view *view);
/* An optional mask; *kind is OCL_MASK_*. */
mha_status ocl_mask_view(ocl_call *c, const mha_tensor *t, ocl_buffer *buf, int *kind,
                         const char *what, ocl_view *view);
/* A blocking read of `bytes` from mem into host memory. */
mha_status ocl_download(ocl_call *c, cl_mem mem, void *dst, size_t bytes, const char *what);

/* ---- layout.c ------------------------------------------------------------ */
/* The temporary buffer CLBlast needs for C^T (m x n) = A (m x k) B^T laid
 * out as ocl_project hands them. */
mha_status ocl_gemm_temp_size(ocl_call *c, size_t m, size_t n, size_t k, size_t *temp);
/* The rows to give a projection of `rows` input rows (kdim k) so that CLBlast
 * copies nothing. */
mha_status ocl_padded_rows(ocl_call *c, size_t rows, size_t k, size_t *padded);
/* xt (cols, ld) = the rows (rows, cols) at src_off floats into src, row
 * stride src_ld, transposed; columns rows..ld of xt zero (mha_transpose). */
mha_status ocl_transpose_rows(ocl_call *c, cl_mem src, size_t src_off, size_t src_ld,
                              size_t rows, size_t cols, ocl_buffer *xt, size_t ld,
                              const char *what);
/* dst (rows, E) row-major = X W^T, from xt = X^T (k, rows) and wt = W^T (k, E). */
mha_status ocl_project(ocl_call *c, size_t rows, size_t k, cl_mem wt, cl_mem xt,
                       ocl_buffer *dst, const char *what);
/* Column-major C_i (m x n) = alpha op(A_i) op(B_i) for i < batch, each matrix
 * `stride` floats after the previous one. */
mha_status ocl_gemm_batched(ocl_call *c, CLBlastTranspose ta, CLBlastTranspose tb, size_t m,
                            size_t n, size_t k, float alpha, cl_mem a, size_t a_ld,
                            size_t a_stride, cl_mem b, size_t b_ld, size_t b_stride, cl_mem cm,
                            size_t c_ld, size_t c_stride, size_t batch, const char *what);

/* ---- heads.c ------------------------------------------------------------- */
/* Rows of q, k or v (and of their projections) lie (t, n), or (n, t) when
 * batch-first: row t of batch entry n is t*step_t + n*step_n, of `rows` per
 * batch entry. */
typedef struct ocl_row_steps {
    uint64_t t, n;
} ocl_row_steps;
ocl_row_steps ocl_row_steps_of(const mha_problem *pr, int64_t rows);
/* mha_split_heads for one of q, k, v, from its projection `src` (rows of E):
 * per head (T, D), or (D, T) when transposed. */
mha_status ocl_split_heads(ocl_call *c, cl_mem src, int64_t src_rows, int64_t total_rows,
                           size_t bias_off, size_t extra_off, bool has_extra, bool transposed,
                           ocl_buffer *dst, const char *what);
/* mha_merge_heads: the head outputs in o_h side by side in rows (l, n) of
 * att->ocat, scaled by the softmax's 1/sum when it was deferred. */
mha_status ocl_merge_heads(ocl_call *c, bool deferred);

/* ---- gemm.c -------------------------------------------------------------- */
/* The softmax kernel over att->scores with masks and dropout, then the
 * weights into c->wout when asked for; *deferred: att->row_scale holds each
 * row's 1/sum, not yet applied to P. */
mha_status ocl_softmax_and_weights(ocl_call *c, bool *deferred);
/* Steps 4-7 as CLBlast GEMMs around a softmax kernel. */
mha_status ocl_gemm_attention(ocl_call *c);

/* ---- fused.c ------------------------------------------------------------- */
/* Where the fused kernels read K and V: key j of batch entry n, head h at
 * j*key_stride + n*batch_stride + h*head_stride floats; bias: the in_proj
 * bias is still to be added (K and V read from the projections in place). */
typedef struct ocl_kv {
    cl_mem k, v;
    size_t key_stride, batch_stride, head_stride;
    bool bias;
} ocl_kv;
/* Steps 4-7 in one kernel (cl/fused.cl). */
mha_status ocl_fused_attention(ocl_call *c, const ocl_kv *kv);

/* ---- flash.c ------------------------------------------------------------- */
/* Steps 4-7 in the flash kernels (cl/flash.cl) from the per-head Q^T and
 * K and V where kv says (per-head blocks, or the projections in place with
 * their bias still to add), split-K partials in att->scores when the keys
 * are cut. */
mha_status ocl_flash_attention(ocl_call *c, const ocl_kv *kv);
/* The tiles and split-K of the call's flash launch (the path's kernels must
 * exist): the partials take plan->splits * N*H*L * (D + 2) floats when
 * plan->splits > 1. UNSUPPORTED when the device's local memory is too small. */
mha_status ocl_flash_plan_of(const ocl_call *c, ocl_flash_plan *plan);

/* ---- absorbed.c ---------------------------------------------------------- */
/* Steps 3-7 with the key and value projections absorbed (cl/absorbed.cl). */
mha_status ocl_absorbed_attention(ocl_call *c);

#endif /* MHA_OPENCL_CALL_H */
