/*
 * test_faults.c - injected OpenCL and CLBlast failures (the test hook
 * MHA_OPENCL_EXT_FAULTS of plugins/opencl/faults.h). For every fault point of
 * a context's creation, an attention object's creation, its first forward
 * (scratch allocation) and a steady-state forward (masks, need_weights), the
 * call fails with an error status, leaks nothing (the plugin's live buffer and
 * event counts and the host allocations through mha_set_allocator are back to
 * their baselines), and the next call on the same context succeeds and matches
 * the reference plugin. Likewise for the points of a path's program, built at
 * the first call that takes the path.
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

#include "mha/core.h"
#include "mha/mha.h"
#include "faults.h" /* plugins/opencl: the test hook, not installed */
#include "mha/opencl.h"
#include "live_blocks.h"
#include "ocl_test.h"

typedef struct fixture {
    mha_opencl_faults faults;
    mha_opencl_fault_options options;
    mha_backend *ocl;
    mha_backend *ref;
    tk_case c;
    float *expect, *expect_w, *out, *w;
    unsigned walked;
} fixture;

static int group_setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    *state = &f;
    size_t count = 0;
    if (mha_plugin_device_count("opencl", &count) != MHA_STATUS_OK || count == 0)
        return 0;
    f.options.header = (mha_extension){sizeof f.options, MHA_OPENCL_EXT_FAULTS, NULL};
    f.options.faults = &f.faults;
    if (mha_backend_open_with("opencl", &f.options.header, &f.ocl) != MHA_STATUS_OK ||
        mha_backend_open("reference", &f.ref) != MHA_STATUS_OK) {
        fprintf(stderr, "backends: %s\n", mha_last_error());
        return -1;
    }
    /* cross attention with separate key and value (three projection GEMMs),
     * both mask kinds, bias_kv, per-head weights */
    tk_case *c = &f.c;
    c->E = 12, c->H = 3, c->kdim = 7, c->vdim = 9, c->N = 2, c->batched = true;
    c->L = 5, c->S = 6, c->bias = true, c->add_bias_kv = true;
    c->attn_mask = TK_MASK_FLOAT, c->kpm = TK_MASK_BOOL, c->causal = MHA_CAUSAL_TOP_LEFT;
    c->need_weights = true, c->average = false;
    tk_case_fill(c, 123);
    f.expect = calloc(c->out_count, sizeof(float));
    f.expect_w = calloc(c->weights_count, sizeof(float));
    f.out = calloc(c->out_count, sizeof(float));
    f.w = calloc(c->weights_count, sizeof(float));
    if (tk_case_run(c, f.ref, NULL, f.expect, f.expect_w, NULL) != MHA_STATUS_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    if (!f) /* group_setup failed and said why */
        return 0;
    mha_backend_close(f->ocl);
    mha_backend_close(f->ref);
    print_message("%u fault points walked\n", f->walked);
    free(f->expect), free(f->expect_w), free(f->out), free(f->w);
    tk_case_free(&f->c);
    return 0;
}

/* Arms the hook: the n-th point from now fails (0: none). */
static void arm(fixture *f, uint64_t n)
{
    f->faults.points = 0;
    f->faults.fail_at = n;
}

static void check_failed(fixture *f, mha_status st, uint64_t n, const char *what)
{
    if (st == MHA_STATUS_OK)
        fail_msg("%s: fault point %llu injected but the call succeeded", what,
                 (unsigned long long)n);
    if (f->faults.points < n)
        fail_msg("%s: only %llu fault points", what, (unsigned long long)f->faults.points);
    if (!strstr(mha_last_error(), "CL_OUT_OF_RESOURCES"))
        fail_msg("%s, point %llu: message does not name the error: %s", what,
                 (unsigned long long)n, mha_last_error());
    f->walked++;
}

/* A forward that must succeed and match the reference. */
static void check_forward(fixture *f, mha_attention *att, const char *what)
{
    arm(f, 0);
    mha_status st = tk_case_run(&f->c, f->ocl, att, f->out, f->w, NULL);
    if (st != MHA_STATUS_OK)
        fail_msg("%s: recovery call failed: %s", what, mha_last_error());
    long bad = tk_first_bad(f->out, f->expect, f->c.out_count, OCL_TOL);
    if (bad < 0)
        bad = tk_first_bad(f->w, f->expect_w, f->c.weights_count, OCL_TOL);
    if (bad >= 0)
        fail_msg("%s: recovery call differs from the reference at %ld", what, bad);
}

static void expect_baseline(fixture *f, int64_t buffers, int64_t events, long host,
                            uint64_t n, const char *what)
{
    if (f->faults.live_buffers != buffers || f->faults.live_events != events || live_blocks() != host)
        fail_msg("%s, point %llu: leaked %lld buffers, %lld events, %ld host blocks", what,
                 (unsigned long long)n, (long long)(f->faults.live_buffers - buffers),
                 (long long)(f->faults.live_events - events), live_blocks() - host);
}

/* A work-group or work-item size the device refuses at a launch is its
 * limit, not a bug of ours: DEVICE_ERROR (it was INTERNAL), with the global
 * and local sizes and the kernel's and device's limits in the message; the
 * next call works. */
static void test_work_group_size(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    static const struct {
        int32_t code;
        const char *name;
    } errors[] = {{CL_INVALID_WORK_GROUP_SIZE, "CL_INVALID_WORK_GROUP_SIZE"},
                  {CL_INVALID_WORK_ITEM_SIZE, "CL_INVALID_WORK_ITEM_SIZE"}};
    for (size_t e = 0; e < sizeof errors / sizeof errors[0]; ++e) {
        f->faults.error = errors[e].code;
        f->faults.only = "clEnqueueNDRangeKernel";
        arm(f, 1);
        mha_status st = tk_case_run(&f->c, f->ocl, NULL, f->out, f->w, NULL);
        const uint64_t injected = f->faults.injected;
        f->faults.injected = 0;
        f->faults.error = 0;
        f->faults.only = NULL;
        arm(f, 0);
        assert_true(injected >= 1);
        if (st != MHA_STATUS_DEVICE_ERROR)
            fail_msg("%s: status %d, expected DEVICE_ERROR: %s", errors[e].name, (int)st,
                     mha_last_error());
        const char *needles[] = {errors[e].name, "global size", "local size",
                                 "CL_KERNEL_WORK_GROUP_SIZE", "CL_DEVICE_MAX_WORK_GROUP_SIZE"};
        for (size_t i = 0; i < sizeof needles / sizeof needles[0]; ++i)
            if (!strstr(mha_last_error(), needles[i]))
                fail_msg("message lacks \"%s\": %s", needles[i], mha_last_error());
        check_forward(f, NULL, errors[e].name);
    }
}

/* Points of mha_attention_create. */
static void test_attention_create(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    const int64_t buffers = f->faults.live_buffers, events = f->faults.live_events;
    const long host = live_blocks();
    mha_attention *att = NULL;
    arm(f, 0);
    assert_int_equal(tk_case_attention(&f->c, f->ocl, &att), MHA_STATUS_OK);
    const uint64_t points = f->faults.points;
    mha_attention_destroy(att);
    assert_true(points >= 6); /* queue, 4 kernels, weights buffer, uploads */
    for (uint64_t n = 1; n <= points; ++n) {
        arm(f, n);
        att = NULL;
        check_failed(f, tk_case_attention(&f->c, f->ocl, &att), n, "attention_create");
        assert_null(att);
        expect_baseline(f, buffers, events, host, n, "attention_create");
        arm(f, 0);
        assert_int_equal(tk_case_attention(&f->c, f->ocl, &att), MHA_STATUS_OK);
        check_forward(f, att, "attention_create");
        mha_attention_destroy(att);
        expect_baseline(f, buffers, events, host, n, "attention_create");
    }
    print_message("attention creation: %llu fault points\n", (unsigned long long)points);
}

/* Points of a forward: the first one (which allocates scratch), and one in
 * steady state. */
static void test_forward(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    const int64_t buffers = f->faults.live_buffers, events = f->faults.live_events;
    const long host = live_blocks();
    for (int steady = 0; steady < 2; ++steady) {
        mha_attention *att = NULL;
        arm(f, 0);
        assert_int_equal(tk_case_attention(&f->c, f->ocl, &att), MHA_STATUS_OK);
        if (steady)
            check_forward(f, att, "warm-up");
        arm(f, 0);
        assert_int_equal(tk_case_run(&f->c, f->ocl, att, f->out, f->w, NULL), MHA_STATUS_OK);
        const uint64_t points = f->faults.points;
        mha_attention_destroy(att);
        const char *what = steady ? "steady forward" : "first forward";
        for (uint64_t n = 1; n <= points; ++n) {
            arm(f, 0);
            assert_int_equal(tk_case_attention(&f->c, f->ocl, &att), MHA_STATUS_OK);
            if (steady)
                check_forward(f, att, "warm-up");
            const long host_before = live_blocks();
            arm(f, n);
            check_failed(f, tk_case_run(&f->c, f->ocl, att, f->out, f->w, NULL), n, what);
            if (live_blocks() != host_before)
                fail_msg("%s, point %llu: %ld host blocks leaked", what, (unsigned long long)n,
                         live_blocks() - host_before);
            check_forward(f, att, what); /* same object, same context */
            mha_attention_destroy(att);
            expect_baseline(f, buffers, events, host, n, what);
        }
        print_message("%s: %llu fault points\n", what, (unsigned long long)points);
    }
}

/* Points of a context's creation (program built from source: cache off). */
static void test_context_create(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_opencl_faults faults;
    memset(&faults, 0, sizeof faults);
    mha_opencl_fault_options o = {{sizeof o, MHA_OPENCL_EXT_FAULTS, NULL}, &faults};
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", "off", 1);
    const long host = live_blocks();
    mha_backend *b = NULL;
    assert_int_equal(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_OK);
    const uint64_t points = faults.points;
    mha_backend_close(b);
    assert_int_equal(points, 3); /* clCreateContext, clCreateProgramWithSource, clBuildProgram */
    for (uint64_t n = 1; n <= points; ++n) {
        faults.points = 0;
        faults.fail_at = n;
        b = NULL;
        mha_status st = mha_backend_open_with("opencl", &o.header, &b);
        if (st == MHA_STATUS_OK || b != NULL)
            fail_msg("context point %llu: open succeeded", (unsigned long long)n);
        if (live_blocks() != host)
            fail_msg("context point %llu: %ld host blocks leaked", (unsigned long long)n,
                     live_blocks() - host);
        f->walked++;
        faults.fail_at = 0;
        assert_int_equal(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_OK);
        mha_backend_close(b);
    }
    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
    print_message("context creation: %llu fault points\n", (unsigned long long)points);
}

/* Points of a path's own program, built at the first call that takes the
 * path (cache off: from source). Each on a fresh backend: that call fails,
 * leaks nothing, and the next call on the same attention object builds the
 * program and matches the reference. A case without bias_kv rows, so that
 * the absorbed path applies when it is forced; on a CPU device the default
 * is the fused path. The GEMM path has no program of its own. */
static void test_lazy_build(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 12, c.H = 3, c.kdim = 7, c.vdim = 9, c.N = 2, c.batched = true;
    c.L = 5, c.S = 6, c.bias = true, c.kpm = TK_MASK_BOOL, c.need_weights = true;
    tk_case_fill(&c, 321);
    float *expect = calloc(c.out_count, sizeof(float)), *out = calloc(c.out_count, sizeof(float));
    float *w = calloc(c.weights_count, sizeof(float));
    assert_int_equal(tk_case_run(&c, f->ref, NULL, expect, w, NULL), MHA_STATUS_OK);
    mha_device_info info = {.struct_size = sizeof info};
    assert_int_equal(mha_backend_device_info(f->ocl, &info), MHA_STATUS_OK);
    const char *forced = getenv("MHA_OPENCL_ATTENTION");
    const bool own_program =
        strcmp(info.kind, "cpu") == 0 && !(forced && strcmp(forced, "gemm") == 0);

    mha_opencl_faults faults;
    mha_opencl_fault_options o = {{sizeof o, MHA_OPENCL_EXT_FAULTS, NULL}, &faults};
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", "off", 1);
    const long host = live_blocks();
    uint64_t points = 0;
    for (uint64_t n = 1;; ++n) {
        mha_backend *b = NULL;
        mha_attention *att = NULL;
        memset(&faults, 0, sizeof faults);
        assert_int_equal(mha_backend_open_with("opencl", &o.header, &b), MHA_STATUS_OK);
        assert_int_equal(tk_case_attention(&c, b, &att), MHA_STATUS_OK);
        faults.points = 0;
        faults.fail_at = n;
        mha_status st = tk_case_run(&c, b, att, out, w, NULL);
        const char *msg = mha_last_error();
        const bool build = st != MHA_STATUS_OK && (strstr(msg, "clCreateProgramWithSource") ||
                                                   strstr(msg, "clBuildProgram"));
        if (build) {
            points++;
            f->walked++;
            if (faults.live_events != 0)
                fail_msg("lazy build, point %llu: %lld events held", (unsigned long long)n,
                         (long long)faults.live_events);
            faults.fail_at = 0;
            if (tk_case_run(&c, b, att, out, w, NULL) != MHA_STATUS_OK)
                fail_msg("lazy build, point %llu: recovery call failed: %s",
                         (unsigned long long)n, mha_last_error());
            if (tk_first_bad(out, expect, c.out_count, OCL_TOL) >= 0)
                fail_msg("lazy build, point %llu: recovery call differs from the reference",
                         (unsigned long long)n);
        }
        mha_attention_destroy(att);
        mha_backend_close(b);
        if (live_blocks() != host)
            fail_msg("lazy build, point %llu: %ld host blocks leaked", (unsigned long long)n,
                     live_blocks() - host);
        if (!build)
            break;
    }
    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
    free(expect), free(out), free(w);
    tk_case_free(&c);
    /* clCreateProgramWithSource, clBuildProgram */
    assert_int_equal(points, own_program ? 2 : 0);
    print_message("lazy program build: %llu fault points\n", (unsigned long long)points);
}

/* A core call fails at each of its points with the error named, leaks no
 * host memory, and the next call matches the reference: decoding with GQA
 * after a host KV cache (uploads, present written), a float mask, on the rows
 * kernel and on the tiled one in 3 pieces. */
static void test_core(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    enum { B = 2, HQ = 4, HKV = 2, L = 1, S = 1, P = 40, D = 8, DV = 6, T = P + S };
    static float q[B * HQ * L * D], k[B * HKV * S * D], v[B * HKV * S * DV];
    static float past_k[B * HKV * P * D], past_v[B * HKV * P * DV], mask[B * L * T];
    static float y[B * HQ * L * DV], expect[B * HQ * L * DV];
    static float present_k[B * HKV * T * D], present_v[B * HKV * T * DV];
    float *inputs[] = {q, k, v, past_k, past_v, mask};
    const size_t counts[] = {sizeof q, sizeof k, sizeof v, sizeof past_k, sizeof past_v,
                             sizeof mask};
    uint32_t seed = 7u;
    for (size_t i = 0; i < 6; ++i)
        for (size_t j = 0; j < counts[i] / sizeof(float); ++j) {
            seed = seed * 1664525u + 1013904223u;
            inputs[i][j] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = mha_view_host(q, MHA_DTYPE_F32, 4, (int64_t[]){B, HQ, L, D});
    args.k = mha_view_host(k, MHA_DTYPE_F32, 4, (int64_t[]){B, HKV, S, D});
    args.v = mha_view_host(v, MHA_DTYPE_F32, 4, (int64_t[]){B, HKV, S, DV});
    args.past_key = mha_view_host(past_k, MHA_DTYPE_F32, 4, (int64_t[]){B, HKV, P, D});
    args.past_value = mha_view_host(past_v, MHA_DTYPE_F32, 4, (int64_t[]){B, HKV, P, DV});
    args.attn_mask = mha_view_host(mask, MHA_DTYPE_F32, 4, (int64_t[]){B, 1, L, T});
    args.is_causal = true;
    args.present_key = mha_view_host(present_k, MHA_DTYPE_F32, 4, (int64_t[]){B, HKV, T, D});
    args.present_value = mha_view_host(present_v, MHA_DTYPE_F32, 4, (int64_t[]){B, HKV, T, DV});
    args.y = mha_view_host(expect, MHA_DTYPE_F32, 4, (int64_t[]){B, HQ, L, DV});
    assert_int_equal(mha_core_forward(f->ref, &args), MHA_STATUS_OK);
    args.y = mha_view_host(y, MHA_DTYPE_F32, 4, (int64_t[]){B, HQ, L, DV});

    static const char *const kernels[][2] = {{"rows", NULL}, {"tiled", "3"}};
    for (size_t kernel = 0; kernel < 2; ++kernel) {
        setenv("MHA_OPENCL_CORE", kernels[kernel][0], 1);
        if (kernels[kernel][1])
            setenv("MHA_OPENCL_CORE_SPLITS", kernels[kernel][1], 1);
        arm(f, 0);
        assert_int_equal(mha_core_forward(f->ocl, &args), MHA_STATUS_OK); /* program built */
        arm(f, 0);
        assert_int_equal(mha_core_forward(f->ocl, &args), MHA_STATUS_OK);
        const uint64_t points = f->faults.points;
        const long host = live_blocks();
        for (uint64_t n = 1; n <= points; ++n) {
            arm(f, n);
            check_failed(f, mha_core_forward(f->ocl, &args), n, kernels[kernel][0]);
            if (live_blocks() != host)
                fail_msg("core %s, point %llu: %ld host blocks leaked", kernels[kernel][0],
                         (unsigned long long)n, live_blocks() - host);
            arm(f, 0);
            memset(y, 0, sizeof y);
            if (mha_core_forward(f->ocl, &args) != MHA_STATUS_OK)
                fail_msg("core %s, point %llu: recovery call failed: %s", kernels[kernel][0],
                         (unsigned long long)n, mha_last_error());
            long bad = tk_first_bad(y, expect, sizeof y / sizeof y[0], OCL_TOL);
            if (bad >= 0)
                fail_msg("core %s, point %llu: recovery call differs from the reference at %ld",
                         kernels[kernel][0], (unsigned long long)n, bad);
        }
        print_message("core, %s kernel: %llu fault points\n", kernels[kernel][0],
                      (unsigned long long)points);
    }
    unsetenv("MHA_OPENCL_CORE");
    unsetenv("MHA_OPENCL_CORE_SPLITS");
}

int main(void)
{
    if (live_blocks_install() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_group_size),
        cmocka_unit_test(test_attention_create),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_context_create),
        cmocka_unit_test(test_lazy_build),
        cmocka_unit_test(test_core),
    };
    return cmocka_run_group_tests_name("opencl_faults", tests, group_setup, group_teardown);
}
