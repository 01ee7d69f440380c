/*
 * test_interop.c - the OpenCL plugin on the caller's cl_context and queue
 * (mha_backend_open_with + MHA_OPENCL_EXT_CONTEXT), with tensors in cl_mem
 * buffers at non-zero byte offsets (MHA_MEMORY_OPENCL_BUFFER) and per-call
 * queues and events (MHA_OPENCL_EXT_FORWARD). Results are compared with the
 * host-pointer path of the same backend (identical bits: same kernels, same
 * order) and with the reference plugin (OCL_TOL, ocl_test.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mha/mha.h"
#include "mha/opencl.h"
#include "ocl_test.h"


typedef struct fixture {
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;   /* profiling, in-order */
    cl_command_queue plain;   /* no profiling */
    mha_backend *ocl;         /* on cl, each attention object its own queue */
    mha_backend *ref;
    size_t base_align;        /* CL_DEVICE_MEM_BASE_ADDR_ALIGN in bytes */
} fixture;

/* Waits for an event the plugin handed out without flushing any queue
 * (clWaitForEvents would flush the event's queue itself): the call must have
 * submitted its commands. A command that is only enqueued need never start
 * (rusticl leaves it), so an unflushed call fails here after `seconds`
 * instead of hanging. */
static void expect_completes_unflushed(cl_event event, double seconds, const char *what)
{
    struct timespec start, now, pause = {0, 1000000}; /* 1 ms */
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        cl_int status = CL_QUEUED;
        assert_int_equal(clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status,
                                        &status, NULL),
                         CL_SUCCESS);
        if (status < 0)
            fail_msg("%s: the event failed with %d", what, (int)status);
        if (status == CL_COMPLETE)
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec) >
            seconds)
            fail_msg("%s: not complete after %.0f s with nothing flushed (status %d): the plugin "
                     "did not submit its commands",
                     what, seconds, (int)status);
        nanosleep(&pause, NULL);
    }
}

static int group_setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    *state = &f;
    size_t count = 0;
    if (mha_plugin_device_count("opencl", &count) != MHA_STATUS_OK || count == 0)
        return 0;
    cl_platform_id plats[8];
    cl_uint np = 0;
    cl_int err = CL_DEVICE_NOT_FOUND;
    if (clGetPlatformIDs(8, plats, &np) != CL_SUCCESS)
        return 0;
    for (cl_uint p = 0; p < np && err != CL_SUCCESS; ++p)
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 1, &f.device, NULL);
    if (err != CL_SUCCESS)
        return 0;
    f.cl = clCreateContext(NULL, 1, &f.device, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        f.queue = clCreateCommandQueue(f.cl, f.device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err == CL_SUCCESS)
        f.plain = clCreateCommandQueue(f.cl, f.device, 0, &err);
    cl_uint bits = 0;
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(f.device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof bits, &bits, NULL);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "OpenCL setup failed: %d\n", (int)err);
        return -1;
    }
    f.base_align = bits / 8;
    mha_opencl_context_options o = {{sizeof o, MHA_OPENCL_EXT_CONTEXT, NULL}, f.cl, NULL, NULL};
    if (mha_backend_open_with("opencl", &o.header, &f.ocl) != MHA_STATUS_OK ||
        mha_backend_open("reference", &f.ref) != MHA_STATUS_OK) {
        fprintf(stderr, "backends: %s\n", mha_last_error());
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    if (!f) /* group_setup failed and said why */
        return 0;
    mha_backend_close(f->ocl);
    mha_backend_close(f->ref);
    if (f->queue)
        clReleaseCommandQueue(f->queue);
    if (f->plain)
        clReleaseCommandQueue(f->plain);
    if (f->cl)
        clReleaseContext(f->cl);
    return 0;
}

static size_t tensor_bytes(const mha_tensor *t)
{
    size_t n = t->dtype == MHA_DTYPE_BOOL ? 1 : 4;
    for (int32_t i = 0; i < t->rank; ++i)
        n *= (size_t)t->shape[i];
    return n;
}

/* Device copies of a case's tensors: each in its own buffer at `offset`
 * bytes, with 64 bytes of slack after it. */
typedef struct dev_tensors {
    cl_mem mems[8];
    size_t count;
} dev_tensors;

/* Moves tensor *t to a new buffer (contents copied from the host) at
 * `offset`; `upload` false leaves it unwritten (an output). */
static void to_device(fixture *f, dev_tensors *d, mha_tensor *t, size_t offset, bool upload)
{
    cl_int err = CL_SUCCESS;
    size_t bytes = tensor_bytes(t);
    cl_mem mem = clCreateBuffer(f->cl, CL_MEM_READ_WRITE, offset + bytes + 64, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    if (upload)
        assert_int_equal(clEnqueueWriteBuffer(f->queue, mem, CL_TRUE, offset, bytes, t->data, 0,
                                              NULL, NULL),
                         CL_SUCCESS);
    d->mems[d->count++] = mem;
    t->data = mem;
    t->memory = MHA_MEMORY_OPENCL_BUFFER;
    t->offset = offset;
}

static void release_all(dev_tensors *d)
{
    for (size_t i = 0; i < d->count; ++i)
        clReleaseMemObject(d->mems[i]);
    d->count = 0;
}

static void read_back(fixture *f, const mha_tensor *t, float *dst)
{
    assert_int_equal(clEnqueueReadBuffer(f->queue, (cl_mem)t->data, CL_TRUE, (size_t)t->offset,
                                         tensor_bytes(t), dst, 0, NULL, NULL),
                     CL_SUCCESS);
}

static void expect_same(const float *got, const float *want, size_t n, const char *what)
{
    long bad = tk_first_bad(got, want, n, (tk_tolerance){0.0, 0.0});
    if (bad >= 0)
        fail_msg("%s[%ld]: cl_mem path %.9g, host path %.9g", what, bad, (double)got[bad],
                 (double)want[bad]);
}

/* Runs `c` with every tensor in a cl_mem (odd offsets) on the caller's
 * queue, waits on the returned event, and compares with the host path. */
static void run_device_case(fixture *f, tk_case *c, uint32_t id)
{
    char what[512];
    tk_case_describe(c, what, sizeof what);
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(c, f->ocl, &att), MHA_STATUS_OK);
    float *host_out = calloc(c->out_count, sizeof(float));
    float *host_w = calloc(c->weights_count + 1, sizeof(float));
    float *dev_out = calloc(c->out_count, sizeof(float));
    float *dev_w = calloc(c->weights_count + 1, sizeof(float));
    float *ref_out = calloc(c->out_count, sizeof(float));
    float *ref_w = calloc(c->weights_count + 1, sizeof(float));
    if (tk_case_run(c, f->ocl, att, host_out, host_w, NULL) != MHA_STATUS_OK)
        fail_msg("case %u (%s): host path: %s", id, what, mha_last_error());
    assert_int_equal(tk_case_run(c, f->ref, NULL, ref_out, ref_w, NULL), MHA_STATUS_OK);

    cl_event done = NULL;
    mha_opencl_forward fx = {{sizeof fx, MHA_OPENCL_EXT_FORWARD, NULL}, f->queue, 0, NULL, &done};
    mha_forward_args a;
    assert_int_equal(tk_case_args(c, att, dev_out, dev_w, &fx.header, &a), MHA_STATUS_OK);
    dev_tensors d = {.count = 0};
    size_t off = 4 * (1 + id % 7); /* floats: any multiple of 4 */
    to_device(f, &d, &a.query, off, true);
    if (c->self_attention) {
        a.key = a.value = a.query; /* the same tensor: one GEMM over 3E */
    } else {
        to_device(f, &d, &a.key, off + 8, true);
        if (c->kv_same)
            a.value = a.key;
        else
            to_device(f, &d, &a.value, off + 12, true);
    }
    if (a.attn_mask.data)
        to_device(f, &d, &a.attn_mask,
                  a.attn_mask.dtype == MHA_DTYPE_BOOL ? 3 : off, true); /* bool: any byte */
    if (a.key_padding_mask.data)
        to_device(f, &d, &a.key_padding_mask, a.key_padding_mask.dtype == MHA_DTYPE_BOOL ? 5 : 8,
                  true);
    to_device(f, &d, &a.attn_output, off + 4, false);
    if (c->need_weights)
        to_device(f, &d, &a.attn_weights, 12, false);
    mha_status st = mha_attention_forward(att, &a);
    if (st != MHA_STATUS_OK)
        fail_msg("case %u (%s): cl_mem path: %s: %s", id, what, mha_status_name(st),
                 mha_last_error());
    assert_non_null(done);
    expect_completes_unflushed(done, 60.0, "done");
    clReleaseEvent(done);
    read_back(f, &a.attn_output, dev_out);
    expect_same(dev_out, host_out, c->out_count, "attn_output");
    if (c->need_weights) {
        read_back(f, &a.attn_weights, dev_w);
        expect_same(dev_w, host_w, c->weights_count, "attn_weights");
    }
    assert_true(tk_first_bad(dev_out, ref_out, c->out_count, OCL_TOL) < 0);
    assert_true(tk_first_bad(dev_w, ref_w, c->weights_count, OCL_TOL) < 0);
    release_all(&d);
    mha_attention_destroy(att);
    free(host_out), free(host_w), free(dev_out), free(dev_w), free(ref_out), free(ref_w);
}

static void test_capabilities(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_capabilities caps = {.struct_size = sizeof caps};
    assert_int_equal(mha_backend_capabilities(f->ocl, &caps), MHA_STATUS_OK);
    assert_true(caps.memory_kinds & (1u << MHA_MEMORY_HOST));
    assert_true(caps.memory_kinds & (1u << MHA_MEMORY_OPENCL_BUFFER));
    bool listed = false;
    for (size_t i = 0; i < caps.extension_type_count; ++i)
        listed |= caps.extension_types[i] == MHA_OPENCL_EXT_FORWARD;
    assert_true(listed);
    mha_device_info info = {.struct_size = sizeof info};
    assert_int_equal(mha_backend_device_info(f->ocl, &info), MHA_STATUS_OK);
    char name[128] = "";
    clGetDeviceInfo(f->device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    assert_non_null(strstr(name, info.name) ? name : strstr(info.name, name));
}

/* Every kind of case with all tensors in cl_mem buffers. */
static void test_device_tensors(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t id = 1; id <= 24; ++id) {
        tk_case c;
        tk_case_random(&c, id);
        c.training = false; /* dropout is covered by test_forward_masks.c */
        c.dropout = 0.0f;
        run_device_case(f, &c, id);
        tk_case_free(&c);
    }
    for (int avg = 0; avg < 2; ++avg) { /* weights per head (a copy) and averaged */
        tk_case c;
        memset(&c, 0, sizeof c);
        c.E = 12, c.H = 3, c.kdim = c.vdim = 12, c.N = 2, c.batched = true, c.batch_first = avg;
        c.L = 5, c.S = 7, c.bias = true, c.need_weights = true, c.average = avg;
        c.attn_mask = TK_MASK_BOOL, c.kpm = TK_MASK_FLOAT, c.causal = MHA_CAUSAL_BOTTOM_RIGHT;
        tk_case_fill(&c, 40u + (uint32_t)avg);
        run_device_case(f, &c, 100u + (uint32_t)avg);
        tk_case_free(&c);
    }
}

/* Host and cl_mem tensors in one call; a sub-buffer as input. */
static void test_mixed(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 8, c.H = 2, c.kdim = 5, c.vdim = 6, c.N = 3, c.batched = true;
    c.L = 4, c.S = 6, c.bias = true, c.add_bias_kv = true, c.need_weights = true, c.average = true;
    c.kpm = TK_MASK_BOOL;
    tk_case_fill(&c, 55);
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    float *want = calloc(c.out_count, sizeof(float)), *want_w = calloc(c.weights_count, sizeof(float));
    float *got = calloc(c.out_count, sizeof(float)), *got_w = calloc(c.weights_count, sizeof(float));
    assert_int_equal(tk_case_run(&c, f->ocl, att, want, want_w, NULL), MHA_STATUS_OK);

    /* key in a sub-buffer that starts at the device's base alignment */
    mha_forward_args a;
    assert_int_equal(tk_case_args(&c, att, got, got_w, NULL, &a), MHA_STATUS_OK);
    size_t kbytes = tensor_bytes(&a.key);
    cl_int err = CL_SUCCESS;
    cl_mem parent = clCreateBuffer(f->cl, CL_MEM_READ_WRITE, f->base_align + kbytes + 16, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_buffer_region region = {f->base_align, kbytes + 16};
    cl_mem sub = clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region,
                                   &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clEnqueueWriteBuffer(f->queue, sub, CL_TRUE, 16, kbytes, a.key.data, 0, NULL,
                                          NULL),
                     CL_SUCCESS);
    a.key.data = sub;
    a.key.memory = MHA_MEMORY_OPENCL_BUFFER;
    a.key.offset = 16;
    dev_tensors d = {.count = 0};
    to_device(f, &d, &a.key_padding_mask, 1, true);
    to_device(f, &d, &a.attn_weights, 4, false);
    /* query, value and attn_output stay in host memory: the call waits for them */
    assert_int_equal(mha_attention_forward(att, &a), MHA_STATUS_OK);
    expect_same(got, want, c.out_count, "attn_output");
    read_back(f, &a.attn_weights, got_w);
    expect_same(got_w, want_w, c.weights_count, "attn_weights");
    release_all(&d);
    clReleaseMemObject(sub);
    clReleaseMemObject(parent);
    mha_attention_destroy(att);
    free(want), free(want_w), free(got), free(got_w);
    tk_case_free(&c);
}

/* Asynchronous chains: the output of one call, still in flight, is the query
 * of the next (which waits on the first's event, on another queue). */
static void test_chain(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 16, c.H = 4, c.kdim = c.vdim = 16, c.N = 2, c.batched = true;
    c.L = c.S = 9, c.bias = true, c.self_attention = true, c.causal = MHA_CAUSAL_TOP_LEFT;
    tk_case_fill(&c, 66);
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    /* host path: x -> y1 -> y2 */
    float *y1 = calloc(c.out_count, sizeof(float)), *y2 = calloc(c.out_count, sizeof(float));
    float *got = calloc(c.out_count, sizeof(float));
    float *x = c.query;
    assert_int_equal(tk_case_run(&c, f->ocl, att, y1, NULL, NULL), MHA_STATUS_OK);
    c.query = y1;
    assert_int_equal(tk_case_run(&c, f->ocl, att, y2, NULL, NULL), MHA_STATUS_OK);
    c.query = x;

    cl_event done1 = NULL, done2 = NULL;
    mha_opencl_forward f1 = {{sizeof f1, MHA_OPENCL_EXT_FORWARD, NULL}, f->plain, 0, NULL, &done1};
    mha_forward_args a1, a2;
    assert_int_equal(tk_case_args(&c, att, NULL, NULL, &f1.header, &a1), MHA_STATUS_OK);
    dev_tensors d = {.count = 0};
    to_device(f, &d, &a1.query, 8, true);
    a1.key = a1.value = a1.query;
    to_device(f, &d, &a1.attn_output, 4, false);
    assert_int_equal(mha_attention_forward(att, &a1), MHA_STATUS_OK);
    assert_non_null(done1);
    /* second call on the profiling queue, waiting for the first */
    mha_opencl_forward f2 = {{sizeof f2, MHA_OPENCL_EXT_FORWARD, NULL}, f->queue, 1, &done1, &done2};
    assert_int_equal(tk_case_args(&c, att, NULL, NULL, &f2.header, &a2), MHA_STATUS_OK);
    a2.query = a2.key = a2.value = a1.attn_output;
    to_device(f, &d, &a2.attn_output, 0, false);
    assert_int_equal(mha_attention_forward(att, &a2), MHA_STATUS_OK);
    /* done2 waits for done1, handed out from another queue: both calls must
     * have flushed their queues */
    expect_completes_unflushed(done2, 60.0, "the second call's done");
    read_back(f, &a2.attn_output, got);
    expect_same(got, y2, c.out_count, "chained attn_output");
    read_back(f, &a1.attn_output, got);
    expect_same(got, y1, c.out_count, "first attn_output");
    /* stages of the last call (on the profiling queue) */
    mha_attention_stats st = {.struct_size = sizeof st};
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    /* no weights: softmax and merge but no averaging on the GEMM path (8
     * stages), the fused path's single attention stage or the flash path's
     * (5), or the absorbed path's scores, softmax and pv, none of them a
     * GEMM (6) */
    bool one_stage = false, absorbed = false;
    for (uint32_t i = 0; i < st.stage_count; ++i) {
        one_stage = one_stage || strcmp(st.stages[i].name, "attention") == 0 ||
                    strcmp(st.stages[i].name, "flash") == 0;
        absorbed = absorbed || (strcmp(st.stages[i].name, "scores") == 0 && !st.stages[i].is_gemm);
    }
    assert_int_equal(st.stage_count, one_stage ? 5 : absorbed ? 6 : 8);
    /* a call on the queue without profiling: no stage times */
    f1.done = NULL;
    assert_int_equal(mha_attention_forward(att, &a1), MHA_STATUS_OK);
    assert_int_equal(clFinish(f->plain), CL_SUCCESS);
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_int_equal(st.stage_count, 0);
    clReleaseEvent(done1);
    clReleaseEvent(done2);
    mha_attention_destroy(att);
    release_all(&d);
    free(y1), free(y2), free(got);
    tk_case_free(&c);
}

/* A backend whose default queue is the caller's: calls without a per-call
 * queue run there; destroying the backend leaves the caller's objects alive. */
static void test_backend_queue(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_opencl_context_options o = {{sizeof o, MHA_OPENCL_EXT_CONTEXT, NULL}, f->cl, NULL, f->plain};
    mha_backend *b = NULL;
    assert_int_equal(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_OK);
    tk_case c;
    tk_case_random(&c, 9);
    float *o1 = calloc(c.out_count, sizeof(float)), *o2 = calloc(c.out_count, sizeof(float));
    float *w = calloc(c.weights_count + 1, sizeof(float));
    assert_int_equal(tk_case_run(&c, b, NULL, o1, w, NULL), MHA_STATUS_OK);
    assert_int_equal(tk_case_run(&c, f->ocl, NULL, o2, w, NULL), MHA_STATUS_OK);
    expect_same(o1, o2, c.out_count, "attn_output");
    mha_backend_close(b);
    /* the caller's queue still works */
    assert_int_equal(clFinish(f->plain), CL_SUCCESS);
    free(o1), free(o2), free(w);
    tk_case_free(&c);
}

static void expect_error(mha_status got, mha_status want, const char *needle)
{
    if (got != want)
        fail_msg("got %s, want %s (%s)", mha_status_name(got), mha_status_name(want),
                 mha_last_error());
    if (needle && !strstr(mha_last_error(), needle))
        fail_msg("message \"%s\" does not mention \"%s\"", mha_last_error(), needle);
}

static void test_bad_interop(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_backend *b = NULL;
    mha_opencl_context_options o = {{sizeof o, MHA_OPENCL_EXT_CONTEXT, NULL}, NULL, NULL, NULL};
    expect_error(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_NULL_ARGUMENT, "context");
    o.context = f->cl;
    expect_error(mha_backend_open_with("opencl:0", &o.header, &b), MHA_STATUS_INVALID_VALUE, "\"0\"");
    o.header.struct_size = 8;
    expect_error(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_INVALID_STRUCT_SIZE,
                 "struct_size");
    o.header.struct_size = sizeof o;
    mha_extension unknown = {sizeof unknown, 0x12345678u, NULL};
    o.header.next = &unknown;
    expect_error(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_UNSUPPORTED, "0x12345678");
    o.header.next = NULL;
    /* a plugin without options */
    expect_error(mha_backend_open_with("reference", &o.header, &b), MHA_STATUS_UNSUPPORTED,
                 "reference");
    assert_null(b);
    /* an out-of-order queue */
    cl_int err = CL_SUCCESS;
    cl_command_queue ooo = clCreateCommandQueue(f->cl, f->device,
                                                CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (err == CL_SUCCESS) {
        o.queue = ooo;
        expect_error(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_UNSUPPORTED,
                     "out-of-order");
        o.queue = NULL;
    }

    /* tensors that do not fit */
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 4, c.H = 2, c.kdim = c.vdim = 4, c.N = 1, c.batched = true, c.L = c.S = 3;
    c.self_attention = true, c.bias = true;
    tk_case_fill(&c, 3);
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    float out[12];
    mha_forward_args a;
    assert_int_equal(tk_case_args(&c, att, out, NULL, NULL, &a), MHA_STATUS_OK);
    dev_tensors d = {.count = 0};
    to_device(f, &d, &a.query, 4, true);
    a.key = a.value = a.query;
    a.query.offset = a.key.offset = a.value.offset = 2;
    expect_error(mha_attention_forward(att, &a), MHA_STATUS_INVALID_VALUE, "query.offset");
    a.query.offset = a.key.offset = a.value.offset = 4 + 64 + 4; /* past the end */
    expect_error(mha_attention_forward(att, &a), MHA_STATUS_INVALID_VALUE, "query needs");
    /* a cl_mem of another context: the default backend's own */
    mha_backend *own = NULL;
    assert_int_equal(mha_backend_open("opencl", &own), MHA_STATUS_OK);
    mha_attention *own_att = NULL;
    assert_int_equal(tk_case_attention(&c, own, &own_att), MHA_STATUS_OK);
    a.query.offset = a.key.offset = a.value.offset = 4;
    expect_error(mha_attention_forward(own_att, &a), MHA_STATUS_INVALID_VALUE, "query.data");
    mha_attention_destroy(own_att);
    mha_backend_close(own);
    /* a per-call queue of another context */
    if (ooo) {
        mha_opencl_forward fx = {{sizeof fx, MHA_OPENCL_EXT_FORWARD, NULL}, ooo, 0, NULL, NULL};
        a.next = &fx.header;
        expect_error(mha_attention_forward(att, &a), MHA_STATUS_UNSUPPORTED, "out-of-order");
        a.next = NULL;
        clReleaseCommandQueue(ooo);
    }
    /* still fine afterwards */
    assert_int_equal(mha_attention_forward(att, &a), MHA_STATUS_OK);
    mha_attention_destroy(att);
    release_all(&d);
    tk_case_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_device_tensors),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_backend_queue),
        cmocka_unit_test(test_bad_interop),
    };
    return cmocka_run_group_tests_name("opencl_interop", tests, group_setup, group_teardown);
}
