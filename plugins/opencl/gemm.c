/*
 * gemm.c - the GEMM path (steps 4-7): scaled scores Q K^T per head as a
 * CLBlast strided-batched GEMM, keys-major; a softmax kernel over them (with
 * the weights the caller asked for); P V as a second GEMM; the heads merged.
 * The softmax and weights step is the absorbed path's too.
 */
#include "call.h"

/* The smallest power of two >= n = S', within the device's limit: the local
 * size of mha_softmax (one group per row). */
static size_t softmax_local_size(const ocl_attention *att, int64_t n)
{
    size_t wg = 1;
    while (wg < (size_t)n && wg * 2 <= att->softmax_wg_max)
        wg *= 2;
    return wg;
}

/* The softmax kernel over att->scores (keys-major, (N*H, S', L)) with masks
 * and dropout, then the weights into *c->wout when it is not NULL. Without
 * weights to return, the work-item kernels leave P unnormalised (one pass
 * less over it): *deferred then tells that att->row_scale holds each row's
 * 1/sum for whoever consumes P. */
mha_status ocl_softmax_and_weights(ocl_call *c, bool *deferred)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const ocl_view *wout = c->wout;
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len;
    const size_t Sp = (size_t)pr->src_len_total, B = N * (size_t)pr->num_heads;
    mha_status st;
    const ocl_path_rules rules = ocl_call_rules(c);
    const ocl_softmax kind = ocl_softmax_choose(&rules, pr);
    const bool group = kind == OCL_SOFTMAX_GROUP;
    *deferred = !group && !wout;
    const size_t local = group ? softmax_local_size(att, pr->src_len_total) : 0;
    /* items: one work-item per OCL_SOFTMAX_ITEM_ROWS rows of a plane;
     * columns: one per row; group: a work-group per row */
    const size_t global = kind == OCL_SOFTMAX_ITEMS
                              ? B * ((L + OCL_SOFTMAX_ITEM_ROWS - 1) / OCL_SOFTMAX_ITEM_ROWS)
                          : kind == OCL_SOFTMAX_COLUMNS ? B * L
                                                        : B * L * local;
    ocl_args a = ocl_args_of(c, kind == OCL_SOFTMAX_ITEMS     ? OCL_K_SOFTMAX_ITEMS
                                : kind == OCL_SOFTMAX_COLUMNS ? OCL_K_SOFTMAX_COLUMNS
                                                              : OCL_K_SOFTMAX);
    arg_mem(&a, att->scores.mem);
    arg_int(&a, pr->num_heads);
    arg_int(&a, pr->tgt_len);
    arg_int(&a, pr->src_len);
    arg_int(&a, pr->src_len_total);
    arg_float(&a, 1.0f); /* the scores come scaled */
    ocl_arg_masks(&a, c);
    if (!group) {
        if (*deferred && (st = ocl_reserve(c, &att->row_scale, B * L * sizeof(float),
                                           "row scale")) != MHA_STATUS_OK)
            return st;
        arg_int(&a, (int64_t)B);
        arg_mem(&a, *deferred ? att->row_scale.mem : att->scores.mem);
        arg_int(&a, *deferred);
    } else {
        arg(&a, local * sizeof(cl_float), NULL);
    }
    if ((st = ocl_launch(c, &a, global, local)) != MHA_STATUS_OK ||
        (!wout && (st = ocl_mark(c, "softmax", false)) != MHA_STATUS_OK))
        return st;

    /* weights, query-major: averaged over the heads, or per head (timed with
     * the softmax: a stats record holds at most MHA_MAX_STAGES stages) */
    if (wout) {
        const bool average = c->args->average_attn_weights;
        const size_t planes = average ? N : B; /* output planes (L, S') */
        ocl_args w = ocl_args_of(c, OCL_K_WEIGHTS_OUT);
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
        if ((st = ocl_launch(c, &w, tiles, 0)) != MHA_STATUS_OK ||
            (st = ocl_mark(c, stage, false)) != MHA_STATUS_OK)
            return st;
    }
    return MHA_STATUS_OK;
}

/* The L x S' matrix in att->scores; the weights go to *c->wout when it is
 * not NULL; the merged heads end in att->ocat. */
mha_status ocl_gemm_attention(ocl_call *c)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len;
    const size_t Sp = (size_t)pr->src_len_total, E = (size_t)pr->embed_dim;
    const size_t D = (size_t)pr->head_dim, R = L * N, B = N * (size_t)pr->num_heads;
    bool deferred = false; /* P left unnormalised (ocl_softmax_and_weights) */
    mha_status st;

    /* 4. scaled scores per head, keys-major: column-major (L x S') =
     * scale (Q^T)^T K^T, element (l, j) at j*L + l (see cl/attention.cl). The
     * GEMM applies the scale as (q.k) * scale, as the softmax kernels did. */
    if ((st = ocl_reserve(c, &att->scores, B * L * Sp * sizeof(float), "scores")) !=
            MHA_STATUS_OK ||
        (st = ocl_gemm_batched(c, CLBlastTransposeNo, CLBlastTransposeYes, L, Sp, D, pr->scale,
                               att->q_h.mem, L, D * L, att->k_h.mem, Sp, D * Sp, att->scores.mem,
                               L, Sp * L, B, "CLBlastSgemmStridedBatched(scores)")) !=
            MHA_STATUS_OK ||
        (st = ocl_mark(c, "scores", true)) != MHA_STATUS_OK)
        return st;

    /* 5-6. softmax, and the weights */
    if ((st = ocl_softmax_and_weights(c, &deferred)) != MHA_STATUS_OK)
        return st;

    /* 7. O = P V per head, packed (B, L, D): column-major (D x L) = V^T P^T,
     * P^T being the keys-major scores; then the heads side by side in rows
     * (l, n) for the output projection */
    if ((st = ocl_reserve(c, &att->o_h, R * E * sizeof(float), "head outputs")) !=
            MHA_STATUS_OK ||
        (st = ocl_gemm_batched(c, CLBlastTransposeNo, CLBlastTransposeYes, D, L, Sp, 1.0f,
                               att->v_h.mem, D, Sp * D, att->scores.mem, L, Sp * L, att->o_h.mem,
                               D, L * D, B, "CLBlastSgemmStridedBatched(P V)")) !=
            MHA_STATUS_OK ||
        (st = ocl_mark(c, "pv", true)) != MHA_STATUS_OK)
        return st;
    return ocl_merge_heads(c, deferred);
}
