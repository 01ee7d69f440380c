/* heads.c - the projections split into per-head blocks (mha_split_heads)
 * and the head outputs merged back into rows (mha_merge_heads). */
#include "call.h"

ocl_row_steps ocl_row_steps_of(const mha_problem *pr, int64_t rows)
{
    const bool bf = pr->batched && pr->batch_first;
    return (ocl_row_steps){bf ? 1u : (uint64_t)pr->batch, bf ? (uint64_t)rows : 1u};
}

mha_status ocl_split_heads(ocl_call *c, cl_mem src, int64_t src_rows, int64_t total_rows,
                           size_t bias_off, size_t extra_off, bool has_extra, bool transposed,
                           ocl_buffer *dst, const char *what)
{
    const ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const int64_t N = pr->batch, H = pr->num_heads, D = pr->head_dim;
    const ocl_row_steps step = ocl_row_steps_of(pr, src_rows);
    ocl_args a = ocl_args_of(c, OCL_K_SPLIT_HEADS);
    size_t bytes = (size_t)N * (size_t)H * (size_t)total_rows * (size_t)D * sizeof(float);
    mha_status st = ocl_reserve_scratch(c, dst, bytes, what);
    if (st != MHA_STATUS_OK)
        return st;
    arg_mem(&a, src);
    arg_ulong(&a, 0);
    arg_ulong(&a, (uint64_t)att->E);
    arg_ulong(&a, step.t);
    arg_ulong(&a, step.n);
    arg_mem(&a, att->biases.mem);
    arg_ulong(&a, bias_off);
    arg_int(&a, att->bias);
    arg_mem(&a, att->biases.mem);
    arg_ulong(&a, extra_off);
    arg_int(&a, has_extra);
    arg_mem(&a, dst->mem);
    arg_int(&a, N);
    arg_int(&a, H);
    arg_int(&a, total_rows);
    arg_int(&a, src_rows);
    arg_int(&a, D);
    arg_int(&a, transposed);
    /* transposed: a work-item per 8 rows (cl/attention.cl) */
    const int64_t items = transposed ? (total_rows + 7) / 8 : total_rows;
    return ocl_launch(c, &a, (size_t)(N * H * items), 0);
}

mha_status ocl_merge_heads(ocl_call *c, bool deferred)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const size_t R = (size_t)pr->tgt_len * (size_t)pr->batch, E = (size_t)pr->embed_dim;
    ocl_args a = ocl_args_of(c, OCL_K_MERGE_HEADS);
    mha_status st = ocl_reserve(c, &att->ocat, R * E * sizeof(float), "merged heads");
    if (st != MHA_STATUS_OK)
        return st;
    arg_mem(&a, att->o_h.mem);
    arg_mem(&a, att->ocat.mem);
    arg_int(&a, pr->batch);
    arg_int(&a, pr->num_heads);
    arg_int(&a, pr->tgt_len);
    arg_int(&a, pr->head_dim);
    arg_mem(&a, deferred ? att->row_scale.mem : att->o_h.mem);
    arg_int(&a, deferred);
    if ((st = ocl_launch(c, &a, R * E, 0)) != MHA_STATUS_OK)
        return st;
    return ocl_mark(c, "merge", false);
}
