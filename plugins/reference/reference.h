/*
 * reference.h - internal interface of the reference CPU plugin.
 *
 * The core (attention.c, forward.c) depends only on the host-services table it
 * is given, never on libmha or on plugin.c, so tests can drive it directly.
 */
#ifndef MHA_REFERENCE_H
#define MHA_REFERENCE_H

#include "mha/plugin.h"

/* The device's record, shared by device_info and context_device_info. */
#define MHA_REF_DEVICE_NAME "reference CPU (double accumulation)"
#define MHA_REF_VERSION "0.1.0"

/* An attention object: resolved sizes and private copies of the weights, with
 * the q, k and v blocks split out whichever way the caller passed them. */
typedef struct mha_ref_attention {
    const mha_host_services *host; /* borrowed; outlives the object */
    int64_t embed_dim;             /* E */
    int64_t num_heads;             /* H */
    int64_t kdim, vdim;            /* resolved, never 0 */
    bool add_bias_kv;
    bool add_zero_attn;
    float *q_weight;   /* (E, E) */
    float *k_weight;   /* (E, kdim) */
    float *v_weight;   /* (E, vdim) */
    float *q_bias;     /* (E); NULL when config.bias is false */
    float *k_bias;     /* (E) or NULL */
    float *v_bias;     /* (E) or NULL */
    float *out_weight; /* (E, E) */
    float *out_bias;   /* (E) or NULL */
    float *bias_k;     /* (E); NULL unless add_bias_kv */
    float *bias_v;     /* (E) or NULL */
} mha_ref_attention;

/* Copies config and weights (already validated by the host; kdim and vdim
 * resolved). All memory comes from `host`; on failure nothing is leaked, *out
 * is NULL and the status is the one given to host->set_error. */
mha_status mha_ref_attention_create(const mha_host_services *host, const mha_config *config,
                                    const mha_weights *weights, mha_ref_attention **out);

/* Accepts NULL. */
void mha_ref_attention_destroy(mha_ref_attention *attention);

/* torch.nn.MultiheadAttention.forward as docs/semantics.md states it. `args`
 * holds host float32 tensors validated against `problem`; masks with
 * data == NULL are absent. Fails only when the workspace cannot be allocated
 * (MHA_STATUS_OUT_OF_MEMORY, or MHA_STATUS_SIZE_OVERFLOW). */
mha_status mha_ref_attention_forward(mha_ref_attention *attention, const mha_problem *problem,
                                     const mha_forward_args *args);

/* The attention core (core.c) on host views of a validated problem. Fails
 * only when a row's workspace cannot be allocated. */
mha_status mha_ref_core_forward(const mha_host_services *host, const mha_core_problem *problem);

/* One element of a storage dtype (storage.c): float32, float16, bfloat16,
 * bool, int32 or int64 read as a double; float32, float16 or bfloat16
 * written from a double, rounded once to nearest even. `index` counts
 * elements. */
double mha_ref_load(const void *data, int64_t index, mha_dtype dtype);
void mha_ref_store(void *data, int64_t index, mha_dtype dtype, double value);

#endif /* MHA_REFERENCE_H */
