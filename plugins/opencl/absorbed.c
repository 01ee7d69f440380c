/*
 * absorbed.c - the absorbed path (steps 3-7, cl/absorbed.cl): the queries
 * through W_k, scores against the caller's key rows as given, the GEMM
 * path's softmax kernel, the weighted sums of the caller's value rows as
 * given, through W_v into the merged heads in att->ocat. The L x S matrix is
 * in att->scores, as on the GEMM path; K and V are never projected.
 */
#include "call.h"

mha_status ocl_absorbed_attention(ocl_call *c)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const ocl_view *xk = &c->xk, *xv = &c->xv;
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len, S = (size_t)pr->src_len;
    const size_t E = (size_t)pr->embed_dim, kd = (size_t)pr->kdim, vd = (size_t)pr->vdim;
    const size_t rows = N * (size_t)pr->num_heads * L; /* (n, h, l) */
    const ocl_row_steps q_step = ocl_row_steps_of(pr, pr->tgt_len);
    const ocl_row_steps x_step = ocl_row_steps_of(pr, pr->src_len);
    bool deferred = false;
    mha_status st;

    /* 3-4. a = scale W_k,h^T q (+ c = scale q.b_k) in q_h, then the scores */
    {
        ocl_args a = ocl_args_of(c, OCL_K_ABSORB_QUERIES);
        if ((st = ocl_reserve(c, &att->q_h, rows * (kd + 1) * sizeof(float),
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
        if ((st = ocl_launch(c, &a, rows * (kd + 1), 0)) != MHA_STATUS_OK)
            return st;
    }
    {
        ocl_args a = ocl_args_of(c, OCL_K_ABSORBED_SCORES);
        if ((st = ocl_reserve(c, &att->scores, rows * S * sizeof(float), "scores")) !=
            MHA_STATUS_OK)
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
        if ((st = ocl_launch(c, &a, N * keys, 1)) != MHA_STATUS_OK ||
            (st = ocl_mark(c, "scores", false)) != MHA_STATUS_OK)
            return st;
    }

    /* 5-6. softmax, and the weights */
    if ((st = ocl_softmax_and_weights(c, &deferred)) != MHA_STATUS_OK)
        return st;

    /* 7. u = P x_v, with the row sums of P as a last column, in o_h; then
     * W_v u + b_v sum(P) */
    {
        ocl_args a = ocl_args_of(c, OCL_K_ABSORBED_VALUES);
        if ((st = ocl_reserve(c, &att->o_h, rows * (vd + 1) * sizeof(float),
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
        const size_t blocks = (vd + OCL_ABSORBED_VALUE_COLUMNS) / OCL_ABSORBED_VALUE_COLUMNS;
        if ((st = ocl_launch(c, &a, N * blocks, 1)) != MHA_STATUS_OK) /* vd + 1 columns */
            return st;
    }
    {
        ocl_args a = ocl_args_of(c, OCL_K_ABSORBED_OUTPUT);
        if ((st = ocl_reserve(c, &att->ocat, L * N * E * sizeof(float), "merged heads")) !=
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
        if ((st = ocl_launch(c, &a, L * N * E, 0)) != MHA_STATUS_OK)
            return st;
    }
    return ocl_mark(c, "pv", false);
}
