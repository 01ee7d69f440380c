/*
 * core.c - the attention core on OpenCL (cl/core.cl): the host's rank-4
 * views become device buffers (a caller's cl_mem as it is, host memory
 * uploaded), their offsets and strides one `geometry` array, then
 * mha_core_copy_rows writes present / the in-place cache and mha_core_rows
 * (CPUs, qk_matmul_output) or mha_core_tiled_DM (core_tiled.c; with
 * split-K pieces merged by mha_core_combine) computes every query row. Host
 * outputs are read back before the call returns.
 *
 * A cl_mem cache (cache_key/cache_value) is appended in place: only its new
 * rows are written. A cache in host memory is uploaded and read back whole
 * (in place on the host, but not free of copies); give a cl_mem one to
 * decode without copying the past.
 */
#include <string.h>

#include "core.h"
#include "internal.h"

_Static_assert(OCL_DTYPE_F32 == MHA_DTYPE_F32 && OCL_DTYPE_BOOL == MHA_DTYPE_BOOL &&
                   OCL_DTYPE_F16 == MHA_DTYPE_F16 && OCL_DTYPE_BF16 == MHA_DTYPE_BF16 &&
                   OCL_DTYPE_I32 == MHA_DTYPE_I32 && OCL_DTYPE_I64 == MHA_DTYPE_I64,
               "cl/shared.h's dtype codes are mha_dtype's");

/* One view on the device: its buffer and where its elements start. */
typedef struct core_buffer {
    cl_mem mem;         /* the caller's (not owned) or ours */
    bool owned;
    bool read_back;     /* a host output: copied back after the kernels */
    const mha_view *view;
    size_t bytes;       /* what was uploaded / is read back (host views) */
    int64_t first;      /* element offset of the view in `mem` */
} core_buffer;

typedef struct core_call {
    ocl_context *ctx;
    const mha_core_problem *pr;
    cl_command_queue queue;
    bool own_queue;
    cl_long geometry[OCL_CORE_G_COUNT];
    cl_mem geometry_mem;
    core_buffer q, k, v, past_k, past_v, mask, nonpad, y, qk, present_k, present_v;
    cl_kernel rows, copy;
    bool tiled; /* the query rows by mha_core_tiled_DM (ocl_core_use_tiled) */
    ocl_core_tiled tiles; /* its kernel and plan, when tiled */
} core_call;

/* The extent of a view in elements (1 + the farthest element), 0 if empty. */
static int64_t extent_of(const mha_view *view)
{
    int64_t last = 0;
    for (int i = 0; i < view->rank; ++i) {
        if (view->shape[i] == 0)
            return 0;
        last += (view->shape[i] - 1) * view->strides[i];
    }
    return last + 1;
}

static int is_dense(const mha_view *view)
{
    int64_t step = 1;
    for (int i = view->rank - 1; i >= 0; --i) {
        if (view->shape[i] > 1 && view->strides[i] != step)
            return 0;
        step *= view->shape[i];
    }
    return 1;
}

static size_t element_size(const mha_view *view)
{
    return view->dtype == MHA_DTYPE_I64 ? 8 : view->dtype == MHA_DTYPE_BOOL ? 1
           : view->dtype == MHA_DTYPE_F32 || view->dtype == MHA_DTYPE_I32 ? 4 : 2;
}

/* The bytes of the buffer a host view gets (its extent; at least one element). */
static size_t host_bytes(const mha_view *view)
{
    int64_t extent = extent_of(view);
    return (size_t)(extent > 0 ? extent : 1) * element_size(view);
}

/* `buffer` for `view` (absent: no buffer). Inputs in host memory are
 * uploaded; host outputs get a buffer of their extent, uploaded first when
 * the view has gaps (so that reading it back leaves them as they were). */
static mha_status bind(core_call *c, core_buffer *buffer, const mha_view *view, bool output,
                       const char *what)
{
    memset(buffer, 0, sizeof *buffer);
    buffer->view = view;
    if (!view->data)
        return MHA_STATUS_OK;
    size_t element = element_size(view);
    if (view->memory == MHA_MEMORY_OPENCL_BUFFER) {
        if (view->offset % element != 0)
            return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                       "opencl: %s.offset is %llu, not a multiple of its %zu-byte "
                                       "elements",
                                       what, (unsigned long long)view->offset, element);
        memcpy(&buffer->mem, &view->data, sizeof buffer->mem);
        buffer->first = (int64_t)(view->offset / element);
        return MHA_STATUS_OK;
    }
    int64_t extent = extent_of(view);
    buffer->bytes = host_bytes(view);
    buffer->owned = true;
    buffer->read_back = output && extent > 0;
    bool upload = !output || !is_dense(view) || c->pr->present_aliases_past;
    cl_mem_flags flags = CL_MEM_READ_WRITE | (upload && extent > 0 ? CL_MEM_COPY_HOST_PTR : 0);
    cl_int err = ocl_fault(c->ctx, "clCreateBuffer");
    if (err == CL_SUCCESS)
        buffer->mem = clCreateBuffer(c->ctx->cl, flags, buffer->bytes,
                                     flags & CL_MEM_COPY_HOST_PTR ? view->data : NULL, &err);
    if (err != CL_SUCCESS) {
        buffer->mem = NULL;
        buffer->owned = false;
        return ocl_cl_fail(err, what);
    }
    return MHA_STATUS_OK;
}

static void put_view(core_call *c, int at, const core_buffer *buffer)
{
    c->geometry[at] = buffer->first;
    for (int i = 0; i < 4; ++i)
        c->geometry[at + 1 + i] = buffer->view->data ? buffer->view->strides[i] : 0;
}

static void fill_geometry(core_call *c)
{
    const mha_core_problem *pr = c->pr;
    cl_long *g = c->geometry;
    memset(g, 0, sizeof c->geometry);
    g[OCL_CORE_G_B] = pr->batch;
    g[OCL_CORE_G_HQ] = pr->q_heads;
    g[OCL_CORE_G_HKV] = pr->kv_heads;
    g[OCL_CORE_G_GROUP] = pr->group;
    g[OCL_CORE_G_L] = pr->q_len;
    g[OCL_CORE_G_S] = pr->kv_len;
    g[OCL_CORE_G_PAST] = pr->past_len;
    g[OCL_CORE_G_T] = pr->total_len;
    g[OCL_CORE_G_D] = pr->head_dim;
    g[OCL_CORE_G_DV] = pr->v_head_dim;
    g[OCL_CORE_G_MASK_COLS] = pr->mask_cols;
    g[OCL_CORE_G_LEFT] = pr->left_window;
    g[OCL_CORE_G_RIGHT] = pr->right_window;
    put_view(c, OCL_CORE_G_Q, &c->q);
    put_view(c, OCL_CORE_G_K, &c->k);
    put_view(c, OCL_CORE_G_V, &c->v);
    put_view(c, OCL_CORE_G_PAST_K, &c->past_k);
    put_view(c, OCL_CORE_G_PAST_V, &c->past_v);
    put_view(c, OCL_CORE_G_MASK, &c->mask);
    put_view(c, OCL_CORE_G_Y, &c->y);
    put_view(c, OCL_CORE_G_QK, &c->qk);
    put_view(c, OCL_CORE_G_PRESENT_K, &c->present_k);
    put_view(c, OCL_CORE_G_PRESENT_V, &c->present_v);
    g[OCL_CORE_G_NONPAD] = c->nonpad.first;
    g[OCL_CORE_G_NONPAD + 1] = pr->nonpad.data ? pr->nonpad.strides[0] : 0;
}

static mha_status set_args(cl_kernel kernel, const char *name, cl_uint count,
                           const size_t *sizes, const void *const *values)
{
    for (cl_uint i = 0; i < count; ++i) {
        cl_int err = clSetKernelArg(kernel, i, sizes[i], values[i]);
        if (err != CL_SUCCESS)
            return ocl_host->set_error(ocl_cl_status(err),
                                       "opencl: clSetKernelArg(%s, %u): %s (%d)", name, (unsigned)i,
                                       ocl_cl_error_name(err), (int)err);
    }
    return MHA_STATUS_OK;
}

static mha_status launch(core_call *c, cl_kernel kernel, const char *name, int64_t items)
{
    if (items <= 0)
        return MHA_STATUS_OK;
    size_t local = ocl_core_work_group(c->ctx, kernel);
    size_t global = ((size_t)items + local - 1) / local * local;
    cl_int err = ocl_fault(c->ctx, "clEnqueueNDRangeKernel");
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(c->queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL);
    if (err == CL_INVALID_WORK_GROUP_SIZE) { /* a device with smaller groups: let it choose */
        global = (size_t)items;
        err = clEnqueueNDRangeKernel(c->queue, kernel, 1, NULL, &global, NULL, 0, NULL, NULL);
    }
    if (err != CL_SUCCESS)
        return ocl_host->set_error(ocl_cl_status(err),
                                   "opencl: clEnqueueNDRangeKernel(%s): %s (%d): global size %zu, "
                                   "local size %zu",
                                   name, ocl_cl_error_name(err), (int)err, global, local);
    return MHA_STATUS_OK;
}

/* Every buffer the call creates for a host view against max_alloc, and all
 * of them with what the backend's attention objects hold against
 * global_mem, before any is created (the caller's cl_mem views exist
 * already and are not counted). */
static mha_status check_memory(const core_call *c, const mha_view *const *views,
                               const char *const *names, size_t count)
{
    const ocl_device_limits *limits = &c->ctx->limits;
    uint64_t total = atomic_load(&c->ctx->device_bytes) + sizeof c->geometry;
    const uint64_t part = c->tiled ? ocl_core_part_bytes(&c->tiles.plan, c->pr) : 0;
    if (part > 0) {
        mha_status status = ocl_limits_check_buffer(limits, "core split-K pieces",
                                                    "splits*B*Hq*L*(Dv+3) floats", part);
        if (status != MHA_STATUS_OK)
            return status;
        total += part;
    }
    for (size_t i = 0; i < count; ++i) {
        if (!views[i]->data || views[i]->memory != MHA_MEMORY_HOST)
            continue;
        const size_t bytes = host_bytes(views[i]);
        mha_status status = ocl_limits_check_buffer(limits, names[i], "the host view's extent",
                                                    bytes);
        if (status != MHA_STATUS_OK)
            return status;
        total += bytes;
    }
    return ocl_limits_check_total(limits, "the call (a buffer per host view)", total);
}

/* `rows` rows of every (batch, KV head) from one view to another. */
static mha_status copy_rows(core_call *c, const core_buffer *from, int from_at, int64_t from_row,
                            const core_buffer *to, int to_at, int64_t to_row, int64_t rows,
                            int64_t width)
{
    if (rows <= 0)
        return MHA_STATUS_OK;
    cl_int from_index = from_at, to_index = to_at;
    cl_long from_first = from_row, to_first = to_row, count = rows, columns = width;
    cl_int element = c->pr->dtype == MHA_DTYPE_F32 ? 4 : 2;
    const void *values[] = {&c->geometry_mem, &from->mem, &to->mem,  &from_index, &to_index,
                            &from_first,      &to_first,  &count,    &columns,    &element};
    const size_t sizes[] = {sizeof(cl_mem),  sizeof(cl_mem),  sizeof(cl_mem),  sizeof(cl_int),
                            sizeof(cl_int),  sizeof(cl_long), sizeof(cl_long), sizeof(cl_long),
                            sizeof(cl_long), sizeof(cl_int)};
    mha_status status = set_args(c->copy, "mha_core_copy_rows", 10, sizes, values);
    if (status == MHA_STATUS_OK)
        status = launch(c, c->copy, "mha_core_copy_rows",
                        c->pr->batch * c->pr->kv_heads * rows * width);
    return status;
}

static mha_status write_present(core_call *c)
{
    const mha_core_problem *pr = c->pr;
    if (!pr->present_key.data)
        return MHA_STATUS_OK;
    mha_status status = MHA_STATUS_OK;
    if (!pr->present_aliases_past && pr->past_len > 0) {
        status = copy_rows(c, &c->past_k, OCL_CORE_G_PAST_K, 0, &c->present_k,
                           OCL_CORE_G_PRESENT_K, 0, pr->past_len, pr->head_dim);
        if (status == MHA_STATUS_OK)
            status = copy_rows(c, &c->past_v, OCL_CORE_G_PAST_V, 0, &c->present_v,
                               OCL_CORE_G_PRESENT_V, 0, pr->past_len, pr->v_head_dim);
    }
    if (status == MHA_STATUS_OK)
        status = copy_rows(c, &c->k, OCL_CORE_G_K, 0, &c->present_k, OCL_CORE_G_PRESENT_K,
                           pr->past_len, pr->kv_len, pr->head_dim);
    if (status == MHA_STATUS_OK)
        status = copy_rows(c, &c->v, OCL_CORE_G_V, 0, &c->present_v, OCL_CORE_G_PRESENT_V,
                           pr->past_len, pr->kv_len, pr->v_head_dim);
    return status;
}

static mha_status run_rows(core_call *c)
{
    const mha_core_problem *pr = c->pr;
    cl_int dtype = pr->dtype, mask_dtype = pr->mask.data ? pr->mask.dtype : 0;
    cl_int attends = pr->mask_true_attends, nonpad_dtype = pr->nonpad.data ? pr->nonpad.dtype : 0;
    cl_int causal = pr->is_causal, from_nonpad = pr->offset_from_nonpad;
    cl_int qk_mode = pr->qk.data ? pr->qk_output_mode : -1;
    cl_float scale = pr->scale, softcap = pr->softcap;
    const void *values[] = {&c->geometry_mem, &c->q.mem,      &c->k.mem,      &c->v.mem,
                            &c->past_k.mem,   &c->past_v.mem, &c->mask.mem,   &c->nonpad.mem,
                            &c->y.mem,        &c->qk.mem,     &dtype,         &mask_dtype,
                            &attends,         &nonpad_dtype,  &causal,        &from_nonpad,
                            &qk_mode,         &scale,         &softcap};
    size_t sizes[19];
    for (int i = 0; i < 10; ++i)
        sizes[i] = sizeof(cl_mem);
    for (int i = 10; i < 17; ++i)
        sizes[i] = sizeof(cl_int);
    sizes[17] = sizes[18] = sizeof(cl_float);
    mha_status status = set_args(c->rows, "mha_core_rows", 19, sizes, values);
    if (status == MHA_STATUS_OK)
        status = launch(c, c->rows, "mha_core_rows", pr->batch * pr->q_heads * pr->q_len);
    return status;
}

/* Every query row, by the kernel the call chose. */
static mha_status run_query(core_call *c, cl_program program)
{
    if (!c->tiled)
        return run_rows(c);
    const cl_mem mems[OCL_CORE_TILED_MEMS] = {c->geometry_mem, c->q.mem,      c->k.mem,
                                              c->v.mem,        c->past_k.mem, c->past_v.mem,
                                              c->mask.mem,     c->nonpad.mem, c->y.mem};
    return ocl_core_tiled_run(c->ctx, c->queue, program, &c->tiles, c->pr, mems);
}

static mha_status read_back(core_call *c)
{
    core_buffer *outputs[] = {&c->y, &c->qk, &c->present_k, &c->present_v};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; ++i) {
        core_buffer *out = outputs[i];
        if (!out->read_back)
            continue;
        cl_int err = ocl_fault(c->ctx, "clEnqueueReadBuffer");
        if (err == CL_SUCCESS)
            err = clEnqueueReadBuffer(c->queue, out->mem, CL_TRUE, 0, out->bytes, out->view->data,
                                      0, NULL, NULL);
        if (err != CL_SUCCESS)
            return ocl_cl_fail(err, "clEnqueueReadBuffer");
    }
    /* Outputs that are all cl_mem: the work is enqueued; finish it so the
     * caller's next use on another queue sees it (no event is handed out). */
    cl_int err = clFinish(c->queue);
    return err == CL_SUCCESS ? MHA_STATUS_OK : ocl_cl_fail(err, "clFinish");
}

static void release(core_call *c)
{
    core_buffer *buffers[] = {&c->q,  &c->k, &c->v,  &c->past_k,    &c->past_v,   &c->mask,
                              &c->nonpad, &c->y, &c->qk, &c->present_k, &c->present_v};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; ++i)
        if (buffers[i]->owned && buffers[i]->mem)
            clReleaseMemObject(buffers[i]->mem);
    if (c->geometry_mem)
        clReleaseMemObject(c->geometry_mem);
    if (c->rows)
        clReleaseKernel(c->rows);
    if (c->copy)
        clReleaseKernel(c->copy);
    ocl_core_tiled_release(&c->tiles);
    if (c->own_queue && c->queue)
        clReleaseCommandQueue(c->queue);
}

mha_status ocl_core_forward(void *context, const mha_core_problem *problem,
                            const mha_core_args *args)
{
    ocl_context *ctx = context;
    if (args->next)
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: the core takes no extension yet (args.next type 0x%x)",
                                   (unsigned)args->next->type);
    if (problem->head_dim > OCL_CORE_HEAD_DIM_MAX || problem->v_head_dim > OCL_CORE_HEAD_DIM_MAX)
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: head sizes D = %lld and Dv = %lld but the core takes at "
                                   "most %d",
                                   (long long)problem->head_dim, (long long)problem->v_head_dim,
                                   OCL_CORE_HEAD_DIM_MAX);
    ocl_core_kernel setting = OCL_CORE_AUTO;
    unsigned splits = 0;
    mha_status status = ocl_settings_core(&setting, &splits);
    if (status != MHA_STATUS_OK)
        return status;
    /* A device whose loop limiter would cut mha_core_rows short (llvmpipe):
     * the tiled kernel, in pieces that fit, unless qk_matmul_output needs
     * the rows kernel. */
    const bool qk = problem->qk.data != NULL;
    const uint32_t cap = ctx->device->loop_cap;
    const uint64_t rows_loops =
        ocl_loops_core_rows(problem->total_len, problem->head_dim, problem->v_head_dim,
                            qk && problem->qk_output_mode == 3);
    if (qk && cap && rows_loops > cap)
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: qk_matmul_output is written by mha_core_rows, whose "
                                   "work-items would run up to %llu loop iterations over %lld "
                                   "keys (D = %lld, Dv = %lld), past the device's limit of %u (%s: "
                                   "past it, results would be wrong)",
                                   (unsigned long long)rows_loops, (long long)problem->total_len,
                                   (long long)problem->head_dim, (long long)problem->v_head_dim,
                                   (unsigned)cap, ctx->device->info.name);
    core_call c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.pr = problem;
    c.tiled = ocl_core_use_tiled(setting, ctx->device->kind == OCL_DEVICE_CPU, qk,
                                 problem->group * problem->q_len, cap && rows_loops > cap);
    cl_program program = NULL;
    status = ocl_context_program(ctx, OCL_PROGRAM_CORE, &program);
    if (status == MHA_STATUS_OK && c.tiled)
        status = ocl_core_tiled_prepare(ctx, program, problem, splits, &c.tiles);
    if (status == MHA_STATUS_OK)
        status = ocl_create_kernel(ctx, program, ocl_kernel_name(OCL_K_CORE_ROWS), &c.rows);
    if (status == MHA_STATUS_OK)
        status = ocl_create_kernel(ctx, program, ocl_kernel_name(OCL_K_CORE_COPY_ROWS), &c.copy);
    if (status != MHA_STATUS_OK)
        goto done;
    if (ctx->queue) {
        c.queue = ctx->queue;
    } else {
        cl_int err = ocl_fault(ctx, "clCreateCommandQueue");
        if (err == CL_SUCCESS)
            c.queue = clCreateCommandQueue(ctx->cl, ctx->device->device, 0, &err);
        if (err != CL_SUCCESS) {
            c.queue = NULL;
            status = ocl_cl_fail(err, "clCreateCommandQueue");
            goto done;
        }
        c.own_queue = true;
    }
    const mha_core_problem *pr = problem;
    struct {
        core_buffer *buffer;
        const mha_view *view;
        bool output;
        const char *name;
    } binds[] = {
        {&c.q, &pr->q, false, "q"},
        {&c.k, &pr->k, false, "k"},
        {&c.v, &pr->v, false, "v"},
        {&c.mask, &pr->mask, false, "attn_mask"},
        {&c.nonpad, &pr->nonpad, false, "nonpad_kv_seqlen"},
        {&c.y, &pr->y, true, "y"},
        {&c.qk, &pr->qk, true, "qk_matmul_output"},
        {&c.present_k, &pr->present_key, true, "present_key"},
        {&c.present_v, &pr->present_value, true, "present_value"},
    };
    {
        const bool past = !pr->present_aliases_past;
        const mha_view *views[] = {&pr->q, &pr->k, &pr->v, &pr->mask, &pr->nonpad, &pr->y, &pr->qk,
                                   &pr->present_key, &pr->present_value, &pr->past_key,
                                   &pr->past_value};
        const char *names[] = {"q", "k", "v", "attn_mask", "nonpad_kv_seqlen", "y",
                               "qk_matmul_output", "present_key", "present_value", "past_key",
                               "past_value"};
        status = check_memory(&c, views, names, past ? 11 : 9);
    }
    for (size_t i = 0; i < sizeof binds / sizeof binds[0] && status == MHA_STATUS_OK; ++i)
        status = bind(&c, binds[i].buffer, binds[i].view, binds[i].output, binds[i].name);
    if (status != MHA_STATUS_OK)
        goto done;
    /* The past: its own buffers, or the in-place cache's (the same memory as
     * present, which holds the past rows). */
    if (pr->present_aliases_past) {
        c.past_k = c.present_k;
        c.past_v = c.present_v;
        c.past_k.owned = c.past_v.owned = c.past_k.read_back = c.past_v.read_back = false;
        c.past_k.view = &pr->past_key;
        c.past_v.view = &pr->past_value;
    } else if ((status = bind(&c, &c.past_k, &pr->past_key, false, "past_key")) != MHA_STATUS_OK ||
               (status = bind(&c, &c.past_v, &pr->past_value, false, "past_value")) !=
                   MHA_STATUS_OK) {
        goto done;
    }
    fill_geometry(&c);
    cl_int err = ocl_fault(ctx, "clCreateBuffer");
    if (err == CL_SUCCESS)
        c.geometry_mem = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                        sizeof c.geometry, c.geometry, &err);
    if (err != CL_SUCCESS) {
        c.geometry_mem = NULL;
        status = ocl_cl_fail(err, "clCreateBuffer");
        goto done;
    }
    if ((status = write_present(&c)) == MHA_STATUS_OK && (status = run_query(&c, program)) == MHA_STATUS_OK)
        status = read_back(&c);

done:
    if (status != MHA_STATUS_OK && c.queue)
        clFinish(c.queue); /* nothing of ours may still run on released buffers */
    release(&c);
    return status;
}
