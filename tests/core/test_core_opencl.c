/*
 * test_core_opencl.c - the OpenCL plugin's core on the caller's cl_mem
 * buffers: q, k, v and y in one buffer at offsets, and a decode loop whose
 * KV cache is a cl_mem appended in place, against the reference plugin on
 * host memory (tolerance 2e-5 + 2e-5 |b|: float32 in a different order).
 * Then long key sequences (hundreds of keys: many key tiles, split-K
 * pieces, and past Mesa llvmpipe's per-work-item loop limit) with GQA,
 * masks, windows, softcap and valid lengths, against the reference; and
 * qk_matmul_output over a long past, refused where llvmpipe's loop limit
 * would cut the rows kernel short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mha/core.h"
#include "mha/opencl.h"

enum { B = 2, HQ = 4, HKV = 2, N = 7, PREFILL = 3, D = 8, CAP = 10 };

static cl_context g_context;
static cl_command_queue g_queue;
static mha_backend *g_opencl, *g_reference;

static uint32_t g_state = 99u;
static float random_value(void)
{
    g_state = g_state * 1664525u + 1013904223u;
    return (float)((g_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static mha_view view4(void *data, mha_memory memory, uint64_t offset, int64_t a, int64_t b,
                      int64_t c, int64_t d)
{
    mha_view view = mha_view_host(data, MHA_DTYPE_F32, 4, (int64_t[]){a, b, c, d});
    view.memory = memory;
    view.offset = offset;
    return view;
}

/* Tokens [from, from + count) of a dense (B, H, N, D) tensor. */
static mha_view rows(mha_view whole, int64_t H, int64_t from, int64_t count)
{
    mha_view view = whole;
    view.shape[2] = count;
    view.strides[0] = H * N * D;
    view.strides[1] = N * D;
    view.strides[2] = D;
    view.strides[3] = 1;
    if (view.memory == MHA_MEMORY_HOST)
        view.data = (float *)view.data + from * D;
    else
        view.offset += (uint64_t)(from * D) * sizeof(float);
    return view;
}

static void check(mha_status status, const char *what)
{
    if (status != MHA_STATUS_OK)
        fail_msg("%s: %s: %s", what, mha_status_name(status), mha_last_error());
}

static void decode_with_a_cl_mem_cache(void **state)
{
    (void)state;
    const size_t nq = B * HQ * N * D, nk = B * HKV * N * D;
    float *host = malloc((nq + 2 * nk) * sizeof(float));
    float *y_reference = calloc(nq, sizeof(float)), *y_opencl = calloc(nq, sizeof(float));
    assert_non_null(host);
    for (size_t i = 0; i < nq + 2 * nk; ++i)
        host[i] = random_value();
    float *q = host, *k = host + nq, *v = host + nq + nk;
    /* One buffer: 16 floats of padding, q, k, v, then y. */
    const size_t pad = 16;
    cl_int err;
    cl_mem inputs = clCreateBuffer(g_context, CL_MEM_READ_WRITE,
                                   (pad + nq + 2 * nk + nq) * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clEnqueueWriteBuffer(g_queue, inputs, CL_TRUE, pad * sizeof(float),
                                          (nq + 2 * nk) * sizeof(float), host, 0, NULL, NULL),
                     CL_SUCCESS);
    const uint64_t q_at = pad * 4, k_at = (pad + nq) * 4, v_at = (pad + nq + nk) * 4,
                   y_at = (pad + nq + 2 * nk) * 4;
    cl_mem cache_k = clCreateBuffer(g_context, CL_MEM_READ_WRITE, B * HKV * CAP * D * 4, NULL, &err);
    cl_mem cache_v = clCreateBuffer(g_context, CL_MEM_READ_WRITE, B * HKV * CAP * D * 4, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);

    /* The reference: one causal call over all N tokens on host memory. */
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view4(q, MHA_MEMORY_HOST, 0, B, HQ, N, D);
    args.k = view4(k, MHA_MEMORY_HOST, 0, B, HKV, N, D);
    args.v = view4(v, MHA_MEMORY_HOST, 0, B, HKV, N, D);
    args.is_causal = true;
    args.y = view4(y_reference, MHA_MEMORY_HOST, 0, B, HQ, N, D);
    check(mha_core_forward(g_reference, &args), "reference");

    /* OpenCL: prefill, then one token at a time, the cache a cl_mem. */
    const mha_view q_all = view4(inputs, MHA_MEMORY_OPENCL_BUFFER, q_at, B, HQ, N, D),
                   k_all = view4(inputs, MHA_MEMORY_OPENCL_BUFFER, k_at, B, HKV, N, D),
                   v_all = view4(inputs, MHA_MEMORY_OPENCL_BUFFER, v_at, B, HKV, N, D),
                   y_all = view4(inputs, MHA_MEMORY_OPENCL_BUFFER, y_at, B, HQ, N, D);
    int64_t length = 0;
    for (int64_t from = 0; from < N; from += from == 0 ? PREFILL : 1) {
        int64_t count = from == 0 ? PREFILL : 1;
        mha_core_args_init(&args);
        args.q = rows(q_all, HQ, from, count);
        args.k = rows(k_all, HKV, from, count);
        args.v = rows(v_all, HKV, from, count);
        args.cache_key = view4(cache_k, MHA_MEMORY_OPENCL_BUFFER, 0, B, HKV, CAP, D);
        args.cache_value = view4(cache_v, MHA_MEMORY_OPENCL_BUFFER, 0, B, HKV, CAP, D);
        args.cache_length = length;
        args.is_causal = true;
        args.y = rows(y_all, HQ, from, count);
        check(mha_core_forward(g_opencl, &args), "opencl step");
        length += count;
    }
    assert_int_equal(clEnqueueReadBuffer(g_queue, inputs, CL_TRUE, y_at, nq * sizeof(float),
                                         y_opencl, 0, NULL, NULL),
                     CL_SUCCESS);
    for (size_t i = 0; i < nq; ++i)
        if (!(fabs((double)y_opencl[i] - y_reference[i]) <= 2e-5 + 2e-5 * fabs(y_reference[i])))
            fail_msg("y[%zu]: %.9g but the reference gives %.9g", i, (double)y_opencl[i],
                     (double)y_reference[i]);
    /* The cache holds every token's K, in order, and nothing was written past them. */
    float *cached = malloc(B * HKV * CAP * D * sizeof(float));
    assert_int_equal(clEnqueueReadBuffer(g_queue, cache_k, CL_TRUE, 0, B * HKV * CAP * D * 4,
                                         cached, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < HKV; ++h)
            assert_memory_equal(cached + ((b * HKV + h) * CAP) * D, k + ((b * HKV + h) * N) * D,
                                N * D * sizeof(float));
    /* A cl_mem offset that is not a whole element is refused. */
    mha_core_args_init(&args);
    args.q = view4(inputs, MHA_MEMORY_OPENCL_BUFFER, q_at + 2, B, HQ, N, D);
    args.k = k_all;
    args.v = v_all;
    args.y = y_all;
    assert_int_equal(mha_core_forward(g_opencl, &args), MHA_STATUS_INVALID_VALUE);
    assert_non_null(strstr(mha_last_error(), "q.offset is"));
    free(cached), free(host), free(y_reference), free(y_opencl);
    clReleaseMemObject(inputs), clReleaseMemObject(cache_k), clReleaseMemObject(cache_v);
}

/* One long-keys case: the core on host memory, OpenCL against the
 * reference. Inputs random in [-1, 1); scale 1 / sqrt(D) makes scores of a
 * few units, so every key matters to the softmax. */
typedef struct long_case {
    const char *name;
    int64_t b, hq, hkv, l, s, past, d, dv;
    bool causal;
    float softcap;
    int64_t left, right;        /* windows, -1: unbounded */
    int64_t mask_cols;          /* a float mask (B, 1, L, mask_cols) when > 0 */
    int64_t *nonpad;            /* valid lengths per batch entry, or NULL */
} long_case;

static float *random_buffer(size_t count)
{
    float *data = malloc((count ? count : 1) * sizeof(float));
    assert_non_null(data);
    for (size_t i = 0; i < count; ++i)
        data[i] = random_value();
    return data;
}

static void run_long_case(const long_case *c)
{
    const size_t nq = (size_t)(c->b * c->hq * c->l * c->d), nk = (size_t)(c->b * c->hkv * c->s * c->d),
                 nv = (size_t)(c->b * c->hkv * c->s * c->dv), ny = (size_t)(c->b * c->hq * c->l * c->dv),
                 npk = (size_t)(c->b * c->hkv * c->past * c->d),
                 npv = (size_t)(c->b * c->hkv * c->past * c->dv),
                 nm = (size_t)(c->b * c->l * (c->mask_cols > 0 ? c->mask_cols : 0));
    float *q = random_buffer(nq), *k = random_buffer(nk), *v = random_buffer(nv);
    float *past_k = random_buffer(npk), *past_v = random_buffer(npv), *mask = random_buffer(nm);
    for (size_t i = 0; i < nm; ++i) /* about one key in eight masked, the rest biased */
        mask[i] = mask[i] < -0.75f ? -INFINITY : mask[i];
    float *y_opencl = calloc(ny, sizeof(float)), *y_reference = calloc(ny, sizeof(float));
    assert_non_null(y_opencl), assert_non_null(y_reference);
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view4(q, MHA_MEMORY_HOST, 0, c->b, c->hq, c->l, c->d);
    args.k = view4(k, MHA_MEMORY_HOST, 0, c->b, c->hkv, c->s, c->d);
    args.v = view4(v, MHA_MEMORY_HOST, 0, c->b, c->hkv, c->s, c->dv);
    if (c->past > 0) {
        args.past_key = view4(past_k, MHA_MEMORY_HOST, 0, c->b, c->hkv, c->past, c->d);
        args.past_value = view4(past_v, MHA_MEMORY_HOST, 0, c->b, c->hkv, c->past, c->dv);
    }
    if (c->mask_cols > 0)
        args.attn_mask = view4(mask, MHA_MEMORY_HOST, 0, c->b, 1, c->l, c->mask_cols);
    if (c->nonpad)
        args.nonpad_kv_seqlen = mha_view_host(c->nonpad, MHA_DTYPE_I64, 1,
                                              (int64_t[]){c->b});
    args.is_causal = c->causal;
    args.softcap = c->softcap;
    args.left_window_size = c->left;
    args.right_window_size = c->right;
    args.y = view4(y_opencl, MHA_MEMORY_HOST, 0, c->b, c->hq, c->l, c->dv);
    mha_status status = mha_core_forward(g_opencl, &args);
    if (status != MHA_STATUS_OK)
        fail_msg("%s: opencl: %s: %s", c->name, mha_status_name(status), mha_last_error());
    args.y = view4(y_reference, MHA_MEMORY_HOST, 0, c->b, c->hq, c->l, c->dv);
    check(mha_core_forward(g_reference, &args), c->name);
    for (size_t i = 0; i < ny; ++i) {
        const double got = y_opencl[i], want = y_reference[i];
        if (!(fabs(got - want) <= 2e-5 + 2e-5 * fabs(want)))
            fail_msg("%s: y[%zu] is %.9g but the reference gives %.9g", c->name, i, got, want);
    }
    free(q), free(k), free(v), free(past_k), free(past_v), free(mask);
    free(y_opencl), free(y_reference);
}

static void long_keys_against_the_reference(void **state)
{
    (void)state;
    const char *run_them = getenv("MHA_TEST_LONG_KEYS");
    if (run_them && strcmp(run_them, "0") == 0)
        skip(); /* core_oclgrind's rows run: minutes on the simulator, nothing new there */
    static int64_t valid[] = {450, 613};
    const long_case cases[] = {
        /* decoding: one query row per head after a long past, GQA 4:1 */
        {"decode", 1, 8, 2, 1, 1, 1200, 64, 64, true, 0.0f, -1, -1, 0, NULL},
        /* a few rows, softcap, a left window and a float mask over fewer columns */
        {"window", 2, 4, 1, 5, 700, 0, 32, 16, true, 30.0f, 300, 0, 650, NULL},
        /* valid lengths per batch entry (the causal offset follows them) */
        {"nonpad", 2, 6, 3, 3, 613, 0, 16, 24, true, 0.0f, -1, -1, 0, valid},
        /* head size 128, no causal, keys after a past */
        {"wide", 1, 2, 2, 2, 300, 500, 128, 128, false, 0.0f, -1, -1, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
        run_long_case(&cases[i]);
}

/* qk_matmul_output over a long past: only mha_core_rows writes it, so a
 * device whose loop limiter it would pass (Mesa's llvmpipe) refuses the
 * call, naming the limit; any other device matches the reference. */
static void long_qk_output_or_refused(void **state)
{
    (void)state;
    enum { P = 700, T = P + 1, DH = 64 };
    static float q[DH], k[DH], v[DH], past_k[P * DH], past_v[P * DH];
    static float y[DH], y_ref[DH], qk[T], qk_ref[T];
    float *inputs[] = {q, k, v, past_k, past_v};
    const size_t counts[] = {DH, DH, DH, P * DH, P * DH};
    for (size_t i = 0; i < 5; ++i)
        for (size_t j = 0; j < counts[i]; ++j)
            inputs[i][j] = random_value();
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view4(q, MHA_MEMORY_HOST, 0, 1, 1, 1, DH);
    args.k = view4(k, MHA_MEMORY_HOST, 0, 1, 1, 1, DH);
    args.v = view4(v, MHA_MEMORY_HOST, 0, 1, 1, 1, DH);
    args.past_key = view4(past_k, MHA_MEMORY_HOST, 0, 1, 1, P, DH);
    args.past_value = view4(past_v, MHA_MEMORY_HOST, 0, 1, 1, P, DH);
    args.is_causal = true;
    args.qk_matmul_output_mode = MHA_QK_OUTPUT_SOFTMAX;
    args.y = view4(y_ref, MHA_MEMORY_HOST, 0, 1, 1, 1, DH);
    args.qk_matmul_output = view4(qk_ref, MHA_MEMORY_HOST, 0, 1, 1, 1, T);
    check(mha_core_forward(g_reference, &args), "reference");
    args.y = view4(y, MHA_MEMORY_HOST, 0, 1, 1, 1, DH);
    args.qk_matmul_output = view4(qk, MHA_MEMORY_HOST, 0, 1, 1, 1, T);
    mha_device_info info = {.struct_size = sizeof info};
    check(mha_backend_device_info(g_opencl, &info), "device info");
    mha_status status = mha_core_forward(g_opencl, &args);
    if (strncmp(info.name, "llvmpipe", 8) == 0) {
        assert_int_equal(status, MHA_STATUS_UNSUPPORTED);
        assert_non_null(strstr(mha_last_error(), "past the device's limit of 65535"));
        return;
    }
    check(status, "opencl");
    for (size_t i = 0; i < DH; ++i)
        assert_true(fabsf(y[i] - y_ref[i]) <= 2e-5f + 2e-5f * fabsf(y_ref[i]));
    for (size_t j = 0; j < T; ++j)
        assert_true(fabsf(qk[j] - qk_ref[j]) <= 2e-5f + 2e-5f * fabsf(qk_ref[j]));
}

static int setup(void **state)
{
    (void)state;
    cl_platform_id platform;
    cl_device_id device;
    cl_uint count = 0;
    if (clGetPlatformIDs(1, &platform, &count) != CL_SUCCESS || count == 0 ||
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL) != CL_SUCCESS)
        return -1;
    cl_int err;
    g_context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return -1;
    g_queue = clCreateCommandQueue(g_context, device, 0, &err);
    if (err != CL_SUCCESS)
        return -1;
    mha_opencl_context_options options = {
        .header = {sizeof options, MHA_OPENCL_EXT_CONTEXT, NULL},
        .context = g_context,
        .device = device,
        .queue = g_queue,
    };
    if (mha_backend_open_with("opencl", &options.header, &g_opencl) != MHA_STATUS_OK ||
        mha_backend_open("reference", &g_reference) != MHA_STATUS_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mha_backend_close(g_opencl);
    mha_backend_close(g_reference);
    clReleaseCommandQueue(g_queue);
    clReleaseContext(g_context);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_with_a_cl_mem_cache),
        cmocka_unit_test(long_keys_against_the_reference),
        cmocka_unit_test(long_qk_output_or_refused),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    mha_shutdown();
    return failed;
}
