/* core.h - the attention core on OpenCL (core.c, cl/core.cl; core_tiled.c,
 * cl/core_tiled.cl). */
#ifndef MHA_OPENCL_CORE_H
#define MHA_OPENCL_CORE_H

#include "internal.h"
#include "mha/plugin.h"

/* The features and storage dtypes of the core (context capabilities). */
#define OCL_CORE_FEATURES MHA_CORE_ALL
#define OCL_CORE_DTYPES (1u << MHA_DTYPE_F32 | 1u << MHA_DTYPE_F16 | 1u << MHA_DTYPE_BF16)

/* mha_plugin_i.core_forward: a validated problem on the context's device. */
mha_status ocl_core_forward(void *context, const mha_core_problem *problem,
                            const mha_core_args *args);

/* Runs mha_core_tiled_DM of `program` on `queue` for every query row of the
 * problem (the choice of kernel and tiles: ocl_core_* in path.h): mems are the buffers of g, q, k, v, past_k, past_v, mask, nonpad
 * and y, in the kernel's order. UNSUPPORTED, naming the sizes, when no tile
 * fits the device's local memory. */
#define OCL_CORE_TILED_MEMS 9
mha_status ocl_core_tiled_run(ocl_context *ctx, cl_command_queue queue, cl_program program,
                              const mha_core_problem *pr, const cl_mem *mems);

#endif
