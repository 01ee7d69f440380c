/* testkit_case.c - see testkit_case.h. */
#include "testkit_case.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit_random.h"

void tk_case_random(tk_case *c, uint32_t seed)
{
    static const int64_t heads[] = {1, 2, 3, 5};
    static const int64_t head_dims[] = {1, 2, 3, 4, 7};
    tk_rng s = tk_rng_make(seed, 1);
    memset(c, 0, sizeof *c);
    c->H = heads[tk_pick(&s, 4)];
    c->E = c->H * head_dims[tk_pick(&s, 5)];
    c->batched = tk_pick(&s, 4) != 0;
    c->N = c->batched ? 1 + tk_pick(&s, 3) : 1;
    c->batch_first = tk_pick(&s, 2);
    c->L = 1 + tk_pick(&s, 9);
    c->S = 1 + tk_pick(&s, 11);
    c->kdim = c->vdim = c->E;
    int kind = tk_pick(&s, 4); /* 0 self, 1 kv same, 2 separate, 3 separate dims */
    if (kind == 0) {
        c->self_attention = true;
        c->S = c->L;
    } else if (kind == 1) {
        c->kv_same = true;
        if (tk_pick(&s, 2))
            c->kdim = c->vdim = 1 + tk_pick(&s, 9);
    } else if (kind == 3) {
        c->kdim = 1 + tk_pick(&s, 9);
        c->vdim = 1 + tk_pick(&s, 9);
    }
    c->bias = tk_pick(&s, 4) != 0;
    c->add_bias_kv = tk_pick(&s, 3) == 0;
    c->add_zero_attn = tk_pick(&s, 3) == 0;
    c->attn_mask = (tk_mask)tk_pick(&s, 3);
    c->attn_mask_3d = tk_pick(&s, 2);
    c->kpm = (tk_mask)tk_pick(&s, 3);
    c->causal = (mha_causal)tk_pick(&s, 3);
    c->need_weights = tk_pick(&s, 4) != 0;
    c->average = tk_pick(&s, 2);
    c->training = tk_pick(&s, 3) == 0;
    c->dropout = c->training ? 0.1f + 0.2f * (float)tk_pick(&s, 3) : 0.0f;
    c->seed = ((uint64_t)tk_next(&s) << 32) | tk_next(&s);
    tk_case_fill(c, seed);
}

/* Allocations of one fill; the first failure sets `failed`. */
typedef struct filler {
    tk_rng s;
    bool failed;
} filler;

static void *alloc(filler *f, size_t bytes)
{
    void *p = f->failed ? NULL : malloc(bytes ? bytes : 1);
    f->failed = p == NULL;
    return p;
}

static float *floats(filler *f, size_t n, float scale)
{
    float *p = alloc(f, n * sizeof *p);
    if (p)
        tk_fill(&f->s, p, n, scale);
    return p;
}

static uint8_t *bools(filler *f, size_t n)
{
    uint8_t *m = alloc(f, n);
    for (size_t i = 0; m && i < n; ++i)
        m[i] = tk_pick(&f->s, 4) == 0;
    return m;
}

void tk_case_drop_data(tk_case *c)
{
    c->w_in = c->w_q = c->w_k = c->w_v = c->b_in = c->w_o = c->b_o = c->bias_k = c->bias_v = NULL;
    c->query = c->key = c->value = NULL;
    c->attn_mask_data = c->kpm_data = NULL;
}

bool tk_case_fill(tk_case *c, uint32_t seed)
{
    filler f = {tk_rng_make(seed, 2), false};
    tk_case_drop_data(c);
    const size_t E = (size_t)c->E, kd = (size_t)c->kdim, vd = (size_t)c->vdim;
    const size_t N = (size_t)c->N, L = (size_t)c->L, S = (size_t)c->S, H = (size_t)c->H;
    const float ws = 1.0f / sqrtf((float)E);
    const bool square = kd == E && vd == E;
    const bool packed = c->in_proj == TK_IN_PROJ_PACKED ||
                        (c->in_proj == TK_IN_PROJ_EITHER && square && tk_pick(&f.s, 2));
    if (packed) {
        c->w_in = floats(&f, 3 * E * E, ws);
    } else {
        c->w_q = floats(&f, E * E, ws);
        c->w_k = floats(&f, E * kd, 1.0f / sqrtf((float)kd));
        c->w_v = floats(&f, E * vd, 1.0f / sqrtf((float)vd));
    }
    c->w_o = floats(&f, E * E, ws);
    if (c->bias) {
        c->b_in = floats(&f, 3 * E, 0.5f);
        c->b_o = floats(&f, E, 0.5f);
    }
    if (c->add_bias_kv) {
        c->bias_k = floats(&f, E, 1.0f);
        c->bias_v = floats(&f, E, 1.0f);
    }
    c->query = floats(&f, L * N * E, 1.0f);
    if (!c->self_attention) {
        c->key = floats(&f, S * N * kd, 1.0f);
        if (!c->kv_same)
            c->value = floats(&f, S * N * vd, 1.0f);
    }
    size_t am = (c->attn_mask_3d ? N * H : 1) * L * S;
    if (c->attn_mask == TK_MASK_BOOL) {
        c->attn_mask_data = bools(&f, am);
    } else if (c->attn_mask == TK_MASK_FLOAT) {
        float *m = floats(&f, am, 2.0f);
        for (size_t i = 0; m && i < am; ++i)
            if (tk_pick(&f.s, 16) == 0)
                m[i] = -INFINITY;
        c->attn_mask_data = m;
    }
    if (c->kpm == TK_MASK_BOOL) {
        c->kpm_data = bools(&f, N * S);
    } else if (c->kpm == TK_MASK_FLOAT) {
        c->kpm_data = floats(&f, N * S, 2.0f);
    } else if (c->kpm_tail > 0) {
        uint8_t *m = alloc(&f, N * S);
        for (size_t b = 0; m && b < N; ++b)
            for (size_t j = 0; j < S; ++j)
                m[b * S + j] = b > 0 && j >= S - (size_t)c->kpm_tail;
        c->kpm_data = m;
    }
    const size_t Sp = S + c->add_bias_kv + c->add_zero_attn;
    c->out_count = L * N * E;
    c->weights_count = c->need_weights ? N * (c->average ? 1 : H) * L * Sp : 0;
    if (f.failed) {
        tk_case d = *c;
        tk_case_free(&d);
        tk_case_drop_data(c);
    }
    return !f.failed;
}

void tk_case_free(tk_case *c)
{
    void *p[] = {c->w_in, c->w_q, c->w_k, c->w_v, c->b_in, c->w_o, c->b_o, c->bias_k,
                 c->bias_v, c->query, c->key, c->value, c->attn_mask_data, c->kpm_data};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; ++i)
        free(p[i]);
    memset(c, 0, sizeof *c);
}

void tk_case_describe(const tk_case *c, char *buf, size_t cap)
{
    static const char *mk[] = {"none", "bool", "float"};
    snprintf(buf, cap,
             "E=%lld H=%lld kdim=%lld vdim=%lld N=%lld L=%lld S=%lld batched=%d bf=%d bias=%d "
             "bias_kv=%d zero_attn=%d self=%d kv_same=%d attn_mask=%s%s kpm=%s causal=%d "
             "weights=%d avg=%d dropout=%g",
             (long long)c->E, (long long)c->H, (long long)c->kdim, (long long)c->vdim,
             (long long)c->N, (long long)c->L, (long long)c->S, c->batched, c->batch_first, c->bias,
             c->add_bias_kv, c->add_zero_attn, c->self_attention, c->kv_same, mk[c->attn_mask],
             c->attn_mask_3d ? "3d" : "2d", c->kpm_tail > 0 ? "tail" : mk[c->kpm], (int)c->causal,
             c->need_weights, c->average, c->training ? (double)c->dropout : 0.0);
}

void tk_case_config(const tk_case *c, mha_config *cfg, mha_weights *w)
{
    mha_config_init(cfg, c->E, c->H);
    cfg->kdim = c->kdim;
    cfg->vdim = c->vdim;
    cfg->bias = c->bias;
    cfg->add_bias_kv = c->add_bias_kv;
    cfg->add_zero_attn = c->add_zero_attn;
    cfg->batch_first = c->batch_first;
    cfg->dropout = c->dropout;
    mha_weights_init(w);
    w->in_proj_weight = c->w_in;
    w->q_proj_weight = c->w_q;
    w->k_proj_weight = c->w_k;
    w->v_proj_weight = c->w_v;
    w->in_proj_bias = c->b_in;
    w->out_proj_weight = c->w_o;
    w->out_proj_bias = c->b_o;
    w->bias_k = c->bias_k;
    w->bias_v = c->bias_v;
}

mha_status tk_case_attention(const tk_case *c, mha_backend *backend, mha_attention **att)
{
    mha_config cfg;
    mha_weights w;
    tk_case_config(c, &cfg, &w);
    return mha_attention_create(backend, &cfg, &w, att);
}

/* Shape (T, N, F) in the case's layout. */
static mha_tensor seq_tensor(const tk_case *c, const float *data, int64_t T, int64_t F)
{
    int64_t shape[3];
    if (!c->batched) {
        shape[0] = T;
        shape[1] = F;
        return mha_tensor_f32(data, 2, shape);
    }
    shape[0] = c->batch_first ? c->N : T;
    shape[1] = c->batch_first ? T : c->N;
    shape[2] = F;
    return mha_tensor_f32(data, 3, shape);
}

mha_status tk_case_args(const tk_case *c, const mha_attention *att, float *out, float *weights,
                        const mha_extension *next, mha_forward_args *a)
{
    mha_forward_args_init(a);
    a->next = next;
    a->query = seq_tensor(c, c->query, c->L, c->E);
    a->key = c->self_attention ? a->query : seq_tensor(c, c->key, c->S, c->kdim);
    a->value = c->self_attention ? a->query
               : c->kv_same      ? a->key
                                 : seq_tensor(c, c->value, c->S, c->vdim);
    if (c->attn_mask != TK_MASK_NONE) {
        int64_t shape[3] = {c->N * c->H, c->L, c->S};
        if (!c->batched)
            shape[0] = c->H;
        int32_t rank = c->attn_mask_3d ? 3 : 2;
        const int64_t *sh = c->attn_mask_3d ? shape : shape + 1;
        a->attn_mask = c->attn_mask == TK_MASK_BOOL ? mha_tensor_bool(c->attn_mask_data, rank, sh)
                                                    : mha_tensor_f32(c->attn_mask_data, rank, sh);
    }
    if (c->kpm_data) {
        int64_t shape[2] = {c->N, c->S};
        int32_t rank = c->batched ? 2 : 1;
        const int64_t *sh = c->batched ? shape : shape + 1;
        a->key_padding_mask = c->kpm == TK_MASK_FLOAT ? mha_tensor_f32(c->kpm_data, rank, sh)
                                                      : mha_tensor_bool(c->kpm_data, rank, sh);
    }
    a->causal = c->causal;
    a->need_weights = c->need_weights;
    a->average_attn_weights = c->average;
    a->training = c->training;
    a->dropout_seed = c->seed;
    mha_tensor wshape;
    mha_status st = mha_attention_output_shapes(att, a, &a->attn_output, &wshape);
    if (st == MHA_STATUS_OK) {
        a->attn_output.data = out;
        if (c->need_weights) {
            a->attn_weights = wshape;
            a->attn_weights.data = weights;
        }
    }
    return st;
}

mha_status tk_case_run(const tk_case *c, mha_backend *backend, mha_attention *att, float *out,
                       float *weights, const mha_extension *next)
{
    mha_attention *own = NULL;
    mha_status st = MHA_STATUS_OK;
    if (!att) {
        st = tk_case_attention(c, backend, &own);
        if (st != MHA_STATUS_OK)
            return st;
        att = own;
    }
    mha_forward_args a;
    st = tk_case_args(c, att, out, weights, next, &a);
    if (st == MHA_STATUS_OK)
        st = mha_attention_forward(att, &a);
    mha_attention_destroy(own);
    return st;
}
