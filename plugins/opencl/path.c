/* path.c - the path rules (path.h): which kernels compute one call's
 * attention products. No OpenCL calls; tests/opencl/test_path_rules.c links
 * this file alone. */
#include <string.h>

#include "path.h"

/* Whether the attention products run in a fused kernel (see ocl_path).
 * GEMM-only timing has no fused kernel to leave out. */
static bool use_fused(const ocl_path_rules *r, const mha_problem *pr)
{
    if (r->gemm_only || pr->head_dim > OCL_FUSED_HEAD_DIM_MAX)
        return false;
    if (r->path != OCL_PATH_AUTO)
        return r->path == OCL_PATH_FUSED;
    return r->cpu;
}

/* Whether the call takes the absorbed path (see ocl_path): by the flops of
 * one batch entry, projecting K and V and their two products against the
 * absorbed products (cl/absorbed.cl). */
static bool use_absorbed(const ocl_path_rules *r, const mha_problem *pr)
{
    if (r->gemm_only || pr->src_len_total != pr->src_len)
        return false;
    if (r->path != OCL_PATH_AUTO)
        return r->path == OCL_PATH_ABSORBED;
    if (!r->cpu)
        return false; /* unmeasured on other devices */
    const double L = (double)pr->tgt_len, S = (double)pr->src_len;
    const double E = (double)pr->embed_dim, H = (double)pr->num_heads;
    const double kv = (double)pr->kdim + (double)pr->vdim;
    const double projected = S * E * kv + 2.0 * L * S * E;
    const double absorbed = H * L * S * kv + L * E * kv;
    return absorbed * OCL_ABSORBED_MIN_GAIN <= projected;
}

ocl_path ocl_path_choose(const ocl_path_rules *r, const mha_problem *pr)
{
    if (use_absorbed(r, pr))
        return OCL_PATH_ABSORBED;
    return use_fused(r, pr) ? OCL_PATH_FUSED : OCL_PATH_GEMM;
}

/* When one work-item takes all the queries of a head (decoding), the fused
 * kernel reads each key once: it then reads K and V from the projections in
 * place, adding their bias, unless bias_kv or zero_attn rows come after the
 * keys. With more queries per head the per-head copies pay off: the kernel
 * re-reads every key per block of queries, and rows of the projections lie
 * N*E floats apart (N=4 L=512: attention 25-27 ms from the copies, 32-34 in
 * place). */
bool ocl_path_kv_in_place(const mha_problem *pr)
{
    return pr->src_len_total == pr->src_len && pr->tgt_len <= OCL_FUSED_ROWS;
}

ocl_softmax ocl_softmax_choose(const ocl_path_rules *r, const mha_problem *pr)
{
    if (r->softmax != OCL_SOFTMAX_AUTO)
        return r->softmax;
    if (r->cpu)
        return OCL_SOFTMAX_ITEMS;
    const int64_t rows = pr->batch * pr->num_heads * pr->tgt_len;
    return rows >= OCL_SOFTMAX_COLUMNS_MIN ? OCL_SOFTMAX_COLUMNS : OCL_SOFTMAX_GROUP;
}

ocl_path ocl_path_parse(const char *value)
{
    if (value && strcmp(value, "gemm") == 0)
        return OCL_PATH_GEMM;
    if (value && strcmp(value, "fused") == 0)
        return OCL_PATH_FUSED;
    if (value && strcmp(value, "absorbed") == 0)
        return OCL_PATH_ABSORBED;
    return OCL_PATH_AUTO;
}

ocl_softmax ocl_softmax_parse(const char *value)
{
    if (value && strcmp(value, "items") == 0)
        return OCL_SOFTMAX_ITEMS;
    if (value && strcmp(value, "columns") == 0)
        return OCL_SOFTMAX_COLUMNS;
    if (value && strcmp(value, "group") == 0)
        return OCL_SOFTMAX_GROUP;
    return OCL_SOFTMAX_AUTO;
}
