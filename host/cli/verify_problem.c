/*
 * verify_problem.c - the problems of `mha verify` as test-kit cases, and
 * timed forwards.
 */
#define _POSIX_C_SOURCE 200809L

#include "verify_problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool vproblem_make(tk_case *c, const vproblem_spec *s, uint32_t data_seed)
{
    memset(c, 0, sizeof *c);
    c->E = s->E;
    c->H = s->H;
    c->kdim = s->kdim ? s->kdim : s->E;
    c->vdim = s->vdim ? s->vdim : s->E;
    c->batched = s->batch > 0;
    c->N = s->batch > 0 ? s->batch : 1;
    c->batch_first = s->batch_first;
    c->L = s->L;
    c->S = s->self_attention ? s->L : s->S;
    c->bias = s->bias;
    c->add_bias_kv = s->add_bias_kv;
    c->add_zero_attn = s->add_zero_attn;
    c->self_attention = s->self_attention;
    c->in_proj = c->kdim == c->E && c->vdim == c->E ? TK_IN_PROJ_PACKED : TK_IN_PROJ_SEPARATE;
    const vmask_kind m = s->mask;
    const bool is_bool = m == VMASK_ATTN_BOOL_2D || m == VMASK_ATTN_BOOL_3D ||
                         m == VMASK_KPM_BOOL || m == VMASK_BOTH_BOOL;
    const tk_mask kind = is_bool ? TK_MASK_BOOL : TK_MASK_FLOAT;
    if (m == VMASK_ATTN_BOOL_2D || m == VMASK_ATTN_BOOL_3D || m == VMASK_ATTN_FLOAT_2D ||
        m == VMASK_ATTN_FLOAT_3D || m == VMASK_BOTH_BOOL || m == VMASK_BOTH_FLOAT) {
        c->attn_mask = kind;
        c->attn_mask_3d = m == VMASK_ATTN_BOOL_3D || m == VMASK_ATTN_FLOAT_3D;
    }
    if (m == VMASK_KPM_BOOL || m == VMASK_KPM_FLOAT || m == VMASK_BOTH_BOOL ||
        m == VMASK_BOTH_FLOAT)
        c->kpm = kind;
    if (s->kpm_tail > 0) { /* overrides the mask kind's key_padding_mask */
        c->kpm = TK_MASK_NONE;
        c->kpm_tail = s->kpm_tail;
    }
    c->causal = s->causal;
    c->need_weights = s->need_weights;
    c->average = s->average_weights;
    c->training = s->dropout > 0.0f;
    c->dropout = s->dropout;
    c->seed = s->seed;
    return tk_case_fill(c, data_seed);
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

mha_status vproblem_run(const tk_case *c, mha_backend *backend, int warmup, int repeats,
                        vresult *out, char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    mha_attention *att = NULL;
    mha_status st = tk_case_attention(c, backend, &att);
    if (st != MHA_STATUS_OK) {
        snprintf(msg, msg_size, "mha_attention_create: %s", mha_last_error());
        return st;
    }
    out->output_count = c->out_count;
    out->output = calloc(out->output_count ? out->output_count : 1, sizeof(float));
    if (c->need_weights) {
        out->weights_count = c->weights_count;
        out->weights = calloc(out->weights_count ? out->weights_count : 1, sizeof(float));
    }
    if (out->output == NULL || (c->need_weights && out->weights == NULL)) {
        snprintf(msg, msg_size, "out of memory");
        st = MHA_STATUS_OUT_OF_MEMORY;
        goto fail;
    }
    mha_forward_args args;
    st = tk_case_args(c, att, out->output, out->weights, NULL, &args);
    if (st != MHA_STATUS_OK) {
        snprintf(msg, msg_size, "mha_attention_output_shapes: %s", mha_last_error());
        goto fail;
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
