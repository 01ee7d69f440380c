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

/* The flash kernels (cl/flash.cl): keys per online-softmax step (block_k,
 * the keys of a tile in local memory, is a multiple of it), and the largest
 * head_dim (kernels for 16, 32, 64 and 128). */
#define OCL_FLASH_KEY_STEP 16
#define OCL_FLASH_HEAD_DIM_MAX 128

/* mha_absorbed_scores: keys per work-item. mha_absorbed_values: columns per
 * work-item (two float8 vectors). */
#define OCL_ABSORBED_KEYS 8
#define OCL_ABSORBED_VALUE_COLUMNS 16

/* The attention core (cl/core.cl, plugins/opencl/core.c). Storage dtypes
 * are mha_dtype's values (checked in core.c). */
#define OCL_DTYPE_F32 1
#define OCL_DTYPE_BOOL 2
#define OCL_DTYPE_F16 3
#define OCL_DTYPE_BF16 4
#define OCL_DTYPE_I32 5
#define OCL_DTYPE_I64 6
/* D and Dv at most this: mha_core_rows keeps a query row and an output row
 * in private arrays. */
#define OCL_CORE_HEAD_DIM_MAX 256
/* The `geometry` argument: sizes, then per view its element offset and four
 * element strides (nonpad: offset and one stride). */
#define OCL_CORE_G_B 0
#define OCL_CORE_G_HQ 1
#define OCL_CORE_G_HKV 2
#define OCL_CORE_G_GROUP 3
#define OCL_CORE_G_L 4
#define OCL_CORE_G_S 5
#define OCL_CORE_G_PAST 6
#define OCL_CORE_G_T 7
#define OCL_CORE_G_D 8
#define OCL_CORE_G_DV 9
#define OCL_CORE_G_MASK_COLS 10
#define OCL_CORE_G_LEFT 11
#define OCL_CORE_G_RIGHT 12
#define OCL_CORE_G_Q 13
#define OCL_CORE_G_K 18
#define OCL_CORE_G_V 23
#define OCL_CORE_G_PAST_K 28
#define OCL_CORE_G_PAST_V 33
#define OCL_CORE_G_MASK 38
#define OCL_CORE_G_Y 43
#define OCL_CORE_G_QK 48
#define OCL_CORE_G_PRESENT_K 53
#define OCL_CORE_G_PRESENT_V 58
#define OCL_CORE_G_NONPAD 63
#define OCL_CORE_G_COUNT 65

#endif /* MHA_CL_SHARED_H */
