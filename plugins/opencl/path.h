/*
 * path.h - the rules that choose how one forward computes its attention
 * products, and the attention core's query kernel (path.c). Pure functions of the device kind, the forced settings
 * and the problem's sizes: no OpenCL here, so tests/opencl/test_path_rules.c
 * checks them without a device.
 */
#ifndef MHA_OPENCL_PATH_H
#define MHA_OPENCL_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * docs/performance.md), forced, whenever it applies. FLASH: the
 * FlashAttention-2 style kernels (cl/flash.cl), a work-group per block of
 * queries with key/value tiles in local memory, no L x S' matrix (weights
 * asked for: a second pass, mha_flash_weights, straight into the caller's
 * weights); when head_dim <= OCL_FLASH_HEAD_DIM_MAX. AUTO takes it on every
 * device that is not a CPU (GPUs) when no weights are asked for, and with
 * weights only when the GEMM path's N*H*L*S' score matrix exceeds max_alloc
 * (the weights pass recomputes the scores without tiles: 23x the GEMM path's
 * products with weights on PoCL, docs/performance.md); forced, whenever it
 * applies.
 * GEMM-only timing (MHA_OPENCL_GEMM_ONLY) always takes the GEMM path. */
typedef enum ocl_path {
    OCL_PATH_AUTO,
    OCL_PATH_GEMM,
    OCL_PATH_FUSED,
    OCL_PATH_ABSORBED,
    OCL_PATH_FLASH,
} ocl_path;
#define OCL_ABSORBED_MIN_GAIN 3
/* OCL_FUSED_HEAD_DIM_MAX and OCL_FUSED_ROWS: cl/shared.h */

/* What the rules know besides the problem. */
typedef struct ocl_path_rules {
    bool cpu;            /* the device is a CPU (ocl_device_kind_of, device_rules.h) */
    bool gemm_only;      /* MHA_OPENCL_GEMM_ONLY=1: GEMMs only, for timing */
    ocl_path path;       /* forced (MHA_OPENCL_ATTENTION), else OCL_PATH_AUTO */
    ocl_softmax softmax; /* forced (MHA_OPENCL_SOFTMAX), else OCL_SOFTMAX_AUTO */
    bool weights;        /* the call returns attention weights */
    /* The most loop iterations a work-item may run in all (Mesa's llvmpipe:
     * OCL_LLVMPIPE_LOOP_CAP, device_rules.h), 0: no cap. Then the fused,
     * absorbed and flash kernels and mha_softmax_items, whose work-items walk
     * every key for a block of queries, run only where ocl_loops_fused,
     * ocl_loops_absorbed, ocl_loops_flash, ocl_loops_items stay within it:
     * past it the GEMM
     * path, and columns, or group past ocl_loops_columns, forced settings
     * included. */
    uint32_t loop_cap;
    /* CL_DEVICE_MAX_MEM_ALLOC_SIZE as the call checks it (ocl_context.limits),
     * 0: unknown. With weights asked for, AUTO takes the flash path on a GPU
     * only when the GEMM path's score matrix would not fit in one buffer. */
    uint64_t max_alloc;
} ocl_path_rules;

/* The path of one call: OCL_PATH_ABSORBED, OCL_PATH_FUSED, OCL_PATH_FLASH or
 * OCL_PATH_GEMM (never AUTO). A forced path that cannot run falls back to
 * GEMM. */
ocl_path ocl_path_choose(const ocl_path_rules *rules, const mha_problem *pr);
/* Whether the fused path reads K and V from the projections in place (one
 * work-item takes all queries of a head, no bias_kv / zero_attn rows). */
bool ocl_path_kv_in_place(const mha_problem *pr);
/* The same for the flash path: one work-group takes all queries of a head
 * (L <= OCL_FLASH_BLOCK_Q), no bias_kv / zero_attn rows. */
bool ocl_flash_kv_in_place(const mha_problem *pr);
/* The softmax kernel of a GEMM or absorbed call (never AUTO). */
ocl_softmax ocl_softmax_choose(const ocl_path_rules *rules, const mha_problem *pr);

/* Upper bounds of the loop iterations one work-item of a kernel runs (every
 * loop counted, constant-trip ones too, as llvmpipe's limiter counts those
 * it does not unroll), for the loop cap above. */
uint64_t ocl_loops_fused(const mha_problem *pr, bool weights);
uint64_t ocl_loops_items(const mha_problem *pr);
uint64_t ocl_loops_absorbed(const mha_problem *pr);
uint64_t ocl_loops_columns(const mha_problem *pr);
uint64_t ocl_loops_flash(const mha_problem *pr, bool weights);

/* A forced setting's value: "gemm", "fused", "absorbed", "flash" / "items",
 * "columns", "group"; anything else (or NULL) is AUTO. */
ocl_path ocl_path_parse(const char *value);
ocl_softmax ocl_softmax_parse(const char *value);

/* The flash kernels' tiles as MHA_OPENCL_FLASH forces them; 0: the plugin's
 * choice (flash.c, from the device's limits). block_q: queries per
 * work-group (its work-items), block_k: keys per local-memory tile (a
 * multiple of OCL_FLASH_KEY_STEP), splits: pieces the keys are cut into
 * (split-K; 1: none). */
typedef struct ocl_flash_tiles {
    unsigned block_q, block_k, splits;
} ocl_flash_tiles;
#define OCL_FLASH_BLOCK_MAX 1024 /* the largest block_q or block_k accepted */
#define OCL_FLASH_SPLITS_MAX 256 /* the most pieces accepted */
/* "block_q=64,block_k=32,splits=4" (any subset, any order) into *tiles;
 * NULL or "" is all 0. False, with *bad pointing at the item, when an item
 * is not one of those keys or its value is not an integer in range:
 * block_q 1..OCL_FLASH_BLOCK_MAX, a power of two; block_k
 * OCL_FLASH_KEY_STEP..OCL_FLASH_BLOCK_MAX, a multiple of OCL_FLASH_KEY_STEP;
 * splits 1..OCL_FLASH_SPLITS_MAX. */
bool ocl_flash_tiles_parse(const char *value, ocl_flash_tiles *tiles, const char **bad);

/* The padded head_dim of the flash kernel for head_dim D: 16, 32, 64 or 128
 * (mha_flash_16 .. mha_flash_128); 0 when D > OCL_FLASH_HEAD_DIM_MAX. */
unsigned ocl_flash_head_tier(int64_t D);

/* What the tile choice knows of the device and of the kernel it launches. */
typedef struct ocl_flash_device {
    size_t work_group;       /* the most work-items per group: the smallest of
                              * CL_KERNEL_WORK_GROUP_SIZE, the device's
                              * work-group and work-item limits */
    uint64_t local_mem;      /* bytes of local memory left for the tiles */
    unsigned compute_units;  /* CL_DEVICE_MAX_COMPUTE_UNITS (0: unknown) */
} ocl_flash_device;

/* One flash launch: the padded head_dim dm, queries per work-group block_q
 * (its local size), keys per local tile block_k, and the keys cut into
 * `splits` pieces of split_keys (a multiple of block_k) each. */
typedef struct ocl_flash_plan {
    unsigned dm, block_q, block_k, splits, split_keys;
} ocl_flash_plan;
#define OCL_FLASH_BLOCK_Q 64 /* queries per work-group, at most (default) */
#define OCL_FLASH_BLOCK_Q_MIN 16 /* ... at least, when the device allows */
#define OCL_FLASH_BLOCK_K 64 /* keys per tile, at most (default) */
/* Split-K cuts the keys until there are OCL_FLASH_GROUPS_PER_UNIT
 * work-groups per compute unit (each piece one tile at least). */
#define OCL_FLASH_GROUPS_PER_UNIT 4

/* The launch of N*H = heads heads of L queries against S' = Sp keys of
 * head_dim D, within the device's limits, with the forced tiles where given
 * (block_q capped by the device's work-group limit, block_k lowered by
 * OCL_FLASH_KEY_STEP until its two tiles fit the local memory). False when
 * D is too large or not even block_k = OCL_FLASH_KEY_STEP fits. */
bool ocl_flash_plan_choose(const ocl_flash_device *dev, const ocl_flash_tiles *forced,
                           int64_t heads, int64_t L, int64_t Sp, int64_t D,
                           ocl_flash_plan *plan);

/* The attention core's query kernel (core.c, core_tiled.c). AUTO: the tiled
 * one (mha_core_tiled_DM) on GPUs and other devices; on CPUs too from
 * OCL_CORE_TILED_MIN_ROWS_CPU packed query rows (Hq/Hkv heads x L: the rows
 * one of its work-groups can share K/V tiles between), the rows kernel
 * (mha_core_rows, a work-item per row) below that. Measured on the EPYC
 * under PoCL on a quiet machine (docs/performance.md), rows against tiled:
 * prefill (32 heads over 8, L = 2048) 3.0x (float32) and 5.3x (float16)
 * faster tiled; GQA decoding (4 heads per KV head, L = 1: 4 packed rows)
 * a tie in float32, tiled 1.06-1.10x faster in float16; decoding without
 * GQA (1 packed row) a tie in float32, rows 1.07-1.16x faster in float16.
 * Between 1 and 4 it is not measured. MHA_OPENCL_CORE forces one. A call with qk_matmul_output always
 * takes the rows kernel, the one that writes it; any other call takes the
 * tiled kernel when the rows kernel would run past the device's loop cap
 * (rows_past_cap: ocl_loops_core_rows above ocl_path_rules.loop_cap),
 * forced settings included, as the paths do. */
typedef enum ocl_core_kernel { OCL_CORE_AUTO, OCL_CORE_ROWS, OCL_CORE_TILED } ocl_core_kernel;
#define OCL_CORE_TILED_MIN_ROWS_CPU 4
bool ocl_core_use_tiled(ocl_core_kernel setting, bool cpu, bool qk, int64_t packed_rows,
                        bool rows_past_cap);
/* The tiled kernel's padded row DM: the smallest of 16, 32, .., 256 that
 * holds D and Dv; 0 past 256. */
int ocl_core_tile_width(int64_t D, int64_t Dv);
/* Keys per tile at row width dm: as many as fit local_mem (k and v rows of
 * dm floats each per key; local_mem 0: not reported), up to
 * OCL_CORE_TILE_KEYS; 0 when not one fits. */
#define OCL_CORE_TILE_KEYS 32
uint64_t ocl_core_tile_keys(uint64_t local_mem, int dm);

/* What the tiled kernel's launch knows of the device and the kernel. */
typedef struct ocl_core_device {
    size_t work_group;      /* the most work-items per group: the smallest of
                             * CL_KERNEL_WORK_GROUP_SIZE, the device's
                             * work-group and first work-item limits */
    uint64_t local_mem;     /* CL_DEVICE_LOCAL_MEM_SIZE (0: not reported) */
    unsigned compute_units; /* CL_DEVICE_MAX_COMPUTE_UNITS (0: unknown) */
    uint32_t loop_cap;      /* ocl_path_rules.loop_cap (0: none) */
} ocl_core_device;

/* One launch of mha_core_tiled_DM: row width dm, work-items per group
 * `rows` (packed query rows: the group = Hq/Hkv heads of one KV head, L
 * rows each), keys per local tile block_k, and the keys cut into `splits`
 * pieces of split_keys (whole tiles; splits 1: no split-K). */
typedef struct ocl_core_plan {
    int dm;
    unsigned rows, block_k, splits;
    int64_t split_keys;
} ocl_core_plan;
#define OCL_CORE_GROUP_ROWS 64    /* work-items per group, at most */
#define OCL_CORE_SPLITS_MAX 1024  /* pieces, at most (MHA_OPENCL_CORE_SPLITS too) */
/* Split-K cuts the keys until there are OCL_CORE_GROUPS_PER_UNIT
 * work-groups per compute unit (decoding), as the flash path does. */
#define OCL_CORE_GROUPS_PER_UNIT 4

typedef enum ocl_core_plan_result {
    OCL_CORE_PLAN_OK,
    OCL_CORE_PLAN_NO_TILE,  /* not one key's k and v rows fit local memory */
    OCL_CORE_PLAN_LOOP_CAP, /* within the loop cap the keys need more than
                             * OCL_CORE_SPLITS_MAX pieces */
} ocl_core_plan_result;

/* The launch for B*Hkv = kv_groups (batch, KV head) pairs of `packed`
 * query rows each (group * L) against T keys of head sizes D and Dv:
 * groups of a power of two rows up to OCL_CORE_GROUP_ROWS, the device's
 * limit and what `packed` needs; keys per tile from local memory; pieces:
 * `forced` (MHA_OPENCL_CORE_SPLITS, 0: none) or enough for
 * OCL_CORE_GROUPS_PER_UNIT groups per compute unit, then more while a piece
 * would run past the loop cap (ocl_loops_core_tiled), never more than the
 * key tiles, none empty. */
ocl_core_plan_result ocl_core_plan_choose(const ocl_core_device *dev, unsigned forced,
                                          int64_t kv_groups, int64_t packed, int64_t T,
                                          int64_t D, int64_t Dv, ocl_core_plan *plan);

/* Upper bounds of the loop iterations one work-item runs (every loop
 * counted, as for ocl_loops_fused): mha_core_tiled_DM over `tiles` key
 * tiles of the plan (its piece), and mha_core_rows over T keys (with the
 * second pass of qk_matmul_output's probabilities when asked). */
uint64_t ocl_loops_core_tiled(const ocl_core_plan *plan, int64_t tiles);
uint64_t ocl_loops_core_rows(int64_t T, int64_t D, int64_t Dv, bool probabilities);

#endif /* MHA_OPENCL_PATH_H */
