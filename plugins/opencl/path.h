/*
 * path.h - the rules that choose how one forward computes its attention
 * products (path.c). Pure functions of the device kind, the forced settings
 * and the problem's sizes: no OpenCL here, so tests/opencl/test_path_rules.c
 * checks them without a device.
 */
#ifndef MHA_OPENCL_PATH_H
#define MHA_OPENCL_PATH_H

#include <stdbool.h>

#include "mha/plugin.h"
#include "shared.h" /* cl/shared.h */

/* The softmax kernels (cl/attention.cl). AUTO: items on CPUs; on other devices
 * columns when there are at least OCL_SOFTMAX_COLUMNS_MIN rows (N*H*L), else
 * group (a rule from how the kernels read memory, not yet measured on a GPU). */
typedef enum ocl_softmax {
    OCL_SOFTMAX_AUTO,
    OCL_SOFTMAX_GROUP,   /* mha_softmax: a work-group per row */
    OCL_SOFTMAX_ITEMS,   /* mha_softmax_items: a work-item per 256 rows */
    OCL_SOFTMAX_COLUMNS, /* mha_softmax_columns: a work-item per row */
} ocl_softmax;
#define OCL_SOFTMAX_COLUMNS_MIN 4096

/* How the attention products run. GEMM: scores and P.V as CLBlast GEMMs with
 * a softmax kernel between them (the L x S' matrix in memory). FUSED:
 * mha_attention_fused, or mha_attention_fused_weights when weights are asked
 * for (cl/fused.cl), one kernel, no matrix; when head_dim <=
 * OCL_FUSED_HEAD_DIM_MAX. AUTO: FUSED on CPU devices, where it measured
 * faster than GEMM (docs/performance.md), GEMM elsewhere (its private arrays
 * do not suit GPUs). ABSORBED: the key and value projections folded into the
 * queries and the outputs (cl/absorbed.cl), no K or V at all; when there are
 * no bias_kv / zero_attn rows. AUTO takes it on CPU devices when it needs at
 * most 1/OCL_ABSORBED_MIN_GAIN of the flops of projecting K and V (few queries
 * against many keys: decoding; measured break-even near 1/2 on the EPYC,
 * docs/performance.md), forced, whenever it applies. GEMM-only timing
 * (MHA_OPENCL_GEMM_ONLY) always takes the GEMM path. */
typedef enum ocl_path {
    OCL_PATH_AUTO,
    OCL_PATH_GEMM,
    OCL_PATH_FUSED,
    OCL_PATH_ABSORBED,
} ocl_path;
#define OCL_ABSORBED_MIN_GAIN 3
/* OCL_FUSED_HEAD_DIM_MAX and OCL_FUSED_ROWS: cl/shared.h */

/* What the rules know besides the problem. */
typedef struct ocl_path_rules {
    bool cpu;            /* the device is a CPU (CL_DEVICE_TYPE_CPU) */
    bool gemm_only;      /* MHA_OPENCL_GEMM_ONLY=1: GEMMs only, for timing */
    ocl_path path;       /* forced (MHA_OPENCL_ATTENTION), else OCL_PATH_AUTO */
    ocl_softmax softmax; /* forced (MHA_OPENCL_SOFTMAX), else OCL_SOFTMAX_AUTO */
} ocl_path_rules;

/* The path of one call: OCL_PATH_ABSORBED, OCL_PATH_FUSED or OCL_PATH_GEMM
 * (never AUTO). A forced path that cannot run falls back to GEMM. */
ocl_path ocl_path_choose(const ocl_path_rules *rules, const mha_problem *pr);
/* Whether the fused path reads K and V from the projections in place (one
 * work-item takes all queries of a head, no bias_kv / zero_attn rows). */
bool ocl_path_kv_in_place(const mha_problem *pr);
/* The softmax kernel of a GEMM or absorbed call (never AUTO). */
ocl_softmax ocl_softmax_choose(const ocl_path_rules *rules, const mha_problem *pr);

/* A forced setting's value: "gemm", "fused", "absorbed" / "items", "columns",
 * "group"; anything else (or NULL) is AUTO. */
ocl_path ocl_path_parse(const char *value);
ocl_softmax ocl_softmax_parse(const char *value);

#endif /* MHA_OPENCL_PATH_H */
