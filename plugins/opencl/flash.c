/* flash.c - the flash path (steps 4-7, cl/flash.cl): from the per-head Q^T
 * (N*H, D, L), K and V (N*H, S', D) blocks of mha_split_heads (or K and V
 * read from the projections in place when one block of queries covers a
 * head: ocl_flash_kv_in_place), one
 * mha_flash_DM launch writes the merged heads (rows (l, n)) for the output
 * projection; when the keys are cut into pieces (split-K, decoding),
 * mha_flash_combine merges the pieces' partial rows, held in att->scores
 * (the GEMM path's score matrix, unused here). Tiles: path.c's
 * ocl_flash_plan_choose from the kernel's and the device's limits, or
 * MHA_OPENCL_FLASH. */
#include "call.h"

static void arg_ulong4(ocl_args *a, uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3)
{
    cl_ulong4 v = {{s0, s1, s2, s3}};
    arg(a, sizeof v, &v);
}

/* The kernel's own local memory: CL_KERNEL_LOCAL_MEM_SIZE counts the
 * __local arguments as last set too (the tiles of an earlier call), so both
 * tile arguments are first set to one float each, and those two floats are
 * not counted. Only then is the kernel's CL_KERNEL_WORK_GROUP_SIZE asked as
 * well (it may depend on the local memory). */
static cl_int kernel_limits(const ocl_call *c, cl_kernel kernel, size_t *work_group,
                            cl_ulong *local)
{
    cl_device_id id = c->ctx->device->device;
    cl_uint args = 0;
    cl_int err = clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof args, &args, NULL);
    if (err == CL_SUCCESS && args < 2)
        err = CL_INVALID_KERNEL_ARGS;
    if (err == CL_SUCCESS) /* the key and value tiles are the last two */
        err = clSetKernelArg(kernel, args - 2, sizeof(cl_float), NULL);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, args - 1, sizeof(cl_float), NULL);
    if (err == CL_SUCCESS)
        err = clGetKernelWorkGroupInfo(kernel, id, CL_KERNEL_WORK_GROUP_SIZE,
                                       sizeof *work_group, work_group, NULL);
    if (err == CL_SUCCESS)
        err = clGetKernelWorkGroupInfo(kernel, id, CL_KERNEL_LOCAL_MEM_SIZE, sizeof *local,
                                       local, NULL);
    if (err == CL_SUCCESS)
        *local = *local > 2 * sizeof(cl_float) ? *local - 2 * sizeof(cl_float) : 0;
    return err;
}

/* The device as the tile choice sees it for `kernel`: its work-group limit,
 * the local memory its own variables leave, the compute units. */
static mha_status flash_device(const ocl_call *c, cl_kernel kernel, const char *name,
                               ocl_flash_device *dev)
{
    const ocl_device_limits *lim = &c->ctx->limits;
    size_t kernel_wg = 0;
    cl_ulong kernel_local = 0;
    const cl_int err = kernel_limits(c, kernel, &kernel_wg, &kernel_local);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err),
                                   "opencl: the work-group limits of %s "
                                   "(clGetKernelWorkGroupInfo): %s (%d)",
                                   name, ocl_cl_error_name(err), (int)err);
    size_t wg = kernel_wg;
    if (lim->max_work_group > 0 && lim->max_work_group < wg)
        wg = lim->max_work_group;
    if (lim->max_work_item[0] > 0 && lim->max_work_item[0] < wg)
        wg = lim->max_work_item[0];
    /* CL_DEVICE_LOCAL_MEM_SIZE is at least 32 KB on a full-profile device:
     * assumed when the driver does not say */
    const uint64_t local = lim->local_mem > 0 ? lim->local_mem : 32768u;
    dev->work_group = wg;
    dev->local_mem = local > kernel_local ? local - kernel_local : 0;
    dev->compute_units = c->ctx->device->info.compute_units;
    return MHA_STATUS_OK;
}

/* The kernel for head_dim D: mha_flash_16 .. mha_flash_128. */
static ocl_kernel_id flash_kernel(unsigned dm)
{
    return dm == 16 ? OCL_K_FLASH_16 : dm == 32 ? OCL_K_FLASH_32 : dm == 64 ? OCL_K_FLASH_64
                                                                           : OCL_K_FLASH_128;
}

mha_status ocl_flash_plan_of(const ocl_call *c, ocl_flash_plan *plan)
{
    const mha_problem *pr = c->pr;
    const unsigned dm = ocl_flash_head_tier(pr->head_dim);
    const ocl_kernel_id id = flash_kernel(dm);
    ocl_flash_device dev;
    mha_status st;
    if (dm == 0) /* path.c never takes the flash path then */
        return ocl_host->set_error(MHA_STATUS_INTERNAL,
                                   "opencl: flash path with head_dim %lld > %d",
                                   (long long)pr->head_dim, OCL_FLASH_HEAD_DIM_MAX);
    if ((st = flash_device(c, c->att->kernels[id], ocl_kernel_name(id), &dev)) != MHA_STATUS_OK)
        return st;
    if (!ocl_flash_plan_choose(&dev, &c->att->flash, pr->batch * pr->num_heads, pr->tgt_len,
                               pr->src_len_total, pr->head_dim, plan))
        return ocl_host->set_error(
            MHA_STATUS_UNSUPPORTED,
            "opencl: %s needs %zu bytes of local memory for its smallest tiles (2 x %d keys "
            "x %u floats) but the device leaves it %llu",
            ocl_kernel_name(id), (size_t)2 * OCL_FLASH_KEY_STEP * dm * sizeof(float),
            OCL_FLASH_KEY_STEP, dm, (unsigned long long)dev.local_mem);
    return MHA_STATUS_OK;
}

mha_status ocl_flash_attention(ocl_call *c, const ocl_kv *kv)
{
    ocl_attention *att = c->att;
    const mha_problem *pr = c->pr;
    const uint64_t N = (uint64_t)pr->batch, H = (uint64_t)pr->num_heads;
    const uint64_t L = (uint64_t)pr->tgt_len;
    const uint64_t D = (uint64_t)pr->head_dim, E = (uint64_t)pr->embed_dim, B = N * H;
    ocl_flash_plan plan;
    mha_status st;
    if ((st = ocl_flash_plan_of(c, &plan)) != MHA_STATUS_OK)
        return st;
    const unsigned dm = plan.dm;
    const ocl_kernel_id id = flash_kernel(dm);
    if ((st = ocl_reserve(c, &att->ocat, L * N * E * sizeof(float), "merged heads")) !=
        MHA_STATUS_OK)
        return st;
    const uint64_t splits = plan.splits;
    if (splits > 1 &&
        (st = ocl_reserve(c, &att->scores, splits * B * L * (2 + D) * sizeof(float),
                          "flash split-K partials")) != MHA_STATUS_OK)
        return st;
    cl_mem part = splits > 1 ? att->scores.mem : att->ocat.mem; /* unused without splits */
    const ocl_view *wout = c->wout;
    /* weights asked for: each row's max and 1/sum, for mha_flash_weights */
    if (wout && (st = ocl_reserve(c, &att->row_scale, B * L * 2 * sizeof(float),
                                  "flash row statistics")) != MHA_STATUS_OK)
        return st;
    cl_mem stats = wout ? att->row_scale.mem : att->ocat.mem; /* unused without weights */

    ocl_args a = ocl_args_of(c, id);
    arg_mem(&a, att->q_h.mem); /* Q^T per head: (n, h, l, d) at ((n H + h) D + d) L + l */
    arg_ulong(&a, 0);
    arg_ulong4(&a, H * D * L, D * L, 1, L);
    /* K and V: (n, h, j, d) at n*batch_stride + h*head_stride + j*key_stride + d */
    arg_mem(&a, kv->k);
    arg_ulong(&a, 0);
    arg_ulong4(&a, kv->batch_stride, kv->head_stride, kv->key_stride, 1);
    arg_mem(&a, kv->v);
    arg_ulong(&a, 0);
    arg_ulong4(&a, kv->batch_stride, kv->head_stride, kv->key_stride, 1);
    arg_mem(&a, att->biases.mem); /* in place: the in_proj bias of K and V, added here */
    arg_ulong(&a, att->off_bin + E);
    arg_ulong(&a, att->off_bin + 2 * E);
    arg_int(&a, kv->bias);
    arg_mem(&a, att->ocat.mem); /* merged heads: (n, h, l, d) at (l N + n) E + h D + d */
    arg_ulong(&a, 0);
    arg_ulong4(&a, E, D, N * E, 1);
    arg_mem(&a, part);
    arg_mem(&a, stats);
    arg_int(&a, wout && splits == 1);
    arg_int(&a, pr->batch);
    arg_int(&a, pr->num_heads);
    arg_int(&a, 1); /* query heads per key/value head */
    arg_int(&a, pr->tgt_len);
    arg_int(&a, pr->src_len);
    arg_int(&a, pr->src_len_total);
    arg_int(&a, pr->head_dim);
    arg_float(&a, pr->scale);
    arg_int(&a, plan.block_k);
    arg_int(&a, plan.splits);
    arg_int(&a, plan.split_keys);
    ocl_arg_masks(&a, c);
    arg(&a, (size_t)plan.block_k * dm * sizeof(cl_float), NULL); /* key tile */
    arg(&a, (size_t)plan.block_k * dm * sizeof(cl_float), NULL); /* value tile */
    const size_t groups = (size_t)(B * ((L + plan.block_q - 1) / plan.block_q) * splits);
    if ((st = ocl_launch(c, &a, groups * plan.block_q, plan.block_q)) != MHA_STATUS_OK)
        return st;
    if (splits > 1) {
        ocl_args m = ocl_args_of(c, OCL_K_FLASH_COMBINE);
        arg_mem(&m, part);
        arg_mem(&m, att->ocat.mem);
        arg_ulong(&m, 0);
        arg_ulong4(&m, E, D, N * E, 1);
        arg_mem(&m, stats);
        arg_int(&m, wout != NULL);
        arg_int(&m, pr->batch);
        arg_int(&m, pr->num_heads);
        arg_int(&m, pr->tgt_len);
        arg_int(&m, pr->head_dim);
        arg_int(&m, plan.splits);
        if ((st = ocl_launch(c, &m, (size_t)(B * L * D), 0)) != MHA_STATUS_OK)
            return st;
    }
    if (!wout)
        return ocl_mark(c, "flash", false);

    /* the weights, query-major: averaged over the heads (N, L, S') or per
     * head (N*H, L, S'), a work-item per element (timed as one stage with
     * the products: a stats record holds at most MHA_MAX_STAGES) */
    const bool average = c->args->average_attn_weights;
    const uint64_t planes = average ? N : B, Sp = (uint64_t)pr->src_len_total;
    ocl_args w = ocl_args_of(c, OCL_K_FLASH_WEIGHTS);
    arg_mem(&w, att->q_h.mem);
    arg_ulong(&w, 0);
    arg_ulong4(&w, H * D * L, D * L, 1, L);
    arg_mem(&w, kv->k);
    arg_ulong(&w, 0);
    arg_ulong4(&w, kv->batch_stride, kv->head_stride, kv->key_stride, 1);
    arg_mem(&w, stats);
    arg_mem(&w, wout->mem);
    arg_ulong(&w, wout->offset / sizeof(float));
    arg_int(&w, average ? pr->num_heads : 1);
    arg_int(&w, pr->batch);
    arg_int(&w, pr->num_heads);
    arg_int(&w, 1); /* query heads per key/value head */
    arg_int(&w, pr->tgt_len);
    arg_int(&w, pr->src_len);
    arg_int(&w, pr->src_len_total);
    arg_int(&w, pr->head_dim);
    arg_float(&w, pr->scale);
    ocl_arg_masks(&w, c);
    if ((st = ocl_launch(c, &w, (size_t)(planes * L * Sp), 0)) != MHA_STATUS_OK)
        return st;
    return ocl_mark(c, average ? "flash_average" : "flash_weights", false);
}
