/*
 * shared.h - constants that the OpenCL plugin's C code and its kernels must
 * agree on, valid as both C and OpenCL C 1.2 (only #defines). The C side
 * includes it (plugins/opencl/internal.h, with cl/ on its include path);
 * program.c puts it first in every program's sources, before philox.cl and
 * common.cl.
 */
#ifndef MHA_CL_SHARED_H
#define MHA_CL_SHARED_H

/* Mask kinds: the attn_kind and kpm_kind arguments of the softmax and fused
 * kernels. */
#define OCL_MASK_NONE 0
#define OCL_MASK_BOOL 1  /* one byte per element, nonzero: masked (-inf) */
#define OCL_MASK_FLOAT 2 /* float32, added to the score */

/* Causal kinds: the `causal` argument; the values of mha_causal (mha.h,
 * checked by _Static_assert in plugins/opencl/internal.h). */
#define OCL_CAUSAL_NONE 0
#define OCL_CAUSAL_TOP_LEFT 1
#define OCL_CAUSAL_BOTTOM_RIGHT 2

/* mha_softmax_items: a work-item takes OCL_SOFTMAX_ITEM_VECTORS float8
 * vectors of rows, OCL_SOFTMAX_ITEM_ROWS rows of a plane. */
#define OCL_SOFTMAX_ITEM_VECTORS 32
#define OCL_SOFTMAX_ITEM_ROWS (8 * OCL_SOFTMAX_ITEM_VECTORS)

/* The fused kernels: a work-item takes OCL_FUSED_QUERY_VECTORS float8
 * vectors of queries, OCL_FUSED_ROWS queries of a head, and heads of at most
 * OCL_FUSED_HEAD_DIM_MAX values (its private arrays). */
#define OCL_FUSED_QUERY_VECTORS 3
#define OCL_FUSED_ROWS (8 * OCL_FUSED_QUERY_VECTORS)
#define OCL_FUSED_HEAD_DIM_MAX 128

/* mha_absorbed_scores: keys per work-item. mha_absorbed_values: columns per
 * work-item (two float8 vectors). */
#define OCL_ABSORBED_KEYS 8
#define OCL_ABSORBED_VALUE_COLUMNS 16

#endif /* MHA_CL_SHARED_H */
