/* fused.c - the fused path (steps 4-7 in one kernel, cl/fused.cl): scores,
 * masks, softmax, dropout and P V without the L x S' matrix, writing the
 * merged heads (rows (l, n)) for the output projection;
 * mha_attention_fused_weights also writes the weights. */
#include "call.h"

mha_status ocl_fused_attention(ocl_call *c, const ocl_kv *kv)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const ocl_view *wout = c->wout;
    const size_t R = (size_t)pr->tgt_len * (size_t)pr->batch, E = (size_t)pr->embed_dim;
    const size_t B = (size_t)pr->batch * (size_t)pr->num_heads, L = (size_t)pr->tgt_len;
    const bool average = c->args->average_attn_weights;
    mha_status st;
    ocl_args a = ocl_args_of(c, wout ? OCL_K_FUSED_WEIGHTS : OCL_K_FUSED);
    if ((st = ocl_reserve(c, &att->ocat, R * E * sizeof(float), "merged heads")) !=
        MHA_STATUS_OK)
        return st;
    arg_mem(&a, att->q_h.mem);
    arg_mem(&a, kv->k);
    arg_mem(&a, kv->v);
    arg_ulong(&a, kv->key_stride);
    arg_ulong(&a, kv->batch_stride);
    arg_ulong(&a, kv->head_stride);
    arg_mem(&a, att->biases.mem);
    arg_ulong(&a, att->off_bin + E);
    arg_ulong(&a, att->off_bin + 2 * E);
    arg_int(&a, kv->bias);
    arg_mem(&a, att->ocat.mem);
    if (wout) {
        arg_mem(&a, wout->mem);
        arg_ulong(&a, wout->offset / sizeof(float));
        arg_int(&a, average ? pr->num_heads : 1); /* heads per output plane */
    }
    arg_int(&a, pr->batch);
    arg_int(&a, pr->num_heads);
    arg_int(&a, pr->tgt_len);
    arg_int(&a, pr->src_len);
    arg_int(&a, pr->src_len_total);
    arg_int(&a, pr->head_dim);
    arg_float(&a, pr->scale);
    ocl_arg_masks(&a, c);
    /* a work-item per OCL_FUSED_ROWS queries of a head (of all heads of a
     * batch entry when averaging weights), alone in its work-group: PoCL
     * gives each work-item of a group its own copy of the kernel's private
     * arrays, and large groups overflowed its stack */
    const size_t planes = wout && average ? (size_t)pr->batch : B;
    const size_t items = planes * ((L + OCL_FUSED_ROWS - 1) / OCL_FUSED_ROWS);
    if ((st = ocl_launch(c, &a, items, 1)) != MHA_STATUS_OK)
        return st;
    return ocl_mark(c, !wout ? "attention" : average ? "attention_average" : "attention_weights",
                    false);
}
