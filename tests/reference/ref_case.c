/* ref_case.c - see ref_case.h. */
#include "ref_case.h"

#include <math.h>
#include <string.h>

#include "fake_host.h"
#include "reference.h"

mha_config ref_config(int64_t embed_dim, int64_t num_heads)
{
    mha_config config;
    memset(&config, 0, sizeof config);
    config.struct_size = sizeof config;
    config.embed_dim = embed_dim;
    config.num_heads = num_heads;
    config.kdim = embed_dim;
    config.vdim = embed_dim;
    config.bias = true;
    return config;
}

mha_problem ref_problem(const mha_config *config, int64_t batch, int64_t tgt_len, int64_t src_len,
                        bool batched)
{
    mha_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.batch = batch;
    p.tgt_len = tgt_len;
    p.src_len = src_len;
    p.src_len_total = src_len + (config->add_bias_kv ? 1 : 0) + (config->add_zero_attn ? 1 : 0);
    p.embed_dim = config->embed_dim;
    p.num_heads = config->num_heads;
    p.head_dim = config->embed_dim / config->num_heads;
    p.kdim = config->kdim;
    p.vdim = config->vdim;
    p.batched = batched;
    p.batch_first = config->batch_first;
    p.dropout = config->dropout;
    p.apply_dropout = false;
    p.scale = (float)(1.0 / sqrt((double)p.head_dim));
    return p;
}

mha_forward_args ref_args(void)
{
    mha_forward_args args;
    memset(&args, 0, sizeof args);
    args.struct_size = sizeof args;
    args.average_attn_weights = true;
    return args;
}

static mha_tensor make_tensor(void *data, mha_dtype dtype, int32_t rank, int64_t d0, int64_t d1,
                              int64_t d2, int64_t d3)
{
    mha_tensor t;
    memset(&t, 0, sizeof t);
    int64_t dims[MHA_MAX_RANK] = {d0, d1, d2, d3};
    t.data = data;
    t.dtype = dtype;
    t.rank = rank;
    for (int32_t i = 0; i < rank && i < MHA_MAX_RANK; ++i)
        t.shape[i] = dims[i];
    t.memory = MHA_MEMORY_HOST;
    return t;
}

mha_tensor ref_f32(float *data, int32_t rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    return make_tensor(data, MHA_DTYPE_F32, rank, d0, d1, d2, d3);
}

mha_tensor ref_bool(uint8_t *data, int32_t rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    return make_tensor(data, MHA_DTYPE_BOOL, rank, d0, d1, d2, d3);
}

mha_status ref_run(const mha_config *config, const mha_weights *weights,
                   const mha_problem *problem, const mha_forward_args *args)
{
    mha_ref_attention *att = NULL;
    mha_status status = mha_ref_attention_create(&fake_host, config, weights, &att);
    if (status != MHA_STATUS_OK)
        return status;
    status = mha_ref_attention_forward(att, problem, args);
    mha_ref_attention_destroy(att);
    return status;
}

void ref_identity_weights(int64_t embed_dim, float *in_proj, float *out_proj)
{
    const int64_t E = embed_dim;
    for (int64_t r = 0; r < 3 * E; ++r)
        for (int64_t c = 0; c < E; ++c)
            in_proj[r * E + c] = (r % E == c) ? 1.0f : 0.0f;
    for (int64_t r = 0; r < E; ++r)
        for (int64_t c = 0; c < E; ++c)
            out_proj[r * E + c] = (r == c) ? 1.0f : 0.0f;
}
