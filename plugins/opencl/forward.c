/*
 * forward.c - the step sequence of one attention call, all on the device:
 *
 *   inputs             host tensors are uploaded into reused scratch buffers;
 *                      cl_mem tensors (interop) are used in place (views.c)
 *   projections        mha_transpose: each distinct input X transposed, padded
 *                      to CLBlast's tiles; then a CLBlast SGEMM per projection
 *                      with W^T as uploaded, so that CLBlast copies nothing
 *                      (layout.c; the query's alone on the absorbed path)
 *   then one of three paths for the attention products (path.c):
 *   absorbed           (absorbed.c) no K or V: the queries through W_k,
 *                      scores against the key rows as given, the softmax
 *                      below, the weighted sum of the value rows as given
 *                      through W_v into rows (l, n); few queries, CPUs
 *   or from the projections:
 *   mha_split_heads    bias, per-head Q^T (D, L), K^T (D, S') or K (S', D),
 *                      V (S', D), bias_kv / zero_attn rows (heads.c); the
 *                      fused kernels read K and V in place when there are no
 *                      such rows
 *   fused              (fused.c) mha_attention_fused(_weights): scores,
 *                      masks, softmax, dropout and P V with no L x S' matrix,
 *                      the heads side by side in rows (l, n), and the weights
 *                      when asked for; CPUs
 *   or flash           (flash.c) mha_flash_DM: a work-group per block of
 *                      queries of a head, key/value tiles in local memory,
 *                      online softmax, masks, dropout, P V; split-K with
 *                      mha_flash_combine when few queries meet many keys;
 *                      the merged heads straight into rows (l, n); GPUs
 *   or GEMM            (gemm.c) CLBlast strided-batched SGEMM over N*H heads:
 *                      scale Q K^T, keys-major (P^T per head, see
 *                      cl/attention.cl); mha_softmax(_items/_columns): masks,
 *                      causal, softmax, dropout (in place); mha_weights_out:
 *                      the weights asked for, query-major; P V per head; then
 *                      mha_merge_heads: heads side by side in rows (l, n)
 *   output projection  mha_transpose of the merged heads, CLBlast SGEMM, then
 *                      mha_output (bias, caller's layout)
 *   outputs            downloaded into host tensors, or written into cl_mem ones
 *
 * The call runs on one in-order queue: the attention object's, or the one
 * named by mha_opencl_forward (launch.c). It returns once everything is
 * enqueued when every output is a cl_mem; a host output makes it wait for
 * the results.
 */
#include "call.h"

static const mha_opencl_forward *find_forward_ext(const mha_forward_args *args)
{
    for (const mha_extension *e = args->next; e; e = e->next)
        if (e->type == MHA_OPENCL_EXT_FORWARD)
            return (const mha_opencl_forward *)e;
    return NULL;
}

/* Steps 3-7 from the projections: heads, then the fused kernels or the
 * GEMMs; the merged heads in att->ocat. */
static mha_status projected_attention(ocl_call *c)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const size_t E = (size_t)pr->embed_dim, Sp = (size_t)pr->src_len_total;
    const bool fused = c->path == OCL_PATH_FUSED;
    const bool key_rows = fused || c->path == OCL_PATH_FLASH; /* K (S', D), not K^T */
    mha_status st;

    /* 3. heads, with projection bias and the extra key/value rows: Q^T (D, L)
     * per head; K^T (D, S') for the scores GEMM or K (S', D) for the fused
     * and flash kernels, V (S', D); or K and V read in place
     * (ocl_path_kv_in_place, ocl_flash_kv_in_place; not when the flash path
     * writes weights: mha_flash_weights reads per-head K). */
    const bool flash_in_place =
        c->path == OCL_PATH_FLASH && !c->wout && ocl_flash_kv_in_place(pr);
    const bool kv_in_place = (fused && ocl_path_kv_in_place(pr)) || flash_in_place;
    if ((st = ocl_split_heads(c, att->proj_q.mem, pr->tgt_len, pr->tgt_len, att->off_bin, 0,
                              false, true, &att->q_h, "q heads")) != MHA_STATUS_OK)
        return st;
    if (!kv_in_place &&
        ((st = ocl_split_heads(c, att->proj_k.mem, pr->src_len, pr->src_len_total,
                               att->off_bin + E, att->off_bias_k, att->add_bias_kv, !key_rows,
                               &att->k_h, "k heads")) != MHA_STATUS_OK ||
         (st = ocl_split_heads(c, att->proj_v.mem, pr->src_len, pr->src_len_total,
                               att->off_bin + 2 * E, att->off_bias_v, att->add_bias_kv, false,
                               &att->v_h, "v heads")) != MHA_STATUS_OK))
        return st;
    if ((st = ocl_mark(c, "heads", false)) != MHA_STATUS_OK)
        return st;

    /* 4-7. the attention products */
    if (c->path == OCL_PATH_GEMM)
        return ocl_gemm_attention(c);
    const size_t D = (size_t)pr->head_dim, H = (size_t)pr->num_heads;
    ocl_kv kv = {att->k_h.mem, att->v_h.mem, D, H * Sp * D, Sp * D, false};
    if (kv_in_place) {
        const ocl_row_steps step = ocl_row_steps_of(pr, pr->src_len);
        kv = (ocl_kv){att->proj_k.mem, att->proj_v.mem, step.t * E, step.n * E, D, att->bias};
    }
    return fused ? ocl_fused_attention(c, &kv) : ocl_flash_attention(c, &kv);
}

/* 1. The inputs on the device, and where the outputs go. */
static mha_status views(ocl_call *c, size_t weights_count)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const mha_forward_args *args = c->args;
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len, S = (size_t)pr->src_len;
    const size_t E = (size_t)pr->embed_dim, kd = (size_t)pr->kdim, vd = (size_t)pr->vdim;
    const size_t R = L * N, Rk = S * N;
    const bool self = pr->self_attention;
    const bool kv_same = !self && pr->kv_same && kd == vd;
    mha_status st;

    if ((st = ocl_input_view(c, &args->query, &att->x_q, R * E * sizeof(float), sizeof(float),
                             "query", &c->xq)) != MHA_STATUS_OK)
        return st;
    c->xk = c->xv = c->xq;
    if (!self) {
        if ((st = ocl_input_view(c, &args->key, &att->x_k, Rk * kd * sizeof(float),
                                 sizeof(float), "key", &c->xk)) != MHA_STATUS_OK)
            return st;
        c->xv = c->xk;
        if (!kv_same &&
            (st = ocl_input_view(c, &args->value, &att->x_v, Rk * vd * sizeof(float),
                                 sizeof(float), "value", &c->xv)) != MHA_STATUS_OK)
            return st;
    }
    if ((st = ocl_mask_view(c, &args->attn_mask, &att->attn_mask, &c->masks.attn_kind,
                            "attn_mask", &c->masks.attn)) != MHA_STATUS_OK ||
        (st = ocl_mask_view(c, &args->key_padding_mask, &att->kpm, &c->masks.kpm_kind,
                            "key_padding_mask", &c->masks.kpm)) != MHA_STATUS_OK ||
        (st = ocl_output_view(c, &args->attn_output, &att->out, R * E * sizeof(float),
                              "attn_output", &c->out)) != MHA_STATUS_OK)
        return st;
    if (c->wout &&
        (st = ocl_output_view(c, &args->attn_weights, &att->avg, weights_count * sizeof(float),
                              "attn_weights", &c->wout_view)) != MHA_STATUS_OK)
        return st;
    return ocl_mark(c, NULL, false);
}

/* 2. The projections: each distinct input transposed once, then one GEMM per
 * projection into its own buffer (layout.c); the query's alone on the
 * absorbed path, which reads the keys and values as given. *Rp: the query
 * rows padded, which the output projection reuses. */
static mha_status projections(ocl_call *c, size_t *Rp)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const size_t N = (size_t)pr->batch, R = (size_t)pr->tgt_len * N;
    const size_t Rk = (size_t)pr->src_len * N, E = (size_t)pr->embed_dim;
    const size_t kd = (size_t)pr->kdim, vd = (size_t)pr->vdim;
    const bool self = pr->self_attention;
    const bool kv_same = !self && pr->kv_same && kd == vd;
    const bool absorbed = c->path == OCL_PATH_ABSORBED;
    const size_t fq = c->xq.offset / sizeof(float), fk = c->xk.offset / sizeof(float);
    const size_t fv = c->xv.offset / sizeof(float);
    size_t Rkp, Rvp; /* rows of the GEMMs, padded */
    mha_status st;

    if ((st = ocl_padded_rows(c, R, E, Rp)) != MHA_STATUS_OK ||
        (st = ocl_transpose_rows(c, c->xq.mem, fq, E, R, E, &att->xt_q, *Rp, "query^T")) !=
            MHA_STATUS_OK ||
        (st = ocl_project(c, *Rp, E, att->w_q.mem, att->xt_q.mem, &att->proj_q,
                          "CLBlastSgemm(q_proj)")) != MHA_STATUS_OK)
        return st;
    cl_mem xt_k = att->xt_q.mem, xt_v = att->xt_q.mem;
    Rkp = Rvp = *Rp;
    if (!self && !absorbed) {
        if ((st = ocl_padded_rows(c, Rk, kd, &Rkp)) != MHA_STATUS_OK ||
            (st = ocl_transpose_rows(c, c->xk.mem, fk, kd, Rk, kd, &att->xt_k, Rkp, "key^T")) !=
                MHA_STATUS_OK)
            return st;
        xt_k = xt_v = att->xt_k.mem;
        Rvp = Rkp;
    }
    if (!self && !kv_same && !absorbed) {
        if ((st = ocl_padded_rows(c, Rk, vd, &Rvp)) != MHA_STATUS_OK ||
            (st = ocl_transpose_rows(c, c->xv.mem, fv, vd, Rk, vd, &att->xt_v, Rvp,
                                     "value^T")) != MHA_STATUS_OK)
            return st;
        xt_v = att->xt_v.mem;
    }
    if (!absorbed &&
        ((st = ocl_project(c, Rkp, kd, att->w_k.mem, xt_k, &att->proj_k,
                           "CLBlastSgemm(k_proj)")) != MHA_STATUS_OK ||
         (st = ocl_project(c, Rvp, vd, att->w_v.mem, xt_v, &att->proj_v,
                           "CLBlastSgemm(v_proj)")) != MHA_STATUS_OK))
        return st;
    return ocl_mark(c, "projections", true);
}

/* 8. The output projection (the merged heads transposed into xt_q, whose
 * padded rows Rp suit the same GEMM shape), bias and layout. */
static mha_status output(ocl_call *c, size_t Rp)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const size_t R = (size_t)pr->tgt_len * (size_t)pr->batch, E = (size_t)pr->embed_dim;
    mha_status st;
    if ((st = ocl_transpose_rows(c, att->ocat.mem, 0, E, R, E, &att->xt_q, Rp,
                                 "merged heads^T")) != MHA_STATUS_OK ||
        (st = ocl_project(c, Rp, E, att->w_o.mem, att->xt_q.mem, &att->y,
                          "CLBlastSgemm(out_proj)")) != MHA_STATUS_OK ||
        (st = ocl_mark(c, "output", true)) != MHA_STATUS_OK)
        return st;
    ocl_args a = ocl_args_of(c, OCL_K_OUTPUT);
    arg_mem(&a, att->y.mem);
    arg_mem(&a, c->out.mem);
    arg_ulong(&a, c->out.offset / sizeof(float));
    arg_mem(&a, att->biases.mem);
    arg_ulong(&a, att->off_bo);
    arg_int(&a, att->bias);
    arg_int(&a, pr->batch);
    arg_int(&a, pr->tgt_len);
    arg_int(&a, pr->embed_dim);
    arg_int(&a, pr->batched && pr->batch_first);
    if ((st = ocl_launch(c, &a, R * E, 0)) != MHA_STATUS_OK)
        return st;
    return ocl_mark(c, "output_bias", false);
}

mha_status ocl_attention_forward(void *attention, const mha_problem *pr,
                                 const mha_forward_args *args)
{
    ocl_attention *att = attention;
    const size_t N = (size_t)pr->batch, L = (size_t)pr->tgt_len;
    const size_t Sp = (size_t)pr->src_len_total, E = (size_t)pr->embed_dim;
    const size_t B = N * (size_t)pr->num_heads;
    const bool want_weights = args->need_weights && args->attn_weights.data;
    const size_t weights_count = args->average_attn_weights ? N * L * Sp : B * L * Sp;
    ocl_call call = {.att = att, .ctx = att->context, .pr = pr, .args = args,
                     .ext = find_forward_ext(args)};
    ocl_call *c = &call;
    size_t Rp = 0;
    mha_status st;

    if (want_weights)
        c->wout = &c->wout_view;
    {
        const ocl_path_rules rules = ocl_call_rules(c);
        c->path = ocl_path_choose(&rules, pr);
    }
    ocl_attention_drop_marks(att);
    att->stage_count = 0;
    if ((st = ocl_call_begin(c)) != MHA_STATUS_OK ||
        (c->path != OCL_PATH_GEMM &&
         (st = ocl_attention_kernels(att, c->path == OCL_PATH_FUSED   ? OCL_PROGRAM_FUSED
                                          : c->path == OCL_PATH_FLASH ? OCL_PROGRAM_FLASH
                                                                      : OCL_PROGRAM_ABSORBED)) !=
             MHA_STATUS_OK) ||
        (st = ocl_call_fits(c, weights_count)) != MHA_STATUS_OK ||
        (st = views(c, weights_count)) != MHA_STATUS_OK ||
        (st = projections(c, &Rp)) != MHA_STATUS_OK)
        goto done;
    /* 3-7. the attention products; the merged heads in att->ocat */
    st = c->path == OCL_PATH_ABSORBED ? ocl_absorbed_attention(c) : projected_attention(c);
    if (st != MHA_STATUS_OK || (st = output(c, Rp)) != MHA_STATUS_OK ||
        (st = ocl_call_finish(c)) != MHA_STATUS_OK)
        goto done;

    /* 9. host outputs (blocking reads: the call waits for its results) */
    if (want_weights && args->attn_weights.memory == MHA_MEMORY_HOST &&
        (st = ocl_download(c, c->wout_view.mem, args->attn_weights.data,
                           weights_count * sizeof(float), "attn_weights")) != MHA_STATUS_OK)
        goto done;
    if (args->attn_output.memory == MHA_MEMORY_HOST)
        st = ocl_download(c, c->out.mem, args->attn_output.data, L * N * E * sizeof(float),
                          "attn_output");
done:
    if (st != MHA_STATUS_OK) {
        clFinish(c->queue); /* leave nothing in flight */
        ocl_attention_drop_marks(att);
        if (c->ext && c->ext->done && *c->ext->done) {
            clReleaseEvent(*c->ext->done);
            *c->ext->done = NULL;
        }
    }
    return st;
}
