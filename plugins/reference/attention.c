/*
 * attention.c - creation and destruction of reference attention objects: the
 * configuration plus private float32 copies of the weights.
 */
#include <string.h>

#include "reference.h"

/* Copies `count` floats from `src` into a new host allocation (*dst = NULL
 * when src is NULL, i.e. the weight is absent). */
static mha_status copy_floats(const mha_host_services *host, const char *what, const float *src,
                              size_t count, float **dst)
{
    *dst = NULL;
    if (src == NULL)
        return MHA_STATUS_OK;
    *dst = host->alloc(count * sizeof(float));
    if (*dst == NULL)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY,
                               "reference: out of memory copying %s (%zu floats)", what, count);
    memcpy(*dst, src, count * sizeof(float));
    return MHA_STATUS_OK;
}

mha_status mha_ref_attention_create(const mha_host_services *host, const mha_config *config,
                                    const mha_weights *weights, mha_ref_attention **out)
{
    *out = NULL;
    mha_ref_attention *att = host->calloc(1, sizeof *att);
    if (att == NULL)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY,
                               "reference: out of memory allocating an attention object");
    att->host = host;
    att->embed_dim = config->embed_dim;
    att->num_heads = config->num_heads;
    att->kdim = config->kdim;
    att->vdim = config->vdim;
    att->add_bias_kv = config->add_bias_kv;
    att->add_zero_attn = config->add_zero_attn;

    const size_t E = (size_t)config->embed_dim;
    const size_t kdim = (size_t)config->kdim;
    const size_t vdim = (size_t)config->vdim;

    /* in_proj_weight stacks the q, k and v blocks (only possible when
     * kdim == vdim == E); otherwise the three are given separately. */
    const float *wq = weights->q_proj_weight;
    const float *wk = weights->k_proj_weight;
    const float *wv = weights->v_proj_weight;
    if (weights->in_proj_weight != NULL) {
        wq = weights->in_proj_weight;
        wk = weights->in_proj_weight + E * E;
        wv = weights->in_proj_weight + 2 * E * E;
    }
    const float *in_bias = config->bias ? weights->in_proj_bias : NULL;

    mha_status status;
    if ((status = copy_floats(host, "q weight", wq, E * E, &att->q_weight)) != MHA_STATUS_OK ||
        (status = copy_floats(host, "k weight", wk, E * kdim, &att->k_weight)) != MHA_STATUS_OK ||
        (status = copy_floats(host, "v weight", wv, E * vdim, &att->v_weight)) != MHA_STATUS_OK ||
        (status = copy_floats(host, "out_proj.weight", weights->out_proj_weight, E * E,
                              &att->out_weight)) != MHA_STATUS_OK)
        goto fail;
    if (in_bias != NULL) {
        if ((status = copy_floats(host, "q bias", in_bias, E, &att->q_bias)) != MHA_STATUS_OK ||
            (status = copy_floats(host, "k bias", in_bias + E, E, &att->k_bias)) != MHA_STATUS_OK ||
            (status = copy_floats(host, "v bias", in_bias + 2 * E, E, &att->v_bias)) !=
                MHA_STATUS_OK)
            goto fail;
    }
    if (config->bias &&
        (status = copy_floats(host, "out_proj.bias", weights->out_proj_bias, E, &att->out_bias)) !=
            MHA_STATUS_OK)
        goto fail;
    if (config->add_bias_kv &&
        ((status = copy_floats(host, "bias_k", weights->bias_k, E, &att->bias_k)) !=
             MHA_STATUS_OK ||
         (status = copy_floats(host, "bias_v", weights->bias_v, E, &att->bias_v)) !=
             MHA_STATUS_OK))
        goto fail;

    *out = att;
    return MHA_STATUS_OK;

fail:
    mha_ref_attention_destroy(att);
    return status;
}

void mha_ref_attention_destroy(mha_ref_attention *attention)
{
    if (attention == NULL)
        return;
    const mha_host_services *host = attention->host;
    host->free(attention->q_weight);
    host->free(attention->k_weight);
    host->free(attention->v_weight);
    host->free(attention->q_bias);
    host->free(attention->k_bias);
    host->free(attention->v_bias);
    host->free(attention->out_weight);
    host->free(attention->out_bias);
    host->free(attention->bias_k);
    host->free(attention->bias_v);
    host->free(attention);
}
