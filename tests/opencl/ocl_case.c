/* ocl_case.c - see ocl_case.h. */
#include "ocl_case.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_next(uint32_t *s)
{
    /* xorshift32 */
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}
static int pick(uint32_t *s, int n) { return (int)(rng_next(s) % (uint32_t)n); }
static float uniform(uint32_t *s) { return (float)(rng_next(s) >> 8) * (1.0f / 16777216.0f); }

static float *rand_floats(uint32_t *s, size_t n, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; ++i)
        p[i] = (2.0f * uniform(s) - 1.0f) * scale;
    return p;
}

void ocl_case_random(ocl_case *c, uint32_t seed)
{
    static const int64_t heads[] = {1, 2, 3, 5};
    static const int64_t head_dims[] = {1, 2, 3, 4, 7};
    uint32_t s = seed * 2654435761u + 12345u;
    if (s == 0)
        s = 1;
    memset(c, 0, sizeof *c);
    c->H = heads[pick(&s, 4)];
    c->E = c->H * head_dims[pick(&s, 5)];
    c->batched = pick(&s, 4) != 0;
    c->N = c->batched ? 1 + pick(&s, 3) : 1;
    c->batch_first = pick(&s, 2);
    c->L = 1 + pick(&s, 9);
    c->S = 1 + pick(&s, 11);
    c->kdim = c->vdim = c->E;
    int kind = pick(&s, 4); /* 0 self, 1 kv same, 2 separate, 3 separate dims */
    if (kind == 0) {
        c->self_attention = true;
        c->S = c->L;
    } else if (kind == 1) {
        c->kv_same = true;
        if (pick(&s, 2))
            c->kdim = c->vdim = 1 + pick(&s, 9);
    } else if (kind == 3) {
        c->kdim = 1 + pick(&s, 9);
        c->vdim = 1 + pick(&s, 9);
    }
    c->bias = pick(&s, 4) != 0;
    c->add_bias_kv = pick(&s, 3) == 0;
    c->add_zero_attn = pick(&s, 3) == 0;
    c->attn_mask = (ocl_test_mask)pick(&s, 3);
    c->attn_mask_3d = pick(&s, 2);
    c->kpm = (ocl_test_mask)pick(&s, 3);
    c->causal = (mha_causal)pick(&s, 3);
    c->need_weights = pick(&s, 4) != 0;
    c->average = pick(&s, 2);
    c->training = pick(&s, 3) == 0;
    c->dropout = c->training ? 0.1f + 0.2f * (float)pick(&s, 3) : 0.0f;
    c->seed = ((uint64_t)rng_next(&s) << 32) | rng_next(&s);
    ocl_case_fill(c, seed);
}

void ocl_case_fill(ocl_case *c, uint32_t seed)
{
    uint32_t s = seed * 747796405u + 2891336453u;
    if (s == 0)
        s = 1;
    const size_t E = (size_t)c->E, kd = (size_t)c->kdim, vd = (size_t)c->vdim;
    const size_t N = (size_t)c->N, L = (size_t)c->L, S = (size_t)c->S, H = (size_t)c->H;
    const float ws = 1.0f / sqrtf((float)E);
    if (kd == E && vd == E && pick(&s, 2)) {
        c->w_in = rand_floats(&s, 3 * E * E, ws);
    } else {
        c->w_q = rand_floats(&s, E * E, ws);
        c->w_k = rand_floats(&s, E * kd, 1.0f / sqrtf((float)kd));
        c->w_v = rand_floats(&s, E * vd, 1.0f / sqrtf((float)vd));
    }
    c->w_o = rand_floats(&s, E * E, ws);
    if (c->bias) {
        c->b_in = rand_floats(&s, 3 * E, 0.5f);
        c->b_o = rand_floats(&s, E, 0.5f);
    }
    if (c->add_bias_kv) {
        c->bias_k = rand_floats(&s, E, 1.0f);
        c->bias_v = rand_floats(&s, E, 1.0f);
    }
    c->query = rand_floats(&s, L * N * E, 1.0f);
    if (!c->self_attention) {
        c->key = rand_floats(&s, S * N * kd, 1.0f);
        if (!c->kv_same)
            c->value = rand_floats(&s, S * N * vd, 1.0f);
    }
    size_t am = (c->attn_mask_3d ? N * H : 1) * L * S;
    if (c->attn_mask == OCL_TM_BOOL) {
        uint8_t *m = malloc(am);
        for (size_t i = 0; i < am; ++i)
            m[i] = pick(&s, 4) == 0;
        c->attn_mask_data = m;
    } else if (c->attn_mask == OCL_TM_FLOAT) {
        float *m = rand_floats(&s, am, 2.0f);
        for (size_t i = 0; i < am; ++i)
            if (pick(&s, 16) == 0)
                m[i] = -INFINITY;
        c->attn_mask_data = m;
    }
    if (c->kpm == OCL_TM_BOOL) {
        uint8_t *m = malloc(N * S);
        for (size_t i = 0; i < N * S; ++i)
            m[i] = pick(&s, 4) == 0;
        c->kpm_data = m;
    } else if (c->kpm == OCL_TM_FLOAT) {
        c->kpm_data = rand_floats(&s, N * S, 2.0f);
    }
    const size_t Sp = S + c->add_bias_kv + c->add_zero_attn;
    c->out_count = L * N * E;
    c->weights_count = c->need_weights ? N * (c->average ? 1 : H) * L * Sp : 0;
}

void ocl_case_free(ocl_case *c)
{
    void *p[] = {c->w_in, c->w_q, c->w_k, c->w_v, c->b_in, c->w_o, c->b_o, c->bias_k,
                 c->bias_v, c->query, c->key, c->value, c->attn_mask_data, c->kpm_data};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; ++i)
        free(p[i]);
    memset(c, 0, sizeof *c);
}

void ocl_case_describe(const ocl_case *c, char *buf, size_t cap)
{
    static const char *mk[] = {"none", "bool", "float"};
    snprintf(buf, cap,
             "E=%lld H=%lld kdim=%lld vdim=%lld N=%lld L=%lld S=%lld batched=%d bf=%d bias=%d "
             "bias_kv=%d zero_attn=%d self=%d kv_same=%d attn_mask=%s%s kpm=%s causal=%d "
             "weights=%d avg=%d dropout=%g",
             (long long)c->E, (long long)c->H, (long long)c->kdim, (long long)c->vdim,
             (long long)c->N, (long long)c->L, (long long)c->S, c->batched, c->batch_first, c->bias,
             c->add_bias_kv, c->add_zero_attn, c->self_attention, c->kv_same, mk[c->attn_mask],
             c->attn_mask_3d ? "3d" : "2d", mk[c->kpm], (int)c->causal, c->need_weights,
             c->average, c->training ? (double)c->dropout : 0.0);
}

mha_status ocl_case_attention(const ocl_case *c, mha_backend *backend, mha_attention **att)
{
    mha_config cfg;
    mha_config_init(&cfg, c->E, c->H);
    cfg.kdim = c->kdim;
    cfg.vdim = c->vdim;
    cfg.bias = c->bias;
    cfg.add_bias_kv = c->add_bias_kv;
    cfg.add_zero_attn = c->add_zero_attn;
    cfg.batch_first = c->batch_first;
    cfg.dropout = c->dropout;
    mha_weights w;
    mha_weights_init(&w);
    w.in_proj_weight = c->w_in;
    w.q_proj_weight = c->w_q;
    w.k_proj_weight = c->w_k;
    w.v_proj_weight = c->w_v;
    w.in_proj_bias = c->b_in;
    w.out_proj_weight = c->w_o;
    w.out_proj_bias = c->b_o;
    w.bias_k = c->bias_k;
    w.bias_v = c->bias_v;
    return mha_attention_create(backend, &cfg, &w, att);
}

/* Shape (T, N, F) in the case's layout. */
static mha_tensor seq_tensor(const ocl_case *c, const float *data, int64_t T, int64_t F)
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

mha_status ocl_case_args(const ocl_case *c, const mha_attention *att, float *out, float *weights,
                         const mha_extension *next, mha_forward_args *a)
{
    mha_forward_args_init(a);
    a->next = next;
    a->query = seq_tensor(c, c->query, c->L, c->E);
    a->key = c->self_attention ? a->query : seq_tensor(c, c->key, c->S, c->kdim);
    a->value = c->self_attention ? a->query
               : c->kv_same      ? a->key
                                 : seq_tensor(c, c->value, c->S, c->vdim);
    if (c->attn_mask != OCL_TM_NONE) {
        int64_t shape[3] = {c->N * c->H, c->L, c->S};
        if (!c->batched)
            shape[0] = c->H;
        int32_t rank = c->attn_mask_3d ? 3 : 2;
        const int64_t *sh = c->attn_mask_3d ? shape : shape + 1;
        a->attn_mask = c->attn_mask == OCL_TM_BOOL ? mha_tensor_bool(c->attn_mask_data, rank, sh)
                                                   : mha_tensor_f32(c->attn_mask_data, rank, sh);
    }
    if (c->kpm != OCL_TM_NONE) {
        int64_t shape[2] = {c->N, c->S};
        int32_t rank = c->batched ? 2 : 1;
        const int64_t *sh = c->batched ? shape : shape + 1;
        a->key_padding_mask = c->kpm == OCL_TM_BOOL ? mha_tensor_bool(c->kpm_data, rank, sh)
                                                    : mha_tensor_f32(c->kpm_data, rank, sh);
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

mha_status ocl_case_run(const ocl_case *c, mha_backend *backend, mha_attention *att, float *out,
                        float *weights, const mha_extension *next)
{
    mha_attention *own = NULL;
    mha_status st = MHA_STATUS_OK;
    if (!att) {
        st = ocl_case_attention(c, backend, &own);
        if (st != MHA_STATUS_OK)
            return st;
        att = own;
    }
    mha_forward_args a;
    st = ocl_case_args(c, att, out, weights, next, &a);
    if (st == MHA_STATUS_OK)
        st = mha_attention_forward(att, &a);
    mha_attention_destroy(own);
    return st;
}

long ocl_compare(const float *a, const float *b, size_t n, float atol, float rtol)
{
    for (size_t i = 0; i < n; ++i) {
        if (isnan(a[i]) || isnan(b[i])) {
            if (!(isnan(a[i]) && isnan(b[i])))
                return (long)i;
            continue;
        }
        if (isinf(b[i]) || isinf(a[i])) {
            if (a[i] != b[i])
                return (long)i;
            continue;
        }
        if (fabsf(a[i] - b[i]) > atol + rtol * fabsf(b[i]))
            return (long)i;
    }
    return -1;
}
