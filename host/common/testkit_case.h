/*
 * testkit_case.h - the test kit's cases: an attention problem (configuration,
 * weights, inputs, masks) generated from a shape description and a seed, and
 * run through the public API on any backend. Shared by the OpenCL tests, the
 * cache-warming fixture, `mha verify` and `mha bench`; compare results with
 * testkit_compare.h.
 *
 * Fill in the description fields (or let tk_case_random draw them), then
 * tk_case_fill draws the data; tk_case_free releases it.
 */
#ifndef MHA_TESTKIT_CASE_H
#define MHA_TESTKIT_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mha/mha.h"

typedef enum { TK_MASK_NONE, TK_MASK_BOOL, TK_MASK_FLOAT } tk_mask;

/* How the input projection's weights are given. */
typedef enum {
    TK_IN_PROJ_EITHER,   /* drawn from the data seed (when kdim == vdim == E) */
    TK_IN_PROJ_PACKED,   /* in_proj_weight (3E, E) (needs kdim == vdim == E) */
    TK_IN_PROJ_SEPARATE  /* q/k/v_proj_weight */
} tk_in_proj;

typedef struct tk_case {
    /* description */
    int64_t E, H, kdim, vdim, N, L, S;
    bool batched, batch_first, bias, add_bias_kv, add_zero_attn;
    bool self_attention, kv_same; /* key (and value) alias query / key */
    tk_in_proj in_proj;
    tk_mask attn_mask, kpm;
    bool attn_mask_3d;
    int64_t kpm_tail; /* > 0 (kpm NONE): a bool key_padding_mask masking the
                         last kpm_tail keys of every batch but the first */
    mha_causal causal;
    bool need_weights, average;
    bool training;
    float dropout;
    uint64_t seed; /* dropout's */
    /* data, owned, from tk_case_fill */
    float *w_in, *w_q, *w_k, *w_v, *b_in, *w_o, *b_o, *bias_k, *bias_v;
    float *query, *key, *value;
    void *attn_mask_data, *kpm_data;
    size_t out_count, weights_count; /* elements of attn_output / attn_weights */
} tk_case;

/* A random case from `seed`: odd sizes, every option. */
void tk_case_random(tk_case *c, uint32_t seed);
/* Draws the data of a described case from `seed`; false when out of memory
 * (what was drawn is freed). Every field outside the description is
 * overwritten. */
bool tk_case_fill(tk_case *c, uint32_t seed);
/* Releases the data (NULL fields are fine) and zeroes the whole case. */
void tk_case_free(tk_case *c);
/* Forgets the data pointers without freeing them, keeping the description
 * (for a copy of a case that will get data of its own). */
void tk_case_drop_data(tk_case *c);
/* One-line description for failure messages. */
void tk_case_describe(const tk_case *c, char *buf, size_t cap);

/* The case's configuration and weights (borrowing the case's arrays). */
void tk_case_config(const tk_case *c, mha_config *config, mha_weights *weights);
mha_status tk_case_attention(const tk_case *c, mha_backend *backend, mha_attention **att);
/* The forward args of the case on `att` (host tensors), outputs in out and
 * weights (out_count / weights_count floats); `next` is chained in. */
mha_status tk_case_args(const tk_case *c, const mha_attention *att, float *out, float *weights,
                        const mha_extension *next, mha_forward_args *args);
/* Runs the case on `backend` with a fresh attention object (or `att` if not
 * NULL); out / weights as for tk_case_args. */
mha_status tk_case_run(const tk_case *c, mha_backend *backend, mha_attention *att, float *out,
                       float *weights, const mha_extension *next);

#endif
