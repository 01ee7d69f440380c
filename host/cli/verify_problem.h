/*
 * verify_problem.h - random attention problems for `mha verify`, and running
 * one on a backend through the public API only.
 */
#ifndef MHA_VERIFY_PROBLEM_H
#define MHA_VERIFY_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mha/mha.h"

/* 64-bit LCG (Knuth's MMIX constants); the high bits are used. */
typedef struct vlcg {
    uint64_t state;
} vlcg;
uint32_t vlcg_next(vlcg *r);
int vlcg_range(vlcg *r, int lo, int hi); /* inclusive */
float vlcg_float(vlcg *r, float lo, float hi);

typedef enum vmask_kind {
    VMASK_NONE,
    VMASK_ATTN_BOOL_2D,
    VMASK_ATTN_BOOL_3D,
    VMASK_ATTN_FLOAT_2D,
    VMASK_ATTN_FLOAT_3D,
    VMASK_KPM_BOOL,
    VMASK_KPM_FLOAT,
    VMASK_BOTH_BOOL,
    VMASK_BOTH_FLOAT,
    VMASK_KIND_COUNT
} vmask_kind;

typedef struct vproblem_spec {
    int64_t batch; /* 0 = unbatched */
    int64_t L, S, E, H, kdim, vdim;
    bool batch_first, bias, add_bias_kv, add_zero_attn;
    bool self_attention; /* query = key = value (needs L == S, kdim == vdim == E) */
    vmask_kind mask;
    int kpm_tail;        /* >0: bool key_padding_mask masking the last keys of batch 1 (overrides mask) */
    mha_causal causal;
    bool need_weights, average_weights;
    float dropout;       /* > 0: training */
    uint64_t seed;
} vproblem_spec;

typedef struct vproblem {
    vproblem_spec spec;
    mha_config config;
    mha_weights weights;
    mha_forward_args args; /* inputs set; outputs empty */
    void *owned[16];
    int owned_count;
} vproblem;

/* Fills a problem with random data drawn from r. Returns false on OOM. */
bool vproblem_make(vproblem *p, const vproblem_spec *spec, vlcg *r);
void vproblem_free(vproblem *p);
/* A one-line description of the configuration. */
void vproblem_describe(const vproblem_spec *spec, char *buf, size_t size);

/* Output of one backend. */
typedef struct vresult {
    float *output, *weights;
    size_t output_count, weights_count;
    double median_ms;
} vresult;
void vresult_free(vresult *r);

/* Runs `warmup` + `repeats` forwards (repeats >= 1) and keeps the last output.
 * On failure returns the status with mha_last_error() copied into msg. */
mha_status vproblem_run(const vproblem *p, mha_backend *backend, int warmup, int repeats,
                        vresult *out, char *msg, size_t msg_size);

/* Tolerance check |a - b| <= atol + rtol * |b| (b = the reference); NaN equals
 * NaN, infinities must match exactly. Returns the count of violations. */
size_t vcompare(const float *a, const float *b, size_t n, double atol, double rtol,
                double *max_abs, double *max_rel);

#endif
