/* attention.c - attention objects: own queue and kernels (the common ones at
 * creation, a path's own at its first call), weights uploaded once. */
#include <string.h>

#include "internal.h"

#define OCL_SOFTMAX_WG_CAP 256

mha_status ocl_attention_kernels(ocl_attention *att, ocl_program_id id)
{
    cl_program program = NULL;
    bool missing = false;
    for (int k = 0; k < OCL_KERNEL_COUNT; ++k)
        missing |= ocl_kernel_program((ocl_kernel_id)k) == id && !att->kernels[k];
    if (!missing)
        return MHA_STATUS_OK;
    mha_status st = ocl_context_program(att->context, id, &program);
    for (int k = 0; k < OCL_KERNEL_COUNT && st == MHA_STATUS_OK; ++k)
        if (ocl_kernel_program((ocl_kernel_id)k) == id && !att->kernels[k])
            st = ocl_create_kernel(att->context, program, ocl_kernel_name((ocl_kernel_id)k),
                               &att->kernels[k]);
    for (int k = 0; k < OCL_KERNEL_COUNT && st != MHA_STATUS_OK; ++k)
        if (ocl_kernel_program((ocl_kernel_id)k) == id && att->kernels[k]) {
            clReleaseKernel(att->kernels[k]); /* all of the program's, or none */
            att->kernels[k] = NULL;
        }
    return st;
}

/* The largest power of two the softmax kernel may use as its local size:
 * within the kernel's and the device's work-group limits (ctx->limits), and
 * its local memory, a float per work-item. */
static mha_status softmax_group_limit(ocl_attention *att)
{
    cl_device_id dev = att->context->device->device;
    const ocl_device_limits *limits = &att->context->limits;
    size_t kernel_max = 0;
    cl_int err = clGetKernelWorkGroupInfo(att->kernels[OCL_K_SOFTMAX], dev, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof kernel_max, &kernel_max, NULL);
    if (err != CL_SUCCESS)
        return ocl_cl_fail(err, "clGetKernelWorkGroupInfo(mha_softmax)");
    size_t cap = OCL_SOFTMAX_WG_CAP;
    if (kernel_max < cap)
        cap = kernel_max;
    if (limits->max_work_group > 0 && limits->max_work_group < cap)
        cap = limits->max_work_group;
    if (limits->max_work_item[0] > 0 && limits->max_work_item[0] < cap)
        cap = limits->max_work_item[0];
    if (limits->local_mem > 0 && limits->local_mem / sizeof(cl_float) < cap)
        cap = (size_t)(limits->local_mem / sizeof(cl_float));
    size_t wg = 1;
    while (wg * 2 <= cap)
        wg *= 2;
    att->softmax_wg_max = wg;
    return MHA_STATUS_OK;
}

static mha_status write_floats(ocl_attention *att, cl_mem mem, size_t offset, const float *src,
                               size_t count, const char *what)
{
    cl_int err = ocl_fault(att->context, "clEnqueueWriteBuffer");
    if (err == CL_SUCCESS)
        err = clEnqueueWriteBuffer(att->queue, mem, CL_TRUE, offset * sizeof(float),
                                   count * sizeof(float), src, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clEnqueueWriteBuffer(%s): %s (%d)",
                                   what, ocl_cl_error_name(err), (int)err);
    return MHA_STATUS_OK;
}

/* Uploads W (rows, cols), row-major as PyTorch keeps it, transposed: W^T
 * (cols, rows) in a buffer of its own. `staging` holds rows*cols floats. */
static mha_status upload_transposed(ocl_attention *att, ocl_buffer *dst, const float *w,
                                    size_t rows, size_t cols, float *staging, const char *what)
{
    mha_status st = ocl_buffer_create(att->context, &att->stats, dst, CL_MEM_READ_ONLY,
                                      rows * cols * sizeof(float), what);
    if (st != MHA_STATUS_OK)
        return st;
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c)
            staging[c * rows + r] = w[r * cols + c];
    return write_floats(att, dst->mem, 0, staging, rows * cols, what);
}

static mha_status upload_weights(ocl_attention *att, const mha_weights *w)
{
    const size_t E = (size_t)att->E, kd = (size_t)att->kdim, vd = (size_t)att->vdim;
    const size_t widest = kd > vd ? (kd > E ? kd : E) : (vd > E ? vd : E);
    const float *wq = w->in_proj_weight ? w->in_proj_weight : w->q_proj_weight;
    const float *wk = w->in_proj_weight ? w->in_proj_weight + E * E : w->k_proj_weight;
    const float *wv = w->in_proj_weight ? w->in_proj_weight + 2 * E * E : w->v_proj_weight;
    float *staging = ocl_host->alloc(E * widest * sizeof(float));
    if (!staging)
        return ocl_out_of_host_memory("weights staging");
    mha_status st = upload_transposed(att, &att->w_q, wq, E, E, staging, "q_proj_weight");
    if (st == MHA_STATUS_OK)
        st = upload_transposed(att, &att->w_k, wk, E, kd, staging, "k_proj_weight");
    if (st == MHA_STATUS_OK)
        st = upload_transposed(att, &att->w_v, wv, E, vd, staging, "v_proj_weight");
    if (st == MHA_STATUS_OK)
        st = upload_transposed(att, &att->w_o, w->out_proj_weight, E, E, staging,
                               "out_proj_weight");
    ocl_host->free(staging);
    if (st != MHA_STATUS_OK)
        return st;

    /* The biases in one buffer, written in one piece, zeros where a bias is
     * absent: every element is initialised (Oclgrind's uninitialised-value
     * checker also loses track of writes at a nonzero offset,
     * docs/portability.md). */
    att->off_bin = 0;
    att->off_bo = att->off_bin + 3 * E;
    att->off_bias_k = att->off_bo + E;
    att->off_bias_v = att->off_bias_k + E;
    const size_t total = att->off_bias_v + E;
    float *biases = ocl_host->alloc(total * sizeof(float));
    if (!biases)
        return ocl_out_of_host_memory("biases staging");
    memset(biases, 0, total * sizeof(float));
    if (att->bias) {
        memcpy(biases + att->off_bin, w->in_proj_bias, 3 * E * sizeof(float));
        memcpy(biases + att->off_bo, w->out_proj_bias, E * sizeof(float));
    }
    if (att->add_bias_kv) {
        memcpy(biases + att->off_bias_k, w->bias_k, E * sizeof(float));
        memcpy(biases + att->off_bias_v, w->bias_v, E * sizeof(float));
    }
    st = ocl_buffer_create(att->context, &att->stats, &att->biases, CL_MEM_READ_ONLY,
                           total * sizeof(float), "biases");
    if (st == MHA_STATUS_OK)
        st = write_floats(att, att->biases.mem, 0, biases, total, "biases");
    ocl_host->free(biases);
    return st;
}

mha_status ocl_attention_create(void *context, const mha_config *config,
                                const mha_weights *weights, void **attention)
{
    ocl_context *ctx = context;
    ocl_attention *att = NULL;
    mha_status st = MHA_STATUS_OK;
    cl_int err = CL_SUCCESS;

    *attention = NULL;
    att = ocl_host->calloc(1, sizeof *att);
    if (!att) {
        st = ocl_out_of_host_memory("attention object");
        goto done;
    }
    att->context = ctx;
    att->E = config->embed_dim;
    att->H = config->num_heads;
    att->D = config->embed_dim / config->num_heads;
    att->kdim = config->kdim ? config->kdim : config->embed_dim;
    att->vdim = config->vdim ? config->vdim : config->embed_dim;
    att->bias = config->bias;
    att->add_bias_kv = config->add_bias_kv;
    att->add_zero_attn = config->add_zero_attn;
    att->dropout = config->dropout;

    if (ctx->queue) { /* the caller's */
        clRetainCommandQueue(ctx->queue);
        att->queue = ctx->queue;
        att->queue_profiling = ctx->queue_profiling;
    } else {
        /* Profiling on: the stage times of mha_attention_get_stats. */
        err = ocl_fault(ctx, "clCreateCommandQueue");
        if (err == CL_SUCCESS)
            att->queue = clCreateCommandQueue(ctx->cl, ctx->device->device,
                                              CL_QUEUE_PROFILING_ENABLE, &err);
        if (err != CL_SUCCESS) {
            att->queue = NULL;
            st = ocl_cl_fail(err, "clCreateCommandQueue");
            goto done;
        }
        att->queue_profiling = true;
    }
    /* the common kernels now; a path's own at its first call */
    if ((st = ocl_attention_kernels(att, OCL_PROGRAM_COMMON)) != MHA_STATUS_OK)
        goto done;
    if ((st = softmax_group_limit(att)) != MHA_STATUS_OK)
        goto done;
    ocl_settings_forced(&att->path, &att->softmax);
    if ((st = ocl_settings_flash(&att->flash)) != MHA_STATUS_OK)
        goto done;
    /* what MHA_OPENCL_FLASH leaves unset, from the device's tuning file */
    if (att->flash.block_q == 0)
        att->flash.block_q = ctx->flash_tuning.block_q;
    if (att->flash.block_k == 0)
        att->flash.block_k = ctx->flash_tuning.block_k;
    if (att->flash.splits == 0)
        att->flash.splits = ctx->flash_tuning.splits;
    if ((st = upload_weights(att, weights)) != MHA_STATUS_OK)
        goto done;
    *attention = att;
    att = NULL;
done:
    ocl_attention_destroy(att);
    return st;
}

void ocl_attention_destroy(void *attention)
{
    ocl_attention *att = attention;
    if (!att)
        return;
    if (att->last_event) { /* the last call, on whichever queue */
        clWaitForEvents(1, &att->last_event);
        ocl_event_release(att->context, att->last_event);
    }
    if (att->queue)
        clFinish(att->queue);
    ocl_attention_drop_marks(att);
    ocl_buffer *buffers[] = {&att->w_q,       &att->w_k,  &att->w_v,   &att->w_o,
                             &att->biases,    &att->x_q,  &att->x_k,   &att->x_v,
                             &att->xt_q,      &att->xt_k, &att->xt_v,
                             &att->proj_q,    &att->proj_k, &att->proj_v,
                             &att->q_h,       &att->k_h,  &att->v_h,
                             &att->scores,    &att->row_scale,         &att->o_h,
                             &att->ocat,      &att->y,   &att->out,    &att->avg,
                             &att->attn_mask, &att->kpm, &att->gemm_temp};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; ++i)
        ocl_buffer_release(att->context, &att->stats, buffers[i]);
    for (int k = 0; k < OCL_KERNEL_COUNT; ++k)
        if (att->kernels[k])
            clReleaseKernel(att->kernels[k]);
    if (att->queue)
        clReleaseCommandQueue(att->queue);
    ocl_host->free(att);
}

void ocl_attention_drop_marks(ocl_attention *att)
{
    for (unsigned i = 0; i < att->mark_count; ++i)
        ocl_event_release(att->context, att->marks[i]);
    att->mark_count = 0;
}

static bool mark_end(cl_event event, cl_ulong *ns)
{
    return clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof *ns, ns, NULL) ==
           CL_SUCCESS;
}

/* Turns the markers of the last forward into stage times: stage i lasts from
 * the end of marker i (everything before it done, in-order queue) to the end
 * of marker i + 1. Waits for the forward if it still runs. A device whose
 * profiling clock did not move over the whole forward measured nothing
 * (rusticl in Mesa 22.3 stamps every command 0, 1, 2 and 3 ns): its stages
 * are still listed, since they tell the path taken, each with 0 ms, which
 * docs/opencl.md defines as "not measured". */
static void resolve_marks(ocl_attention *att)
{
    const unsigned n = att->mark_count;
    att->stage_count = 0;
    if (n >= 2 && clWaitForEvents(1, &att->marks[n - 1]) == CL_SUCCESS) {
        cl_ulong first = 0, prev = 0, end = 0;
        bool ok = mark_end(att->marks[0], &first);
        prev = first;
        for (unsigned i = 1; ok && i < n; ++i) {
            ok = mark_end(att->marks[i], &end);
            att->stage_ms[i - 1] = end >= prev ? (double)(end - prev) * 1e-6 : 0.0;
            prev = end;
        }
        for (unsigned i = 1; ok && end <= first && i < n; ++i)
            att->stage_ms[i - 1] = 0.0; /* not measured */
        if (ok)
            att->stage_count = n - 1;
    }
    ocl_attention_drop_marks(att);
}

mha_status ocl_attention_stats(void *attention, mha_attention_stats *stats)
{
    ocl_attention *att = attention;
    if (att->mark_count > 0)
        resolve_marks(att);
    stats->device_allocations = att->stats.allocations;
    stats->device_bytes = att->stats.bytes;
    stats->device_bytes_peak = att->stats.bytes_peak;
    stats->stage_count = att->stage_count;
    for (unsigned i = 0; i < att->stage_count && i < MHA_MAX_STAGES; ++i) {
        stats->stages[i].name = att->stage_names[i];
        stats->stages[i].milliseconds = att->stage_ms[i];
        stats->stages[i].is_gemm = att->stage_gemm[i];
    }
    return MHA_STATUS_OK;
}
