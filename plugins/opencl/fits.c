/*
 * fits.c - whether one forward call fits the device, asked before it
 * enqueues any work: every scratch buffer the call will hold, per path,
 * against CL_DEVICE_MAX_MEM_ALLOC_SIZE, and all the backend will hold (the
 * weights and scratch of all its attention objects, what this call grows)
 * against CL_DEVICE_GLOBAL_MEM_SIZE, as ocl_context.limits has them. A call
 * that does not fit is refused with OUT_OF_MEMORY naming the buffer, its
 * size and the limit, instead of failing inside the driver halfway.
 *
 * The sizes here are those the steps reserve (views.c, layout.c, heads.c,
 * gemm.c, fused.c, absorbed.c; tests/opencl/test_limits.c checks that a call
 * that passes here allocates no more). Not counted: the caller's cl_mem
 * tensors (they exist already), and the temporaries CLBlast's strided-batched
 * GEMM may allocate itself (docs/opencl.md, Memory).
 */
#include "call.h"

typedef struct need {
    ocl_buffer *buffer; /* the attention object's scratch buffer */
    const char *what;
    const char *formula;
    uint64_t bytes;
} need;

typedef struct plan {
    need needs[24];
    size_t count;
} plan;

/* a * b, saturated: a size past 2^64 is past any limit anyway */
static uint64_t mul(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* One use of a buffer; a buffer used twice (xt_q) needs the larger size. */
static void add(plan *p, ocl_buffer *buffer, const char *what, const char *formula,
                uint64_t bytes)
{
    for (size_t i = 0; i < p->count; ++i)
        if (p->needs[i].buffer == buffer) {
            if (bytes > p->needs[i].bytes)
                p->needs[i] = (need){buffer, what, formula, bytes};
            return;
        }
    if (p->count < sizeof p->needs / sizeof p->needs[0])
        p->needs[p->count++] = (need){buffer, what, formula, bytes};
}

static uint64_t floats(uint64_t a, uint64_t b, uint64_t c)
{
    return mul(mul(mul(a, b), c), sizeof(float));
}

static size_t numel(const mha_tensor *t)
{
    size_t n = 1;
    for (int32_t i = 0; i < t->rank; ++i)
        n *= (size_t)t->shape[i];
    return n;
}

/* Host tensors are uploaded into (or written to) scratch; cl_mem ones are not. */
static void add_host(plan *p, const mha_tensor *t, ocl_buffer *buffer, const char *what,
                     const char *formula, uint64_t bytes)
{
    if (t->data && t->memory == MHA_MEMORY_HOST)
        add(p, buffer, what, formula, bytes);
}

/* The inputs, masks and outputs (views in forward.c). */
static void plan_views(const ocl_call *c, plan *p, size_t weights_count)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const mha_forward_args *args = c->args;
    const uint64_t N = (uint64_t)pr->batch, L = (uint64_t)pr->tgt_len, S = (uint64_t)pr->src_len;
    const uint64_t E = (uint64_t)pr->embed_dim, kd = (uint64_t)pr->kdim, vd = (uint64_t)pr->vdim;
    const bool self = pr->self_attention, kv_same = !self && pr->kv_same && kd == vd;
    add_host(p, &args->query, &att->x_q, "query", "L*N*E floats", floats(L, N, E));
    if (!self)
        add_host(p, &args->key, &att->x_k, "key", "S*N*kdim floats", floats(S, N, kd));
    if (!self && !kv_same)
        add_host(p, &args->value, &att->x_v, "value", "S*N*vdim floats", floats(S, N, vd));
    for (int m = 0; m < 2; ++m) {
        const mha_tensor *t = m == 0 ? &args->attn_mask : &args->key_padding_mask;
        const unsigned size = t->dtype == MHA_DTYPE_BOOL ? 1u : t->dtype == MHA_DTYPE_F16 ? 2u : 4u;
        if (t->dtype != MHA_DTYPE_NONE)
            add_host(p, t, m == 0 ? &att->attn_mask : &att->kpm,
                     m == 0 ? "attn_mask" : "key_padding_mask", "its elements",
                     mul(numel(t), size));
    }
    add_host(p, &args->attn_output, &att->out, "attn_output", "L*N*E floats", floats(L, N, E));
    if (c->wout)
        add_host(p, &args->attn_weights, &att->avg, "attn_weights",
                 args->average_attn_weights ? "N*L*S' floats" : "N*H*L*S' floats",
                 mul(weights_count, sizeof(float)));
}

/* The projections and the output projection (layout.c): inputs transposed
 * and padded, the products, CLBlast's temporary buffer. */
static mha_status plan_projections(ocl_call *c, plan *p)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const size_t N = (size_t)pr->batch, R = (size_t)pr->tgt_len * N, Rk = (size_t)pr->src_len * N;
    const size_t E = (size_t)pr->embed_dim, kd = (size_t)pr->kdim, vd = (size_t)pr->vdim;
    const bool self = pr->self_attention, kv_same = !self && pr->kv_same && kd == vd;
    const bool absorbed = c->path == OCL_PATH_ABSORBED;
    size_t Rp = 0, Rkp = 0, Rvp = 0, temp = 0, t = 0;
    mha_status st = ocl_padded_rows(c, R, E, &Rp);
    if (st == MHA_STATUS_OK)
        st = ocl_gemm_temp_size(c, E, Rp, E, &temp);
    if (st != MHA_STATUS_OK)
        return st;
    Rkp = Rvp = Rp;
    add(p, &att->xt_q, "query^T", "E*L*N floats, rows padded", floats(E, Rp, 1));
    add(p, &att->proj_q, "q projection", "L*N*E floats, rows padded", floats(Rp, E, 1));
    add(p, &att->y, "output projection", "L*N*E floats, rows padded", floats(Rp, E, 1));
    if (!self && !absorbed) {
        if ((st = ocl_padded_rows(c, Rk, kd, &Rkp)) != MHA_STATUS_OK)
            return st;
        add(p, &att->xt_k, "key^T", "kdim*S*N floats, rows padded", floats(kd, Rkp, 1));
        Rvp = Rkp;
    }
    if (!self && !kv_same && !absorbed) {
        if ((st = ocl_padded_rows(c, Rk, vd, &Rvp)) != MHA_STATUS_OK)
            return st;
        add(p, &att->xt_v, "value^T", "vdim*S*N floats, rows padded", floats(vd, Rvp, 1));
    }
    if (!absorbed) {
        add(p, &att->proj_k, "k projection", "S*N*E floats, rows padded", floats(Rkp, E, 1));
        add(p, &att->proj_v, "v projection", "S*N*E floats, rows padded", floats(Rvp, E, 1));
        if ((st = ocl_gemm_temp_size(c, E, Rkp, kd, &t)) != MHA_STATUS_OK)
            return st;
        temp = t > temp ? t : temp;
        if ((st = ocl_gemm_temp_size(c, E, Rvp, vd, &t)) != MHA_STATUS_OK)
            return st;
        temp = t > temp ? t : temp;
    }
    add(p, &att->gemm_temp, "gemm temp", "CLBlast's temporary buffer", temp > 64 ? temp : 64);
    return MHA_STATUS_OK;
}

/* Steps 3-7 of each path (heads.c, gemm.c, fused.c, flash.c, absorbed.c). */
static void plan_products(const ocl_call *c, plan *p)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const uint64_t N = (uint64_t)pr->batch, H = (uint64_t)pr->num_heads;
    const uint64_t L = (uint64_t)pr->tgt_len, S = (uint64_t)pr->src_len;
    const uint64_t Sp = (uint64_t)pr->src_len_total, D = (uint64_t)pr->head_dim;
    const uint64_t E = (uint64_t)pr->embed_dim, B = N * H;
    const ocl_path_rules rules = ocl_call_rules(c);
    const bool deferred = ocl_softmax_choose(&rules, pr) != OCL_SOFTMAX_GROUP && !c->wout;
    add(p, &att->ocat, "merged heads", "L*N*E floats", floats(L, N, E));
    if (c->path == OCL_PATH_ABSORBED) {
        add(p, &att->q_h, "absorbed queries", "N*H*L*(kdim+1) floats",
            floats(B, L, (uint64_t)pr->kdim + 1));
        add(p, &att->scores, "scores", "N*H*L*S floats", floats(B, L, S));
        add(p, &att->o_h, "absorbed values", "N*H*L*(vdim+1) floats",
            floats(B, L, (uint64_t)pr->vdim + 1));
    } else {
        add(p, &att->q_h, "q heads", "N*H*L*D floats", floats(B, L, D));
        const bool in_place = (c->path == OCL_PATH_FUSED && ocl_path_kv_in_place(pr)) ||
                              (c->path == OCL_PATH_FLASH && !c->wout &&
                               ocl_flash_kv_in_place(pr));
        if (!in_place) {
            add(p, &att->k_h, "k heads", "N*H*S'*D floats", floats(B, Sp, D));
            add(p, &att->v_h, "v heads", "N*H*S'*D floats", floats(B, Sp, D));
        }
        if (c->path == OCL_PATH_GEMM) {
            add(p, &att->scores, "scores", "N*H*L*S' floats", floats(B, L, Sp));
            add(p, &att->o_h, "head outputs", "L*N*E floats", floats(L, N, E));
        }
        ocl_flash_plan flash; /* a plan that fails is reported by the launch */
        if (c->path == OCL_PATH_FLASH && ocl_flash_plan_of(c, &flash) ==
                                             MHA_STATUS_OK && flash.splits > 1)
            add(p, &att->scores, "flash split-K partials", "splits*N*H*L*(D+2) floats",
                floats(flash.splits * B, L, D + 2));
        if (c->path == OCL_PATH_FLASH && c->wout)
            add(p, &att->row_scale, "flash row statistics", "N*H*L*2 floats", floats(B, L, 2));
    }
    if (c->path != OCL_PATH_FUSED && c->path != OCL_PATH_FLASH && deferred)
        add(p, &att->row_scale, "row scale", "N*H*L floats", floats(B, L, 1));
}

mha_status ocl_call_fits(ocl_call *c, size_t weights_count)
{
    const ocl_device_limits *limits = &c->ctx->limits;
    plan p = {.count = 0};
    plan_views(c, &p, weights_count);
    mha_status st = plan_projections(c, &p);
    if (st != MHA_STATUS_OK)
        return st;
    plan_products(c, &p);
    /* what the backend holds now (every attention object), plus what this
     * call grows */
    uint64_t total = atomic_load(&c->ctx->device_bytes);
    for (size_t i = 0; i < p.count; ++i) {
        const need *n = &p.needs[i];
        if ((st = ocl_limits_check_buffer(limits, n->what, n->formula, n->bytes)) !=
            MHA_STATUS_OK)
            return st;
        if (n->bytes > n->buffer->size)
            total += n->bytes - n->buffer->size;
    }
    return ocl_limits_check_total(limits, "the call (with the backend's weights and scratch)",
                                  total);
}
