/*
 * forward.c - the forward pass, step by step as docs/semantics.md numbers it:
 * (1) projections, (2) bias_k/bias_v and zero rows, (3) scores, (4) masks,
 * (5) softmax, (6) dropout, (7) weights times values and the output
 * projection, (8) the returned weights. Everything accumulates in double.
 */
#include <math.h>
#include <stdint.h>

#include "mha/philox.h"
#include "reference.h"

/* Row `t` of batch `n` of a (len, N, width) tensor, or (N, len, width) when
 * batch_first; unbatched tensors (len, width) have N = 1 and n = 0. */
static const float *input_row(const mha_tensor *tensor, const mha_problem *p, int64_t n,
                              int64_t t, int64_t len, int64_t width)
{
    int64_t row = p->batch_first ? n * len + t : t * p->batch + n;
    return (const float *)tensor->data + row * width;
}

static float *output_row(const mha_tensor *tensor, const mha_problem *p, int64_t n, int64_t t,
                         int64_t len, int64_t width)
{
    int64_t row = p->batch_first ? n * len + t : t * p->batch + n;
    return (float *)tensor->data + row * width;
}

/* y[e] = b[e] + sum_c W[e, c] x[c], for W (out_dim, in_dim); b may be NULL. */
static void project(const float *x, const float *weight, const float *bias, int64_t in_dim,
                    int64_t out_dim, double *y)
{
    for (int64_t e = 0; e < out_dim; ++e) {
        double sum = bias != NULL ? (double)bias[e] : 0.0;
        for (int64_t c = 0; c < in_dim; ++c)
            sum += (double)weight[e * in_dim + c] * (double)x[c];
        y[e] = sum;
    }
}

/* What a mask element adds to a score: bool true -> -inf, false -> 0; a
 * float is added as it is (NaN included, as PyTorch does). */
static double mask_term(const mha_tensor *mask, int64_t index)
{
    if (mask->dtype == MHA_DTYPE_BOOL)
        return ((const uint8_t *)mask->data)[index] != 0 ? -INFINITY : 0.0;
    return (double)((const float *)mask->data)[index];
}

/* Sum of every mask for score (n, h, l, j), j < S. Columns j >= S (bias_k and
 * the zero row) are never masked, so the caller does not ask for them. */
static double mask_sum(const mha_problem *p, const mha_forward_args *args, int64_t n, int64_t h,
                       int64_t l, int64_t j)
{
    const int64_t L = p->tgt_len, S = p->src_len;
    double sum = 0.0;
    if (args->attn_mask.data != NULL) {
        /* 2-D (L, S) applies to every (n, h); 3-D (N*H, L, S) is per n*H + h. */
        int64_t plane = p->attn_mask_3d ? n * p->num_heads + h : 0;
        sum += mask_term(&args->attn_mask, (plane * L + l) * S + j);
    }
    if (args->key_padding_mask.data != NULL)
        sum += mask_term(&args->key_padding_mask, n * S + j);
    /* Causal masks are real masks, added like the others. Bottom-right aligns
     * the last query with the last key (S - L may be negative). */
    if (args->causal == MHA_CAUSAL_TOP_LEFT && j > l)
        sum += -INFINITY;
    if (args->causal == MHA_CAUSAL_BOTTOM_RIGHT && j > l + (S - L))
        sum += -INFINITY;
    return sum;
}

/* In-place max-subtracted softmax of s[0..count). A row that is entirely -inf
 * (every key masked) becomes all zeros instead of NaN. NaNs propagate. */
static void softmax(double *s, int64_t count)
{
    bool all_masked = true;
    double max = -INFINITY;
    for (int64_t j = 0; j < count; ++j) {
        if (s[j] != -INFINITY)
            all_masked = false;
        if (s[j] > max)
            max = s[j];
    }
    if (all_masked) {
        for (int64_t j = 0; j < count; ++j)
            s[j] = 0.0;
        return;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < count; ++j) {
        s[j] = exp(s[j] - max);
        sum += s[j];
    }
    for (int64_t j = 0; j < count; ++j)
        s[j] /= sum;
}

/* Scratch space for one batch entry, in doubles. */
typedef struct workspace {
    double *q;       /* (L, E) projected queries */
    double *k;       /* (S', E) projected keys, then bias_k, then zeros */
    double *v;       /* (S', E) likewise for values */
    double *w;       /* (S') one row of attention weights */
    double *context; /* (L, E) heads' outputs, concatenated */
    double *average; /* (L, S') weights summed over heads */
} workspace;

static mha_status workspace_alloc(const mha_host_services *host, const mha_problem *p,
                                  double **block, workspace *ws)
{
    const size_t L = (size_t)p->tgt_len, Sp = (size_t)p->src_len_total;
    const size_t E = (size_t)p->embed_dim;
    /* Each product fits in size_t (the host checked); their sum in bytes may not. */
    size_t parts[6] = {L * E, Sp * E, Sp * E, Sp, L * E, L * Sp};
    size_t total = 0;
    for (int i = 0; i < 6; ++i) {
        if (parts[i] > SIZE_MAX / sizeof(double) - total)
            return host->set_error(MHA_STATUS_SIZE_OVERFLOW,
                                   "reference: workspace for L=%lld, S'=%lld, E=%lld overflows",
                                   (long long)p->tgt_len, (long long)p->src_len_total,
                                   (long long)p->embed_dim);
        total += parts[i];
    }
    *block = host->alloc(total * sizeof(double));
    if (*block == NULL)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY,
                               "reference: out of memory allocating a %zu-byte workspace",
                               total * sizeof(double));
    double *next = *block;
    double **slots[6] = {&ws->q, &ws->k, &ws->v, &ws->w, &ws->context, &ws->average};
    for (int i = 0; i < 6; ++i) {
        *slots[i] = next;
        next += parts[i];
    }
    return MHA_STATUS_OK;
}

/* Steps 1 and 2 for batch entry n: q, k and v, with the extra key/value rows. */
static void project_inputs(const mha_ref_attention *att, const mha_problem *p,
                           const mha_forward_args *args, int64_t n, workspace *ws)
{
    const int64_t L = p->tgt_len, S = p->src_len, E = p->embed_dim;
    for (int64_t l = 0; l < L; ++l)
        project(input_row(&args->query, p, n, l, L, E), att->q_weight, att->q_bias, E, E,
                ws->q + l * E);
    for (int64_t s = 0; s < S; ++s) {
        project(input_row(&args->key, p, n, s, S, p->kdim), att->k_weight, att->k_bias, p->kdim,
                E, ws->k + s * E);
        project(input_row(&args->value, p, n, s, S, p->vdim), att->v_weight, att->v_bias,
                p->vdim, E, ws->v + s * E);
    }
    int64_t row = S;
    if (att->add_bias_kv) {
        for (int64_t e = 0; e < E; ++e) {
            ws->k[row * E + e] = (double)att->bias_k[e];
            ws->v[row * E + e] = (double)att->bias_v[e];
        }
        ++row;
    }
    if (att->add_zero_attn) {
        for (int64_t e = 0; e < E; ++e) {
            ws->k[row * E + e] = 0.0;
            ws->v[row * E + e] = 0.0;
        }
    }
}

/* Steps 3 to 8 for one (n, h, l): the weights row, written to the outputs and
 * multiplied into the context row of that head. */
static void attend_row(const mha_problem *p, const mha_forward_args *args, int64_t n, int64_t h,
                       int64_t l, workspace *ws)
{
    const int64_t L = p->tgt_len, S = p->src_len, Sp = p->src_len_total;
    const int64_t E = p->embed_dim, H = p->num_heads, D = p->head_dim;
    const double *q = ws->q + l * E + h * D;
    double *w = ws->w;

    for (int64_t j = 0; j < Sp; ++j) {
        const double *k = ws->k + j * E + h * D;
        double dot = 0.0;
        for (int64_t d = 0; d < D; ++d)
            dot += q[d] * k[d];
        w[j] = dot * (double)p->scale;
        if (j < S)
            w[j] += mask_sum(p, args, n, h, l, j);
    }
    softmax(w, Sp);

    if (p->apply_dropout) {
        const double keep_scale = 1.0 / (1.0 - (double)p->dropout);
        for (int64_t j = 0; j < Sp; ++j) {
            uint64_t idx = (uint64_t)(((n * H + h) * L + l) * Sp + j);
            w[j] = mha_dropout_keep(args->dropout_seed, idx, p->dropout) ? w[j] * keep_scale : 0.0;
        }
    }

    if (args->need_weights && args->attn_weights.data != NULL) {
        if (args->average_attn_weights) {
            for (int64_t j = 0; j < Sp; ++j)
                ws->average[l * Sp + j] += w[j];
        } else {
            float *out = (float *)args->attn_weights.data + ((n * H + h) * L + l) * Sp;
            for (int64_t j = 0; j < Sp; ++j)
                out[j] = (float)w[j];
        }
    }

    double *o = ws->context + l * E + h * D;
    for (int64_t d = 0; d < D; ++d) {
        double sum = 0.0;
        for (int64_t j = 0; j < Sp; ++j)
            sum += w[j] * ws->v[j * E + h * D + d];
        o[d] = sum;
    }
}

mha_status mha_ref_attention_forward(mha_ref_attention *att, const mha_problem *p,
                                     const mha_forward_args *args)
{
    double *block = NULL;
    workspace ws;
    mha_status status = workspace_alloc(att->host, p, &block, &ws);
    if (status != MHA_STATUS_OK)
        return status;

    const int64_t N = p->batch, L = p->tgt_len, Sp = p->src_len_total;
    const int64_t E = p->embed_dim, H = p->num_heads;
    const bool averaged = args->need_weights && args->average_attn_weights &&
                          args->attn_weights.data != NULL;

    for (int64_t n = 0; n < N; ++n) {
        project_inputs(att, p, args, n, &ws);
        for (int64_t i = 0; i < L * Sp; ++i)
            ws.average[i] = 0.0;
        for (int64_t h = 0; h < H; ++h)
            for (int64_t l = 0; l < L; ++l)
                attend_row(p, args, n, h, l, &ws);

        /* Output projection of the concatenated heads. */
        for (int64_t l = 0; l < L; ++l) {
            float *out = output_row(&args->attn_output, p, n, l, L, E);
            for (int64_t e = 0; e < E; ++e) {
                double sum = att->out_bias != NULL ? (double)att->out_bias[e] : 0.0;
                for (int64_t c = 0; c < E; ++c)
                    sum += (double)att->out_weight[e * E + c] * ws.context[l * E + c];
                out[e] = (float)sum;
            }
        }

        if (averaged) {
            float *out = (float *)args->attn_weights.data + n * L * Sp;
            for (int64_t i = 0; i < L * Sp; ++i)
                out[i] = (float)(ws.average[i] / (double)H);
        }
    }

    att->host->free(block);
    return MHA_STATUS_OK;
}
