/*
 * ocl_case.h - random attention problems run through the public API, so the
 * OpenCL plugin can be compared with the reference plugin.
 */
#ifndef MHA_TEST_OCL_CASE_H
#define MHA_TEST_OCL_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mha/mha.h"

typedef enum { OCL_TM_NONE, OCL_TM_BOOL, OCL_TM_FLOAT } ocl_test_mask;

typedef struct ocl_case {
    /* configuration */
    int64_t E, H, kdim, vdim, N, L, S;
    bool batched, batch_first, bias, add_bias_kv, add_zero_attn;
    bool self_attention, kv_same; /* key (and value) alias query / key */
    ocl_test_mask attn_mask, kpm;
    bool attn_mask_3d;
    mha_causal causal;
    bool need_weights, average;
    bool training;
    float dropout;
    uint64_t seed;
    /* host data, owned */
    float *w_in, *w_q, *w_k, *w_v, *b_in, *w_o, *b_o, *bias_k, *bias_v;
    float *query, *key, *value;
    void *attn_mask_data, *kpm_data;
    size_t out_count, weights_count;
} ocl_case;

/* A random case from `seed` (odd sizes, every option). */
void ocl_case_random(ocl_case *c, uint32_t seed);
/* A fixed case, fields set by the caller, then data filled from `seed`. */
void ocl_case_fill(ocl_case *c, uint32_t seed);
void ocl_case_free(ocl_case *c);
/* One-line description for failure messages. */
void ocl_case_describe(const ocl_case *c, char *buf, size_t cap);

/* Runs the case on `backend` with a fresh attention object (or `att` if not
 * NULL). out/weights are caller-allocated with out_count/weights_count floats.
 * `next` is chained into the forward args. */
mha_status ocl_case_run(const ocl_case *c, mha_backend *backend, mha_attention *att, float *out,
                        float *weights, const mha_extension *next);
mha_status ocl_case_attention(const ocl_case *c, mha_backend *backend, mha_attention **att);
/* The forward args of the case on `att` (host tensors), outputs in out/weights. */
mha_status ocl_case_args(const ocl_case *c, const mha_attention *att, float *out, float *weights,
                         const mha_extension *next, mha_forward_args *args);

/* Index of the first element where |a-b| > atol + rtol*|b| (NaN must match
 * NaN), or -1. */
long ocl_compare(const float *a, const float *b, size_t n, float atol, float rtol);

/* In a cmocka test: skip it when the fixture has no OpenCL backend (no device). */
#define OCL_NEED_DEVICE(f)                                \
    do {                                                  \
        if (!(f)->ocl) {                                  \
            print_message("no OpenCL device: skipped\n"); \
            skip();                                       \
        }                                                 \
    } while (0)

#endif
