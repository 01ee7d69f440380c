/*
 * verify_problem.c - random problems and timed forwards for `mha verify`.
 */
#define _POSIX_C_SOURCE 200809L

#include "verify_problem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint32_t vlcg_next(vlcg *r)
{
    r->state = r->state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->state >> 32);
}

int vlcg_range(vlcg *r, int lo, int hi)
{
    return lo + (int)(vlcg_next(r) % (uint32_t)(hi - lo + 1));
}

float vlcg_float(vlcg *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(vlcg_next(r) >> 8) / 16777216.0);
}

static void *own(vproblem *p, size_t bytes)
{
    if (p->owned_count >= (int)(sizeof p->owned / sizeof p->owned[0]))
        return NULL;
    void *m = calloc(bytes > 0 ? bytes : 1, 1);
    if (m != NULL)
        p->owned[p->owned_count++] = m;
    return m;
}

static float *rand_floats(vproblem *p, vlcg *r, size_t n, float lo, float hi)
{
    float *f = own(p, n * sizeof(float));
    if (f != NULL)
        for (size_t i = 0; i < n; ++i)
            f[i] = vlcg_float(r, lo, hi);
    return f;
}

static uint8_t *rand_bools(vproblem *p, vlcg *r, size_t n)
{
    uint8_t *b = own(p, n);
    if (b != NULL)
        for (size_t i = 0; i < n; ++i)
            b[i] = vlcg_range(r, 0, 3) == 0;
    return b;
}

static float *rand_float_mask(vproblem *p, vlcg *r, size_t n)
{
    float *f = own(p, n * sizeof(float));
    if (f != NULL)
        for (size_t i = 0; i < n; ++i)
            f[i] = vlcg_range(r, 0, 9) == 0 ? -INFINITY : vlcg_float(r, -2.0f, 2.0f);
    return f;
}

static mha_tensor make_tensor(void *data, mha_dtype dtype, int32_t rank, int64_t d0, int64_t d1,
                              int64_t d2)
{
    mha_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dtype;
    t.rank = rank;
    t.shape[0] = d0;
    t.shape[1] = d1;
    t.shape[2] = d2;
    t.memory = MHA_MEMORY_HOST;
    return t;
}

/* (len, N, dim), (N, len, dim) or (len, dim). */
static mha_tensor seq_tensor(const vproblem_spec *s, float *data, int64_t len, int64_t dim)
{
    if (s->batch == 0)
        return make_tensor(data, MHA_DTYPE_F32, 2, len, dim, 0);
    if (s->batch_first)
        return make_tensor(data, MHA_DTYPE_F32, 3, s->batch, len, dim);
    return make_tensor(data, MHA_DTYPE_F32, 3, len, s->batch, dim);
}

bool vproblem_make(vproblem *p, const vproblem_spec *spec, vlcg *r)
{
    memset(p, 0, sizeof *p);
    p->spec = *spec;
    const vproblem_spec *s = &p->spec;
    const int64_t E = s->E, kd = s->kdim ? s->kdim : E, vd = s->vdim ? s->vdim : E;
    const size_t nb = s->batch > 0 ? (size_t)s->batch : 1;

    mha_config_init(&p->config, E, s->H);
    p->config.kdim = s->kdim;
    p->config.vdim = s->vdim;
    p->config.bias = s->bias;
    p->config.add_bias_kv = s->add_bias_kv;
    p->config.add_zero_attn = s->add_zero_attn;
    p->config.batch_first = s->batch_first;
    p->config.dropout = s->dropout;

    const float wr = 1.0f / sqrtf((float)(E > kd ? (E > vd ? E : vd) : (kd > vd ? kd : vd)));
    mha_weights_init(&p->weights);
    if (kd != E || vd != E) {
        if (!(p->weights.q_proj_weight = rand_floats(p, r, (size_t)(E * E), -wr, wr)) ||
            !(p->weights.k_proj_weight = rand_floats(p, r, (size_t)(E * kd), -wr, wr)) ||
            !(p->weights.v_proj_weight = rand_floats(p, r, (size_t)(E * vd), -wr, wr)))
            return false;
    } else if (!(p->weights.in_proj_weight = rand_floats(p, r, (size_t)(3 * E * E), -wr, wr))) {
        return false;
    }
    if (!(p->weights.out_proj_weight = rand_floats(p, r, (size_t)(E * E), -wr, wr)))
        return false;
    if (s->bias && (!(p->weights.in_proj_bias = rand_floats(p, r, (size_t)(3 * E), -0.5f, 0.5f)) ||
                    !(p->weights.out_proj_bias = rand_floats(p, r, (size_t)E, -0.5f, 0.5f))))
        return false;
    if (s->add_bias_kv && (!(p->weights.bias_k = rand_floats(p, r, (size_t)E, -1.0f, 1.0f)) ||
                           !(p->weights.bias_v = rand_floats(p, r, (size_t)E, -1.0f, 1.0f))))
        return false;

    mha_forward_args_init(&p->args);
    float *q = rand_floats(p, r, nb * (size_t)(s->L * E), -1.0f, 1.0f);
    if (q == NULL)
        return false;
    p->args.query = seq_tensor(s, q, s->L, E);
    if (s->self_attention) {
        p->args.key = p->args.query;
        p->args.value = p->args.query;
    } else {
        float *k = rand_floats(p, r, nb * (size_t)(s->S * kd), -1.0f, 1.0f);
        float *v = rand_floats(p, r, nb * (size_t)(s->S * vd), -1.0f, 1.0f);
        if (k == NULL || v == NULL)
            return false;
        p->args.key = seq_tensor(s, k, s->S, kd);
        p->args.value = seq_tensor(s, v, s->S, vd);
    }

    const size_t L = (size_t)s->L, S = (size_t)s->S, H = (size_t)s->H;
    bool attn2d = s->mask == VMASK_ATTN_BOOL_2D || s->mask == VMASK_ATTN_FLOAT_2D;
    bool attn3d = s->mask == VMASK_ATTN_BOOL_3D || s->mask == VMASK_ATTN_FLOAT_3D;
    bool both = s->mask == VMASK_BOTH_BOOL || s->mask == VMASK_BOTH_FLOAT;
    bool is_bool = s->mask == VMASK_ATTN_BOOL_2D || s->mask == VMASK_ATTN_BOOL_3D ||
                   s->mask == VMASK_KPM_BOOL || s->mask == VMASK_BOTH_BOOL;
    bool kpm = s->mask == VMASK_KPM_BOOL || s->mask == VMASK_KPM_FLOAT || both;
    mha_dtype mdt = is_bool ? MHA_DTYPE_BOOL : MHA_DTYPE_F32;
    if (attn2d || attn3d || both) {
        size_t planes = attn3d ? nb * H : 1;
        size_t n = planes * L * S;
        void *m = is_bool ? (void *)rand_bools(p, r, n) : (void *)rand_float_mask(p, r, n);
        if (m == NULL)
            return false;
        p->args.attn_mask = attn3d ? make_tensor(m, mdt, 3, (int64_t)planes, s->L, s->S)
                                   : make_tensor(m, mdt, 2, s->L, s->S, 0);
    }
    if (kpm) {
        size_t n = nb * S;
        void *m = is_bool ? (void *)rand_bools(p, r, n) : (void *)rand_float_mask(p, r, n);
        if (m == NULL)
            return false;
        p->args.key_padding_mask = s->batch > 0 ? make_tensor(m, mdt, 2, s->batch, s->S, 0)
                                                : make_tensor(m, mdt, 1, s->S, 0, 0);
    }
    if (s->kpm_tail > 0) {
        uint8_t *m = own(p, nb * S);
        if (m == NULL)
            return false;
        for (size_t b = 1; b < nb; ++b)
            for (size_t j = S - (size_t)s->kpm_tail; j < S; ++j)
                m[b * S + j] = 1;
        p->args.key_padding_mask = s->batch > 0
                                       ? make_tensor(m, MHA_DTYPE_BOOL, 2, s->batch, s->S, 0)
                                       : make_tensor(m, MHA_DTYPE_BOOL, 1, s->S, 0, 0);
    }
    p->args.causal = s->causal;
    p->args.need_weights = s->need_weights;
    p->args.average_attn_weights = s->average_weights;
    p->args.training = s->dropout > 0.0f;
    p->args.dropout_seed = s->seed;
    return true;
}

void vproblem_free(vproblem *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->owned_count; ++i)
        free(p->owned[i]);
    memset(p, 0, sizeof *p);
}

static const char *mask_name(vmask_kind k)
{
    static const char *const names[VMASK_KIND_COUNT] = {
        "none",          "attn-bool-2d", "attn-bool-3d",  "attn-float-2d", "attn-float-3d",
        "kpm-bool",      "kpm-float",    "attn+kpm-bool", "attn+kpm-float"};
    return (unsigned)k < VMASK_KIND_COUNT ? names[k] : "?";
}

void vproblem_describe(const vproblem_spec *s, char *buf, size_t size)
{
    char batch[32];
    if (s->batch == 0)
        snprintf(batch, sizeof batch, "unbatched");
    else
        snprintf(batch, sizeof batch, "N=%lld%s", (long long)s->batch,
                 s->batch_first ? " batch_first" : "");
    snprintf(buf, size,
             "%s L=%lld S=%lld E=%lld H=%lld kdim=%lld vdim=%lld%s%s%s%s mask=%s causal=%s "
             "weights=%s dropout=%.2g",
             batch, (long long)s->L, (long long)s->S, (long long)s->E, (long long)s->H,
             (long long)(s->kdim ? s->kdim : s->E), (long long)(s->vdim ? s->vdim : s->E),
             s->bias ? "" : " no-bias", s->add_bias_kv ? " bias_kv" : "",
             s->add_zero_attn ? " zero_attn" : "", s->self_attention ? " self" : "",
             s->kpm_tail > 0 ? "kpm-bool" : mask_name(s->mask),
             s->causal == MHA_CAUSAL_NONE       ? "none"
             : s->causal == MHA_CAUSAL_TOP_LEFT ? "top-left"
                                                : "bottom-right",
             !s->need_weights ? "no" : s->average_weights ? "averaged" : "per-head",
             (double)s->dropout);
}

void vresult_free(vresult *r)
{
    if (r == NULL)
        return;
    free(r->output);
    free(r->weights);
    memset(r, 0, sizeof *r);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t tensor_count(const mha_tensor *t)
{
    size_t n = 1;
    for (int32_t i = 0; i < t->rank; ++i)
        n *= (size_t)t->shape[i];
    return n;
}

mha_status vproblem_run(const vproblem *p, mha_backend *backend, int warmup, int repeats,
                        vresult *out, char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    mha_attention *att = NULL;
    mha_status st = mha_attention_create(backend, &p->config, &p->weights, &att);
    if (st != MHA_STATUS_OK) {
        snprintf(msg, msg_size, "mha_attention_create: %s", mha_last_error());
        return st;
    }
    mha_forward_args args = p->args;
    mha_tensor ot, wt;
    memset(&ot, 0, sizeof ot);
    memset(&wt, 0, sizeof wt);
    st = mha_attention_output_shapes(att, &args, &ot, &wt);
    if (st != MHA_STATUS_OK) {
        snprintf(msg, msg_size, "mha_attention_output_shapes: %s", mha_last_error());
        goto fail;
    }
    out->output_count = tensor_count(&ot);
    out->output = calloc(out->output_count ? out->output_count : 1, sizeof(float));
    if (args.need_weights) {
        out->weights_count = tensor_count(&wt);
        out->weights = calloc(out->weights_count ? out->weights_count : 1, sizeof(float));
    }
    if (out->output == NULL || (args.need_weights && out->weights == NULL)) {
        snprintf(msg, msg_size, "out of memory");
        st = MHA_STATUS_OUT_OF_MEMORY;
        goto fail;
    }
    ot.data = out->output;
    ot.dtype = MHA_DTYPE_F32;
    ot.memory = MHA_MEMORY_HOST;
    args.attn_output = ot;
    if (args.need_weights) {
        wt.data = out->weights;
        wt.dtype = MHA_DTYPE_F32;
        wt.memory = MHA_MEMORY_HOST;
        args.attn_weights = wt;
    }
    double times[64];
    if (repeats < 1)
        repeats = 1;
    if (repeats > 64)
        repeats = 64;
    for (int i = 0; i < warmup + repeats; ++i) {
        double t0 = now_ms();
        st = mha_attention_forward(att, &args);
        double t1 = now_ms();
        if (st != MHA_STATUS_OK) {
            snprintf(msg, msg_size, "mha_attention_forward: %s", mha_last_error());
            goto fail;
        }
        if (i >= warmup)
            times[i - warmup] = t1 - t0;
    }
    qsort(times, (size_t)repeats, sizeof times[0], cmp_double);
    out->median_ms = repeats % 2 ? times[repeats / 2]
                                 : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2]);
    mha_attention_destroy(att);
    return MHA_STATUS_OK;

fail:
    mha_attention_destroy(att);
    vresult_free(out);
    return st;
}

size_t vcompare(const float *a, const float *b, size_t n, double atol, double rtol,
                double *max_abs, double *max_rel)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
        double x = a[i], y = b[i];
        if (isnan(x) || isnan(y)) {
            if (!(isnan(x) && isnan(y))) {
                bad++;
                *max_abs = INFINITY;
                *max_rel = INFINITY;
            }
            continue;
        }
        if (isinf(x) || isinf(y)) {
            if (x != y) {
                bad++;
                *max_abs = INFINITY;
                *max_rel = INFINITY;
            }
            continue;
        }
        double d = fabs(x - y);
        if (d > *max_abs)
            *max_abs = d;
        if (fabs(y) > 0.0 && d / fabs(y) > *max_rel)
            *max_rel = d / fabs(y);
        if (d > atol + rtol * fabs(y))
            bad++;
    }
    return bad;
}
