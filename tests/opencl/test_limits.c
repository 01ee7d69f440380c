/*
 * test_limits.c - the device's limits, capped by the test setting
 * MHA_OPENCL_LIMITS (plugins/opencl/limits.c, fits.c): on PoCL's large
 * device, a small one.
 *
 * On each path (GEMM, fused, absorbed, flash, forced with MHA_OPENCL_ATTENTION) and
 * on the attention core: a call with a buffer past max_alloc, or needing more
 * than global_mem in all, is refused with OUT_OF_MEMORY and a message naming
 * the buffer, the bytes and the limit, before anything is allocated or
 * enqueued, leaking nothing (the plugin's live buffers and events, host
 * blocks through mha_set_allocator); a call that fits matches the reference
 * plugin (OCL_TOL). Caps swept over a range show that what fits.c predicts
 * is what the steps allocate: a forward is either refused by fits.c or runs,
 * never stopped later by buffer.c's own check. Work-group and local memory
 * caps shrink the softmax's and the core's work-groups, and a softmax
 * or the core's tiled kernel needing more local memory than there is is
 * refused with UNSUPPORTED.
 * Bad values of the setting fail mha_backend_open naming the item.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h" /* plugins/opencl: the test hook (live buffer and event counts) */
#include "mha/core.h"
#include "mha/mha.h"
#include "live_blocks.h"
#include "ocl_test.h"

static const char *const g_paths[] = {"gemm", "fused", "absorbed", "flash"};
enum { PATHS = 4 };

typedef struct fixture {
    mha_backend *ref;
    bool device;
    /* cross attention, separate key and value, no bias_kv rows (so that the
     * absorbed path applies), no weights: the scores (N*H*L*S floats, 48 KiB)
     * are the largest buffer of the GEMM and absorbed paths; the fused path
     * has no buffer over 16 KiB */
    tk_case c;
    float *expect, *out;
} fixture;

static int group_setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    *state = &f;
    size_t count = 0;
    f.device = mha_plugin_device_count("opencl", &count) == MHA_STATUS_OK && count > 0;
    if (mha_backend_open("reference", &f.ref) != MHA_STATUS_OK) {
        fprintf(stderr, "reference: %s\n", mha_last_error());
        return -1;
    }
    tk_case *c = &f.c;
    c->E = 16, c->H = 2, c->kdim = 16, c->vdim = 16, c->N = 2, c->batched = true;
    c->L = 32, c->S = 96, c->bias = true, c->kpm = TK_MASK_BOOL;
    c->in_proj = TK_IN_PROJ_SEPARATE;
    tk_case_fill(c, 77);
    f.expect = calloc(c->out_count, sizeof(float));
    f.out = calloc(c->out_count, sizeof(float));
    return tk_case_run(c, f.ref, NULL, f.expect, NULL, NULL) == MHA_STATUS_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    mha_backend_close(f->ref);
    free(f->expect), free(f->out);
    tk_case_free(&f->c);
    unsetenv("MHA_OPENCL_LIMITS");
    unsetenv("MHA_OPENCL_ATTENTION");
    unsetenv("MHA_OPENCL_SOFTMAX");
    return 0;
}

#define NEED_DEVICE(f)                                    \
    do {                                                  \
        if (!(f)->device) {                               \
            print_message("no OpenCL device: skipped\n"); \
            skip();                                       \
        }                                                 \
    } while (0)

/* The OpenCL backend with the limits capped by `limits` (read when it is
 * opened), the faults hook attached for its live buffer and event counts. */
typedef struct capped {
    mha_opencl_faults faults;
    mha_opencl_fault_options options;
    mha_backend *backend;
} capped;

static void open_capped(capped *b, const char *limits)
{
    memset(b, 0, sizeof *b);
    b->options.header = (mha_extension){sizeof b->options, MHA_OPENCL_EXT_FAULTS, NULL};
    b->options.faults = &b->faults;
    setenv("MHA_OPENCL_LIMITS", limits, 1);
    mha_status st = mha_backend_open_with("opencl", &b->options.header, &b->backend);
    unsetenv("MHA_OPENCL_LIMITS");
    if (st != MHA_STATUS_OK)
        fail_msg("open with MHA_OPENCL_LIMITS=%s: %s", limits, mha_last_error());
}

/* An attention object of the case on path `path` (read at creation). */
static mha_status attention_on(const fixture *f, capped *b, const char *path, mha_attention **att)
{
    setenv("MHA_OPENCL_ATTENTION", path, 1);
    mha_status st = tk_case_attention(&f->c, b->backend, att);
    unsetenv("MHA_OPENCL_ATTENTION");
    return st;
}

static void expect_in(const char *message, const char *needle, const char *what)
{
    if (!strstr(message, needle))
        fail_msg("%s: the message lacks \"%s\": %s", what, needle, message);
}

/* One forward on a fresh attention object of `path`: OK and matching the
 * reference, or refused with `refusal` naming the needles; either way the
 * backend holds what it held before, and so does the host. */
static mha_status forward_on(fixture *f, capped *b, const char *path, mha_status refusal,
                             const char *const *needles)
{
    mha_attention *att = NULL;
    if (attention_on(f, b, path, &att) != MHA_STATUS_OK)
        fail_msg("%s: attention_create: %s", path, mha_last_error());
    const int64_t buffers = b->faults.live_buffers, events = b->faults.live_events;
    const long host = live_blocks();
    mha_status st = tk_case_run(&f->c, b->backend, att, f->out, NULL, NULL);
    if (st == MHA_STATUS_OK) {
        long bad = tk_first_bad(f->out, f->expect, f->c.out_count, OCL_TOL);
        if (bad >= 0)
            fail_msg("%s: differs from the reference at %ld", path, bad);
    } else {
        if (st != refusal)
            fail_msg("%s: status %s, expected %s: %s", path, mha_status_name(st),
                     mha_status_name(refusal), mha_last_error());
        for (; needles && *needles; ++needles)
            expect_in(mha_last_error(), *needles, path);
        /* refused before anything was allocated or left in flight */
        if (b->faults.live_buffers != buffers || b->faults.live_events != events ||
            live_blocks() != host)
            fail_msg("%s: the refusal leaked %lld buffers, %lld events, %ld host blocks", path,
                     (long long)(b->faults.live_buffers - buffers),
                     (long long)(b->faults.live_events - events), live_blocks() - host);
    }
    mha_attention_destroy(att);
    return st;
}

/* max_alloc 32 KiB: the scores (48 KiB) refused on the GEMM and absorbed
 * paths, naming the buffer, its formula and both sizes; the fused and flash
 * paths, which hold no L x S matrix, run. With 64 KiB all of them run. */
static void test_max_alloc(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    const long host = live_blocks();
    capped b;
    open_capped(&b, "max_alloc=32K");
    const char *gemm[] = {"\"scores\"", "N*H*L*S' floats", "49152 bytes = 48.0 KiB",
                          "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "32768 bytes = 32.0 KiB", NULL};
    const char *absorbed[] = {"\"scores\"", "N*H*L*S floats", "49152 bytes",
                              "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "32768 bytes", NULL};
    assert_int_equal(forward_on(f, &b, "gemm", MHA_STATUS_OUT_OF_MEMORY, gemm),
                     MHA_STATUS_OUT_OF_MEMORY);
    assert_int_equal(forward_on(f, &b, "absorbed", MHA_STATUS_OUT_OF_MEMORY, absorbed),
                     MHA_STATUS_OUT_OF_MEMORY);
    assert_int_equal(forward_on(f, &b, "fused", MHA_STATUS_OUT_OF_MEMORY, NULL), MHA_STATUS_OK);
    assert_int_equal(forward_on(f, &b, "flash", MHA_STATUS_OUT_OF_MEMORY, NULL), MHA_STATUS_OK);
    mha_backend_close(b.backend);

    open_capped(&b, "max_alloc=64K");
    for (int p = 0; p < PATHS; ++p)
        assert_int_equal(forward_on(f, &b, g_paths[p], MHA_STATUS_OUT_OF_MEMORY, NULL),
                         MHA_STATUS_OK);
    mha_backend_close(b.backend);
    assert_int_equal(live_blocks(), host);
}

/* global_mem 64 KiB: the weights fit (attention objects are created), no
 * path's forward does (each holds more than 100 KiB of scratch). */
static void test_global_mem(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    capped b;
    open_capped(&b, "global_mem=64K");
    const char *needles[] = {"the call", "CL_DEVICE_GLOBAL_MEM_SIZE", "65536 bytes = 64.0 KiB",
                             NULL};
    for (int p = 0; p < PATHS; ++p)
        assert_int_equal(forward_on(f, &b, g_paths[p], MHA_STATUS_OUT_OF_MEMORY, needles),
                         MHA_STATUS_OUT_OF_MEMORY);
    mha_backend_close(b.backend);
}

/* What fits.c predicts is what the steps allocate: over a sweep of caps,
 * each forward either runs (and matches) or is refused by fits.c, never by
 * buffer.c's own checks ("(as allocated)", "the backend's buffers needs"),
 * which would mean a buffer fits.c does not know or sized differently. */
static void test_prediction_sweep(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    static const char *const caps[] = {
        "max_alloc=6K",    "max_alloc=12K",   "max_alloc=13K",   "max_alloc=17K",
        "max_alloc=47K",   "max_alloc=48K",   "global_mem=100K", "global_mem=130K",
        "global_mem=160K", "global_mem=200K", "global_mem=260K", "global_mem=400K"};
    unsigned ran = 0, refused = 0;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; ++i) {
        capped b;
        open_capped(&b, caps[i]);
        for (int p = 0; p < PATHS; ++p) {
            mha_attention *att = NULL;
            if (attention_on(f, &b, g_paths[p], &att) != MHA_STATUS_OK)
                continue; /* the weights alone do not fit */
            mha_attention_destroy(att);
            mha_status st = forward_on(f, &b, g_paths[p], MHA_STATUS_OUT_OF_MEMORY, NULL);
            if (st != MHA_STATUS_OK) {
                const char *m = mha_last_error();
                if (strstr(m, "(as allocated)") || strstr(m, "the backend's buffers needs"))
                    fail_msg("%s, %s: refused by buffer.c, not fits.c: %s", caps[i], g_paths[p],
                             m);
                refused++;
            } else {
                ran++;
            }
        }
        mha_backend_close(b.backend);
    }
    print_message("sweep: %u forwards ran, %u refused\n", ran, refused);
    assert_true(ran > 0 && refused > 0);
}

/* Device memory is the backend's, not one attention object's: with room for
 * one object's forward (weights and scratch) and a half, a second object's
 * forward is refused while the first holds its scratch, and runs once the
 * first is destroyed. */
static void test_global_mem_shared(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    capped b;
    open_capped(&b, ""); /* no cap: measure one object */
    mha_attention *first = NULL, *second = NULL;
    assert_int_equal(attention_on(f, &b, "fused", &first), MHA_STATUS_OK);
    assert_int_equal(tk_case_run(&f->c, b.backend, first, f->out, NULL, NULL), MHA_STATUS_OK);
    mha_attention_stats stats = {.struct_size = sizeof stats};
    assert_int_equal(mha_attention_get_stats(first, &stats), MHA_STATUS_OK);
    mha_attention_destroy(first);
    mha_backend_close(b.backend);
    char cap[64];
    snprintf(cap, sizeof cap, "global_mem=%lluK",
             (unsigned long long)(stats.device_bytes_peak * 3 / 2 / 1024));

    open_capped(&b, cap);
    assert_int_equal(attention_on(f, &b, "fused", &first), MHA_STATUS_OK);
    assert_int_equal(attention_on(f, &b, "fused", &second), MHA_STATUS_OK);
    assert_int_equal(tk_case_run(&f->c, b.backend, first, f->out, NULL, NULL), MHA_STATUS_OK);
    mha_status st = tk_case_run(&f->c, b.backend, second, f->out, NULL, NULL);
    if (st != MHA_STATUS_OUT_OF_MEMORY)
        fail_msg("%s: second object: status %s, expected OUT_OF_MEMORY: %s", cap,
                 mha_status_name(st), mha_last_error());
    expect_in(mha_last_error(), "CL_DEVICE_GLOBAL_MEM_SIZE", cap);
    mha_attention_destroy(first);
    assert_int_equal(forward_on(f, &b, "fused", MHA_STATUS_OK, NULL), MHA_STATUS_OK);
    mha_attention_destroy(second);
    mha_backend_close(b.backend);
}

/* Work-groups of at most 1 and 16 work-items and 16 KiB of local memory:
 * every path adapts (the GEMM path with the work-group softmax too) and
 * matches the reference. */
static void test_work_group_caps(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    static const char *const caps[] = {"work_group=1", "work_group=16,local_mem=16K"};
    for (size_t i = 0; i < 2; ++i) {
        capped b;
        open_capped(&b, caps[i]);
        for (int p = 0; p < PATHS; ++p)
            assert_int_equal(forward_on(f, &b, g_paths[p], MHA_STATUS_OK, NULL), MHA_STATUS_OK);
        setenv("MHA_OPENCL_SOFTMAX", "group", 1);
        assert_int_equal(forward_on(f, &b, "gemm", MHA_STATUS_OK, NULL), MHA_STATUS_OK);
        unsetenv("MHA_OPENCL_SOFTMAX");
        mha_backend_close(b.backend);
    }
}

/* Less local memory than one float per work-item of the work-group softmax:
 * UNSUPPORTED naming the kernel and both sizes. */
static void test_local_mem(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    capped b;
    open_capped(&b, "local_mem=2");
    setenv("MHA_OPENCL_SOFTMAX", "group", 1);
    mha_attention *att = NULL;
    assert_int_equal(attention_on(f, &b, "gemm", &att), MHA_STATUS_OK);
    unsetenv("MHA_OPENCL_SOFTMAX");
    const int64_t buffers = b.faults.live_buffers, events = b.faults.live_events;
    mha_status st = tk_case_run(&f->c, b.backend, att, f->out, NULL, NULL);
    if (st != MHA_STATUS_UNSUPPORTED)
        fail_msg("status %s, expected UNSUPPORTED: %s", mha_status_name(st), mha_last_error());
    const char *needles[] = {"mha_softmax", "CL_KERNEL_LOCAL_MEM_SIZE",
                             "CL_DEVICE_LOCAL_MEM_SIZE (2 bytes)", NULL};
    for (const char *const *n = needles; *n; ++n)
        expect_in(mha_last_error(), *n, "local_mem=2");
    /* refused at the launch: the scratch stays with the object, nothing in flight */
    assert_true(b.faults.live_buffers >= buffers);
    assert_int_equal(b.faults.live_events, events);
    mha_attention_destroy(att);
    mha_backend_close(b.backend);
}

/* One core call on `backend` that must succeed and match y_ref (count
 * elements) within 2e-5 + 2e-5 |b|. */
static void expect_core_match(mha_backend *backend, const mha_core_args *args, float *y,
                              const float *y_ref, size_t count, const char *what)
{
    memset(y, 0, count * sizeof *y);
    if (mha_core_forward(backend, args) != MHA_STATUS_OK)
        fail_msg("core, %s: %s", what, mha_last_error());
    for (size_t i = 0; i < count; ++i)
        if (fabsf(y[i] - y_ref[i]) > 2e-5f + 2e-5f * fabsf(y_ref[i]))
            fail_msg("core, %s: y[%zu] = %g, reference %g", what, i, y[i], y_ref[i]);
}

/* The core on host views: a buffer per view, each against max_alloc, all
 * against global_mem; work-groups of 8 still match the reference. */
static void test_core(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    enum { B = 1, H = 2, L = 16, S = 24, D = 8 };
    static float q[B * H * L * D], k[B * H * S * D], v[B * H * S * D];
    static float y_ref[B * H * L * D], y[B * H * L * D];
    for (size_t i = 0; i < sizeof q / sizeof q[0]; ++i)
        q[i] = (float)sin(0.37 * (double)i);
    for (size_t i = 0; i < sizeof k / sizeof k[0]; ++i) {
        k[i] = (float)cos(0.21 * (double)i);
        v[i] = (float)sin(0.13 * (double)i + 1.0);
    }
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = mha_view_host(q, MHA_DTYPE_F32, 4, (int64_t[]){B, H, L, D});
    args.k = mha_view_host(k, MHA_DTYPE_F32, 4, (int64_t[]){B, H, S, D});
    args.v = mha_view_host(v, MHA_DTYPE_F32, 4, (int64_t[]){B, H, S, D});
    args.y = mha_view_host(y_ref, MHA_DTYPE_F32, 4, (int64_t[]){B, H, L, D});
    args.is_causal = true;
    assert_int_equal(mha_core_forward(f->ref, &args), MHA_STATUS_OK);
    args.y.data = y;

    const long host = live_blocks();
    capped b;
    open_capped(&b, "max_alloc=1K"); /* k and v: 1536 bytes each */
    mha_status st = mha_core_forward(b.backend, &args);
    if (st != MHA_STATUS_OUT_OF_MEMORY)
        fail_msg("max_alloc=1K: status %s: %s", mha_status_name(st), mha_last_error());
    expect_in(mha_last_error(), "\"k\"", "core, max_alloc");
    expect_in(mha_last_error(), "1536 bytes = 1.5 KiB", "core, max_alloc");
    expect_in(mha_last_error(), "CL_DEVICE_MAX_MEM_ALLOC_SIZE (1024 bytes = 1.0 KiB)",
              "core, max_alloc");
    mha_backend_close(b.backend);

    open_capped(&b, "global_mem=5K"); /* q, k, v, y: 5 KiB and the geometry */
    st = mha_core_forward(b.backend, &args);
    if (st != MHA_STATUS_OUT_OF_MEMORY)
        fail_msg("global_mem=5K: status %s: %s", mha_status_name(st), mha_last_error());
    expect_in(mha_last_error(), "CL_DEVICE_GLOBAL_MEM_SIZE (5120 bytes = 5.0 KiB)",
              "core, global_mem");
    mha_backend_close(b.backend);

    open_capped(&b, "work_group=8,max_alloc=2K,global_mem=6K");
    expect_core_match(b.backend, &args, y, y_ref, sizeof y / sizeof y[0], "work_group=8");
    mha_backend_close(b.backend);

    /* The tiled kernel, forced: tiles of 8 keys (2 rows of 16 floats each
     * per key in 1 KiB) in groups of 8 rows match; below one key's 128
     * bytes it is refused naming the sizes; a bad setting is named. */
    setenv("MHA_OPENCL_CORE", "tiled", 1);
    open_capped(&b, "local_mem=1K,work_group=8");
    expect_core_match(b.backend, &args, y, y_ref, sizeof y / sizeof y[0], "tiled, local_mem=1K");
    mha_backend_close(b.backend);
    open_capped(&b, "local_mem=64");
    st = mha_core_forward(b.backend, &args);
    if (st != MHA_STATUS_UNSUPPORTED)
        fail_msg("tiled, local_mem=64: status %s: %s", mha_status_name(st), mha_last_error());
    expect_in(mha_last_error(), "mha_core_tiled_16", "core tiled, local_mem=64");
    expect_in(mha_last_error(), "D = 8 and Dv = 8 need 128 bytes", "core tiled, local_mem=64");
    expect_in(mha_last_error(), "the device's 64", "core tiled, local_mem=64");
    setenv("MHA_OPENCL_CORE", "fast", 1);
    st = mha_core_forward(b.backend, &args);
    unsetenv("MHA_OPENCL_CORE");
    if (st != MHA_STATUS_INVALID_VALUE)
        fail_msg("MHA_OPENCL_CORE=fast: status %s: %s", mha_status_name(st), mha_last_error());
    expect_in(mha_last_error(), "MHA_OPENCL_CORE is \"fast\"", "core, bad setting");
    static const char *const bad_splits[] = {"0", "1025", "3x", "-1"};
    for (size_t i = 0; i < sizeof bad_splits / sizeof bad_splits[0]; ++i) {
        setenv("MHA_OPENCL_CORE_SPLITS", bad_splits[i], 1);
        st = mha_core_forward(b.backend, &args);
        if (st != MHA_STATUS_INVALID_VALUE)
            fail_msg("MHA_OPENCL_CORE_SPLITS=%s: status %s", bad_splits[i], mha_status_name(st));
        expect_in(mha_last_error(), "MHA_OPENCL_CORE_SPLITS is", "core, bad splits");
    }
    unsetenv("MHA_OPENCL_CORE_SPLITS");
    mha_backend_close(b.backend);

    /* Split-K: 2 pieces of 6 tiles of 2 keys match; their partial buffer
     * (2*B*H*L*(D+3) floats, 2816 bytes) is checked with the call's buffers
     * (each host view is at most 1536 bytes): refused, named, past 2 KiB. */
    setenv("MHA_OPENCL_CORE", "tiled", 1);
    setenv("MHA_OPENCL_CORE_SPLITS", "2", 1);
    open_capped(&b, "local_mem=256");
    expect_core_match(b.backend, &args, y, y_ref, sizeof y / sizeof y[0], "tiled in pieces");
    mha_backend_close(b.backend);
    open_capped(&b, "local_mem=256,max_alloc=2K");
    st = mha_core_forward(b.backend, &args);
    unsetenv("MHA_OPENCL_CORE");
    unsetenv("MHA_OPENCL_CORE_SPLITS");
    if (st != MHA_STATUS_OUT_OF_MEMORY)
        fail_msg("pieces, max_alloc=2K: status %s: %s", mha_status_name(st), mha_last_error());
    expect_in(mha_last_error(), "core split-K pieces", "core pieces, max_alloc");
    mha_backend_close(b.backend);
    assert_int_equal(live_blocks(), host);
}

/* MHA_OPENCL_LIMITS is parsed strictly: a bad item fails the open with
 * INVALID_VALUE and is named. */
static void test_bad_setting(void **state)
{
    fixture *f = *state;
    NEED_DEVICE(f);
    static const char *const bad[][2] = {
        {"max_alloc=1M,bogus=3", "\"bogus=3\""}, {"max_alloc=0", "\"max_alloc=0\""},
        {"local_mem=16X", "\"local_mem=16X\""},   {"work_group=", "\"work_group=\""},
        {"global_mem=K", "\"global_mem=K\""},     {"max_alloc=1M,", "\"\""},
        {"max_alloc=99999999999999999999", "\"max_alloc=99999999999999999999\""},
        {"max_alloc=1MB", "\"max_alloc=1MB\""},   {"max_alloc 1M", "\"max_alloc 1M\""}};
    const long host = live_blocks();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        mha_backend *b = NULL;
        setenv("MHA_OPENCL_LIMITS", bad[i][0], 1);
        mha_status st = mha_backend_open("opencl", &b);
        unsetenv("MHA_OPENCL_LIMITS");
        if (st != MHA_STATUS_INVALID_VALUE || b)
            fail_msg("MHA_OPENCL_LIMITS=%s: status %s, expected INVALID_VALUE", bad[i][0],
                     mha_status_name(st));
        expect_in(mha_last_error(), "MHA_OPENCL_LIMITS", bad[i][0]);
        expect_in(mha_last_error(), bad[i][1], bad[i][0]);
    }
    assert_int_equal(live_blocks(), host);
}

int main(void)
{
    if (live_blocks_install() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_setting),     cmocka_unit_test(test_max_alloc),
        cmocka_unit_test(test_global_mem),      cmocka_unit_test(test_global_mem_shared),
        cmocka_unit_test(test_prediction_sweep),
        cmocka_unit_test(test_work_group_caps), cmocka_unit_test(test_local_mem),
        cmocka_unit_test(test_core),
    };
    return cmocka_run_group_tests_name("opencl_limits", tests, group_setup, group_teardown);
}
