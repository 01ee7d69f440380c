/* core.h - the attention core on OpenCL (core.c, cl/core.cl). */
#ifndef MHA_OPENCL_CORE_H
#define MHA_OPENCL_CORE_H

#include "mha/plugin.h"

/* The features and storage dtypes of the core (context capabilities). */
#define OCL_CORE_FEATURES MHA_CORE_ALL
#define OCL_CORE_DTYPES (1u << MHA_DTYPE_F32 | 1u << MHA_DTYPE_F16 | 1u << MHA_DTYPE_BF16)

/* mha_plugin_i.core_forward: a validated problem on the context's device. */
mha_status ocl_core_forward(void *context, const mha_core_problem *problem,
                            const mha_core_args *args);

#endif
