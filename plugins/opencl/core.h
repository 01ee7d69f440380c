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

/* Work-items per group for a core kernel: OCL_CORE_GROUP_ROWS (64), or as
 * many as the device's work-group and first work-item limits and the
 * kernel's CL_KERNEL_WORK_GROUP_SIZE allow. */
size_t ocl_core_work_group(const ocl_context *ctx, cl_kernel kernel);

/* The tiled query kernel of one call: mha_core_tiled_DM of the call's head
 * sizes and its plan (path.h). */
typedef struct ocl_core_tiled {
    cl_kernel kernel;
    ocl_core_plan plan;
} ocl_core_tiled;

/* Creates the kernel and chooses the plan from the device's limits (forced
 * pieces: MHA_OPENCL_CORE_SPLITS, 0: none); UNSUPPORTED, naming the sizes,
 * when no key tile fits local memory or the keys cannot be cut into pieces
 * within the device's loop cap. ocl_core_tiled_release in any case. */
mha_status ocl_core_tiled_prepare(ocl_context *ctx, cl_program program,
                                  const mha_core_problem *pr, unsigned forced_splits,
                                  ocl_core_tiled *tiled);
/* Bytes of the split-K partial buffer the plan needs (0: no pieces). */
uint64_t ocl_core_part_bytes(const ocl_core_plan *plan, const mha_core_problem *pr);
/* Runs the prepared kernel of `program` on `queue` for every query row of
 * the problem, then mha_core_combine when the keys are in pieces: mems are
 * the buffers of g, q, k, v, past_k, past_v, mask, nonpad and y, in the
 * kernel's order. */
#define OCL_CORE_TILED_MEMS 9
mha_status ocl_core_tiled_run(ocl_context *ctx, cl_command_queue queue, cl_program program,
                              const ocl_core_tiled *tiled, const mha_core_problem *pr,
                              const cl_mem *mems);
void ocl_core_tiled_release(ocl_core_tiled *tiled);

#endif
