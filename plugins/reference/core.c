/*
 * core.c - the attention core in plain loops and double arithmetic: the
 * oracle for the other plugins' cores. Semantics: include/mha/core.h (ONNX
 * Attention as onnx main computes it); the host has validated the problem
 * and hands every tensor as a rank-4 strided view.
 *
 * Per query row (b, h, i), with offset = the causal/window offset of batch b:
 *   score_j  = scale * q . key_j, then c * tanh(score_j / c) when softcap c > 0
 *   bias_j   = the float mask value, or -inf where the bool mask, the mask's
 *              missing columns, causal (j > i + offset), the window or
 *              nonpad_kv_seqlen exclude key j; else 0
 *   p        = softmax(score + bias), or all zeros when every bias_j is -inf
 *   y        = sum_j p_j value_j
 * key_j / value_j are past rows for j < P and k / v rows after.
 */
#include <math.h>
#include <string.h>

#include "reference.h"

/* Element (a, b, c, d) of a rank-4 view. */
static int64_t at4(const mha_view *view, int64_t a, int64_t b, int64_t c, int64_t d)
{
    return a * view->strides[0] + b * view->strides[1] + c * view->strides[2] +
           d * view->strides[3];
}

/* The key (or value) row j of KV head kh in batch b: from the past for
 * j < P, else from the new rows. */
static double kv_element(const mha_core_problem *pr, const mha_view *past, const mha_view *fresh,
                         int64_t b, int64_t kh, int64_t j, int64_t d)
{
    if (j < pr->past_len)
        return mha_ref_load(past->data, at4(past, b, kh, j, d), pr->dtype);
    return mha_ref_load(fresh->data, at4(fresh, b, kh, j - pr->past_len, d), pr->dtype);
}

/* The causal/window offset of batch b, and its number of valid keys. */
static void batch_limits(const mha_core_problem *pr, int64_t b, int64_t *offset, int64_t *valid)
{
    *offset = pr->past_len;
    *valid = pr->total_len;
    if (pr->nonpad.data) {
        int64_t nonpad = (int64_t)mha_ref_load(pr->nonpad.data, b * pr->nonpad.strides[0],
                                               pr->nonpad.dtype);
        *valid = nonpad;
        if (pr->offset_from_nonpad)
            *offset = nonpad - pr->q_len;
    }
}

/* The additive bias of key j for query (b, h, i): 0, the float mask's value,
 * or -inf where the key is excluded. */
static double bias_of(const mha_core_problem *pr, int64_t b, int64_t h, int64_t i, int64_t j,
                      int64_t offset, int64_t valid)
{
    double bias = 0.0;
    if (pr->mask.data) {
        if (j >= pr->mask_cols)
            return -INFINITY;
        double m = mha_ref_load(pr->mask.data, at4(&pr->mask, b, h, i, j), pr->mask.dtype);
        if (pr->mask.dtype == MHA_DTYPE_BOOL) {
            if ((m != 0.0) != pr->mask_true_attends)
                return -INFINITY;
        } else {
            bias = m;
        }
    }
    if (pr->is_causal && j > i + offset)
        return -INFINITY;
    int64_t distance = i + offset - j; /* > 0: key j is before the query */
    if (pr->left_window >= 0 && distance > pr->left_window)
        return -INFINITY;
    if (pr->right_window >= 0 && -distance > pr->right_window)
        return -INFINITY;
    if (j >= valid)
        return -INFINITY;
    return bias;
}

static void copy_rows(const mha_core_problem *pr, const mha_view *from, int64_t from_row,
                      const mha_view *to, int64_t to_row, int64_t rows, int64_t width)
{
    for (int64_t b = 0; b < pr->batch; ++b)
        for (int64_t h = 0; h < pr->kv_heads; ++h)
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t d = 0; d < width; ++d)
                    mha_ref_store(to->data, at4(to, b, h, to_row + r, d), pr->dtype,
                                  mha_ref_load(from->data, at4(from, b, h, from_row + r, d),
                                               pr->dtype));
}

/* present = past followed by the new rows; with an in-place cache the past
 * rows are already there. */
static void write_present(const mha_core_problem *pr)
{
    if (!pr->present_key.data)
        return;
    if (!pr->present_aliases_past && pr->past_len > 0) {
        copy_rows(pr, &pr->past_key, 0, &pr->present_key, 0, pr->past_len, pr->head_dim);
        copy_rows(pr, &pr->past_value, 0, &pr->present_value, 0, pr->past_len, pr->v_head_dim);
    }
    copy_rows(pr, &pr->k, 0, &pr->present_key, pr->past_len, pr->kv_len, pr->head_dim);
    copy_rows(pr, &pr->v, 0, &pr->present_value, pr->past_len, pr->kv_len, pr->v_head_dim);
}

mha_status mha_ref_core_forward(const mha_host_services *host, const mha_core_problem *pr)
{
    const int64_t T = pr->total_len;
    if ((uint64_t)T > SIZE_MAX / (3 * sizeof(double)))
        return host->set_error(MHA_STATUS_SIZE_OVERFLOW, "reference: %lld keys per row",
                               (long long)T);
    double *scores = host->alloc((size_t)T * 3 * sizeof(double));
    if (!scores)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY,
                               "reference: out of memory for a row of %lld keys", (long long)T);
    double *biased = scores + T, *probabilities = biased + T;
    const double c = pr->softcap;

    for (int64_t b = 0; b < pr->batch; ++b) {
        int64_t offset, valid;
        batch_limits(pr, b, &offset, &valid);
        for (int64_t h = 0; h < pr->q_heads; ++h) {
            const int64_t kh = h / pr->group;
            for (int64_t i = 0; i < pr->q_len; ++i) {
                int all_masked = 1;
                double max = -INFINITY;
                for (int64_t j = 0; j < T; ++j) {
                    double dot = 0.0;
                    for (int64_t d = 0; d < pr->head_dim; ++d)
                        dot += mha_ref_load(pr->q.data, at4(&pr->q, b, h, i, d), pr->dtype) *
                               kv_element(pr, &pr->past_key, &pr->k, b, kh, j, d);
                    double score = pr->scale * dot;
                    if (c > 0.0)
                        score = c * tanh(score / c);
                    double bias = bias_of(pr, b, h, i, j, offset, valid);
                    all_masked &= bias == -INFINITY;
                    scores[j] = score;
                    biased[j] = score + bias;
                    if (biased[j] > max)
                        max = biased[j];
                }
                /* softmax; a row with no key left (by its bias, or whose
                 * scores are all -inf) is zeros, never NaN */
                double sum = 0.0;
                for (int64_t j = 0; j < T; ++j) {
                    probabilities[j] = all_masked || max == -INFINITY ? 0.0 : exp(biased[j] - max);
                    sum += probabilities[j];
                }
                for (int64_t j = 0; j < T; ++j)
                    if (sum != 0.0)
                        probabilities[j] /= sum;
                for (int64_t e = 0; e < pr->v_head_dim; ++e) {
                    double acc = 0.0;
                    for (int64_t j = 0; j < T; ++j) /* 0 * inf is NaN, as in a matmul */
                        acc += probabilities[j] *
                               kv_element(pr, &pr->past_value, &pr->v, b, kh, j, e);
                    mha_ref_store(pr->y.data, at4(&pr->y, b, h, i, e), pr->dtype, acc);
                }
                if (pr->qk.data) {
                    const double *row = pr->qk_output_mode == MHA_QK_OUTPUT_BIASED    ? biased
                                        : pr->qk_output_mode == MHA_QK_OUTPUT_SOFTMAX ? probabilities
                                                                                      : scores;
                    for (int64_t j = 0; j < T; ++j)
                        mha_ref_store(pr->qk.data, at4(&pr->qk, b, h, i, j), pr->dtype, row[j]);
                }
            }
        }
    }
    host->free(scores);
    write_present(pr);
    return MHA_STATUS_OK;
}
