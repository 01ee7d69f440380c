/*
 * ref_case.h - builders for the structs the host would normally fill
 * (mha_config, mha_problem, mha_forward_args, tensors), so tests can call the
 * reference core directly.
 */
#ifndef MHA_TEST_REF_CASE_H
#define MHA_TEST_REF_CASE_H

#include "mha/plugin.h"
#include "testkit_random.h" /* tk_fill_seed: deterministic inputs and weights */

/* PyTorch's defaults: bias on, kdim = vdim = E, everything else off. */
mha_config ref_config(int64_t embed_dim, int64_t num_heads);

/* The problem the host would derive for these sizes from `config`;
 * batched = false means 2-D inputs (then batch must be 1). */
mha_problem ref_problem(const mha_config *config, int64_t batch, int64_t tgt_len, int64_t src_len,
                        bool batched);

/* Zeroed args with average_attn_weights = true, as mha_forward_args_init. */
mha_forward_args ref_args(void);

/* Host tensors; dimensions beyond `rank` are ignored. */
mha_tensor ref_f32(float *data, int32_t rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
mha_tensor ref_bool(uint8_t *data, int32_t rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3);

/* Creates an attention object with fake_host, runs one forward and destroys
 * it; returns the first failing status. */
mha_status ref_run(const mha_config *config, const mha_weights *weights,
                   const mha_problem *problem, const mha_forward_args *args);

/* in_proj_weight (3E, E) = [I; I; I] and out_proj_weight (E, E) = I. */
void ref_identity_weights(int64_t embed_dim, float *in_proj, float *out_proj);

#endif /* MHA_TEST_REF_CASE_H */
