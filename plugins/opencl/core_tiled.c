/*
 * core_tiled.c - the attention core's tiled query kernel (cl/core_tiled.cl)
 * on OpenCL: the kernel of the head sizes, its plan (rows per group, key
 * tile, split-K pieces: ocl_core_plan_choose in path.c, from the device's
 * limits), and the launches: mha_core_tiled_DM, then mha_core_combine when
 * the keys are cut into pieces. core.c prepares the buffers and the
 * geometry, chooses the kernel and calls it.
 */
#include <string.h>

#include "core.h"

/* The kernel of row width dm (ocl_core_tile_width). */
static ocl_kernel_id tiled_kernel(int dm)
{
    return dm <= 16 ? OCL_K_CORE_TILED_16 : dm <= 32 ? OCL_K_CORE_TILED_32
           : dm <= 64 ? OCL_K_CORE_TILED_64 : dm <= 128 ? OCL_K_CORE_TILED_128
                                                        : OCL_K_CORE_TILED_256;
}

static mha_status set_arg(cl_kernel kernel, const char *name, cl_uint index, size_t size,
                          const void *value)
{
    cl_int err = clSetKernelArg(kernel, index, size, value);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clSetKernelArg(%s, %u): %s (%d)",
                                   name, (unsigned)index, ocl_cl_error_name(err), (int)err);
    return MHA_STATUS_OK;
}

size_t ocl_core_work_group(const ocl_context *ctx, cl_kernel kernel)
{
    const ocl_device_limits *limits = &ctx->limits;
    size_t most = OCL_CORE_GROUP_ROWS, kernel_max = 0;
    if (limits->max_work_group > 0 && limits->max_work_group < most)
        most = limits->max_work_group;
    if (limits->max_work_item[0] > 0 && limits->max_work_item[0] < most)
        most = limits->max_work_item[0];
    if (clGetKernelWorkGroupInfo(kernel, ctx->device->device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof kernel_max, &kernel_max, NULL) == CL_SUCCESS &&
        kernel_max > 0 && kernel_max < most)
        most = kernel_max;
    return most;
}

uint64_t ocl_core_part_bytes(const ocl_core_plan *plan, const mha_core_problem *pr)
{
    if (plan->splits <= 1)
        return 0;
    return (uint64_t)plan->splits * (uint64_t)(pr->batch * pr->q_heads * pr->q_len) *
           (uint64_t)(pr->v_head_dim + 3) * sizeof(cl_float);
}

mha_status ocl_core_tiled_prepare(ocl_context *ctx, cl_program program,
                                  const mha_core_problem *pr, unsigned forced_splits,
                                  ocl_core_tiled *t)
{
    memset(t, 0, sizeof *t);
    const int dm = ocl_core_tile_width(pr->head_dim, pr->v_head_dim);
    const char *name = ocl_kernel_name(tiled_kernel(dm));
    mha_status status = ocl_create_kernel(ctx, program, name, &t->kernel);
    if (status != MHA_STATUS_OK)
        return status;
    const ocl_core_device dev = {ocl_core_work_group(ctx, t->kernel), ctx->limits.local_mem,
                                 ctx->device->info.compute_units, ctx->device->loop_cap};
    switch (ocl_core_plan_choose(&dev, forced_splits, pr->batch * pr->kv_heads,
                                 pr->group * pr->q_len, pr->total_len, pr->head_dim,
                                 pr->v_head_dim, &t->plan)) {
    case OCL_CORE_PLAN_OK:
        return MHA_STATUS_OK;
    case OCL_CORE_PLAN_NO_TILE:
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: %s: head sizes D = %lld and Dv = %lld need %llu bytes "
                                   "of local memory for a tile of one key (k and v rows of %d "
                                   "floats), more than the device's %llu",
                                   name, (long long)pr->head_dim, (long long)pr->v_head_dim,
                                   (unsigned long long)(2u * (uint64_t)dm * sizeof(cl_float)), dm,
                                   (unsigned long long)ctx->limits.local_mem);
    case OCL_CORE_PLAN_LOOP_CAP:
    default:
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: %s: %lld keys need more than %d split-K pieces to "
                                   "keep each work-item within the device's limit of %u loop "
                                   "iterations (%s: past it, results would be wrong)",
                                   name, (long long)pr->total_len, OCL_CORE_SPLITS_MAX,
                                   (unsigned)ctx->device->loop_cap, ctx->device->info.name);
    }
}

/* mha_core_combine over the pieces in `part`, into y. */
static mha_status run_combine(ocl_context *ctx, cl_command_queue queue, cl_program program,
                              const mha_core_problem *pr, const cl_mem *mems, cl_mem part,
                              cl_int splits)
{
    const char *name = ocl_kernel_name(OCL_K_CORE_COMBINE);
    cl_kernel kernel = NULL;
    mha_status status = ocl_create_kernel(ctx, program, name, &kernel);
    cl_int dtype = pr->dtype;
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, 0, sizeof(cl_mem), &mems[0]); /* geometry */
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, 1, sizeof(cl_mem), &part);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, 2, sizeof(cl_mem), &mems[OCL_CORE_TILED_MEMS - 1]); /* y */
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, 3, sizeof(cl_int), &dtype);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, 4, sizeof(cl_int), &splits);
    size_t local = ocl_core_work_group(ctx, kernel);
    const size_t items = (size_t)(pr->batch * pr->q_heads * pr->q_len * pr->v_head_dim);
    const size_t global = (items + local - 1) / local * local;
    if (status == MHA_STATUS_OK)
        status = ocl_limits_check_launch(&ctx->limits, ctx->device->device, kernel, name, local);
    if (status == MHA_STATUS_OK && items > 0) {
        cl_int err = ocl_fault(ctx, "clEnqueueNDRangeKernel");
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = ocl_host->set_error(ocl_cl_status(err),
                                         "opencl: clEnqueueNDRangeKernel(%s): %s (%d): global "
                                         "size %zu, local size %zu",
                                         name, ocl_cl_error_name(err), (int)err, global, local);
    }
    if (kernel)
        clReleaseKernel(kernel);
    return status;
}

mha_status ocl_core_tiled_run(ocl_context *ctx, cl_command_queue queue, cl_program program,
                              const ocl_core_tiled *t, const mha_core_problem *pr,
                              const cl_mem *mems)
{
    const ocl_core_plan *plan = &t->plan;
    const char *name = ocl_kernel_name(tiled_kernel(plan->dm));
    const size_t tile_bytes = (size_t)plan->block_k * (size_t)plan->dm * sizeof(cl_float);
    cl_kernel kernel = t->kernel;
    cl_mem part = NULL;
    cl_int err = CL_SUCCESS;
    const uint64_t part_bytes = ocl_core_part_bytes(plan, pr);
    if (part_bytes > 0) {
        err = ocl_fault(ctx, "clCreateBuffer");
        if (err == CL_SUCCESS)
            part = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)part_bytes, NULL, &err);
        if (err != CL_SUCCESS)
            return ocl_cl_fail(err, "clCreateBuffer");
    }

    cl_int dtype = pr->dtype, mask_dtype = pr->mask.data ? pr->mask.dtype : 0;
    cl_int attends = pr->mask_true_attends, nonpad_dtype = pr->nonpad.data ? pr->nonpad.dtype : 0;
    cl_int causal = pr->is_causal, from_nonpad = pr->offset_from_nonpad;
    cl_int block_k = (cl_int)plan->block_k, splits = (cl_int)plan->splits;
    cl_long split_keys = plan->split_keys;
    cl_float scale = pr->scale, softcap = pr->softcap;
    const void *ints[] = {&dtype, &mask_dtype, &attends, &nonpad_dtype, &causal, &from_nonpad};
    mha_status status = MHA_STATUS_OK;
    cl_uint arg = 0;
    for (int i = 0; i < OCL_CORE_TILED_MEMS && status == MHA_STATUS_OK; ++i)
        status = set_arg(kernel, name, arg++, sizeof(cl_mem), &mems[i]);
    for (int i = 0; i < 6 && status == MHA_STATUS_OK; ++i)
        status = set_arg(kernel, name, arg++, sizeof(cl_int), ints[i]);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_float), &scale);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_float), &softcap);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, tile_bytes, NULL); /* ks */
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, tile_bytes, NULL); /* vs */
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_int), &block_k);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_mem), &part);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_int), &splits);
    if (status == MHA_STATUS_OK)
        status = set_arg(kernel, name, arg++, sizeof(cl_long), &split_keys);

    const size_t rows = plan->rows;
    if (status == MHA_STATUS_OK)
        status = ocl_limits_check_launch(&ctx->limits, ctx->device->device, kernel, name, rows);
    const size_t local[3] = {rows, 1, 1};
    const size_t packed = (size_t)(pr->group * pr->q_len);
    const size_t global[3] = {(packed + rows - 1) / rows * rows,
                              (size_t)(pr->batch * pr->kv_heads), plan->splits};
    if (status == MHA_STATUS_OK && global[0] > 0 && global[1] > 0) {
        err = ocl_fault(ctx, "clEnqueueNDRangeKernel");
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(queue, kernel, 3, NULL, global, local, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = ocl_host->set_error(ocl_cl_status(err),
                                         "opencl: clEnqueueNDRangeKernel(%s): %s (%d): global "
                                         "size %zu x %zu x %zu, local size %zu x 1 x 1, %d keys "
                                         "per tile",
                                         name, ocl_cl_error_name(err), (int)err, global[0],
                                         global[1], global[2], rows, (int)block_k);
        if (status == MHA_STATUS_OK && part)
            status = run_combine(ctx, queue, program, pr, mems, part, splits);
    }
    if (part)
        clReleaseMemObject(part); /* freed once the kernels that use it are done */
    return status;
}

void ocl_core_tiled_release(ocl_core_tiled *t)
{
    if (t->kernel)
        clReleaseKernel(t->kernel);
    t->kernel = NULL;
}
