/*
 * test_forward.c - the OpenCL plugin against the reference plugin, through
 * the public API. One "opencl" and one "reference" backend are opened for the
 * whole binary (group fixture): CLBlast compiles its kernels on first use,
 * which takes seconds under PoCL.
 *
 * Tolerance: |opencl - reference| <= 1e-4 + 1e-3 * |reference|. The OpenCL
 * plugin accumulates in float32 in CLBlast's and the work-group reductions'
 * order, the reference in double; with inputs in [-1, 1], weights scaled by
 * 1/sqrt(fan_in) and sums of at most a few dozen terms, float32 rounding stays
 * orders of magnitude under these bounds, while any indexing or masking
 * mistake is far above them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "ocl_case.h"

#define ATOL 1e-4f
#define RTOL 1e-3f

#ifndef OCL_SWEEP_CASES
#define OCL_SWEEP_CASES 150
#endif

typedef struct fixture {
    mha_backend *ocl;
    mha_backend *ref;
} fixture;

static int group_setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    size_t count = 0;
    if (mha_plugin_device_count("opencl", &count) == MHA_STATUS_OK && count > 0) {
        if (mha_backend_open("opencl", &f.ocl) != MHA_STATUS_OK) {
            fprintf(stderr, "opencl backend: %s\n", mha_last_error());
            return -1;
        }
    }
    if (mha_backend_open("reference", &f.ref) != MHA_STATUS_OK) {
        fprintf(stderr, "reference backend: %s\n", mha_last_error());
        return -1;
    }
    *state = &f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    if (!f) /* group_setup failed and said why */
        return 0;
    mha_backend_close(f->ocl);
    mha_backend_close(f->ref);
    return 0;
}

/* Runs one case on both backends and compares outputs and weights. */
static void check_case(fixture *f, ocl_case *c, uint32_t id)
{
    char what[512];
    ocl_case_describe(c, what, sizeof what);
    float *out_o = calloc(c->out_count, sizeof(float));
    float *out_r = calloc(c->out_count, sizeof(float));
    float *w_o = calloc(c->weights_count + 1, sizeof(float));
    float *w_r = calloc(c->weights_count + 1, sizeof(float));
    mha_status so = ocl_case_run(c, f->ocl, NULL, out_o, w_o, NULL);
    if (so != MHA_STATUS_OK)
        fail_msg("case %u (%s): opencl: %s: %s", id, what, mha_status_name(so), mha_last_error());
    mha_status sr = ocl_case_run(c, f->ref, NULL, out_r, w_r, NULL);
    if (sr != MHA_STATUS_OK)
        fail_msg("case %u (%s): reference: %s: %s", id, what, mha_status_name(sr), mha_last_error());
    long bad = ocl_compare(out_o, out_r, c->out_count, ATOL, RTOL);
    if (bad >= 0)
        fail_msg("case %u (%s): attn_output[%ld] opencl %.8g reference %.8g", id, what, bad,
                 (double)out_o[bad], (double)out_r[bad]);
    bad = ocl_compare(w_o, w_r, c->weights_count, ATOL, RTOL);
    if (bad >= 0)
        fail_msg("case %u (%s): attn_weights[%ld] opencl %.8g reference %.8g", id, what, bad,
                 (double)w_o[bad], (double)w_r[bad]);
    free(out_o);
    free(out_r);
    free(w_o);
    free(w_r);
}

/* c, a copy of the random case r with some fields changed, gets data of its
 * own for its new shape (r's arrays are freed). */
static void refill(ocl_case *c, ocl_case *r, uint32_t seed)
{
    c->w_in = c->w_q = c->w_k = c->w_v = c->b_in = c->w_o = c->b_o = c->bias_k = c->bias_v = NULL;
    c->query = c->key = c->value = NULL;
    c->attn_mask_data = c->kpm_data = NULL;
    ocl_case_free(r);
    ocl_case_fill(c, seed);
}

/* Sets (value NULL: unsets) an environment variable the plugin reads when it
 * creates an attention object; returns its old value (NULL: unset) for
 * env_restore. */
static char *env_set(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old ? strdup(old) : NULL;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return saved;
}

static void env_restore(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

static void test_devices(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    size_t count = 0;
    assert_int_equal(mha_plugin_device_count("opencl", &count), MHA_STATUS_OK);
    for (size_t i = 0; i < count; ++i) {
        mha_device_info info = {.struct_size = sizeof info};
        assert_int_equal(mha_plugin_device_info("opencl", i, &info), MHA_STATUS_OK);
        assert_true(strchr(info.spec, '.') != NULL);
        assert_true(info.name[0] != '\0');
        assert_true(!strcmp(info.kind, "cpu") || !strcmp(info.kind, "gpu") ||
                    !strcmp(info.kind, "accelerator") || !strcmp(info.kind, "other"));
        assert_true(info.compute_units > 0);
    }
    mha_device_info info = {.struct_size = sizeof info};
    assert_int_equal(mha_backend_device_info(f->ocl, &info), MHA_STATUS_OK);
    assert_string_equal(mha_backend_plugin_name(f->ocl), "opencl");
}

static void test_bad_device_spec(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    static const char *specs[] = {"opencl:no-such-device-xyzzy", "opencl:999", "opencl:7.7"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; ++i) {
        mha_backend *b = NULL;
        assert_int_equal(mha_backend_open(specs[i], &b), MHA_STATUS_NOT_FOUND);
        assert_null(b);
        const char *spec = strchr(specs[i], ':') + 1;
        if (!strstr(mha_last_error(), spec))
            fail_msg("message \"%s\" does not name \"%s\"", mha_last_error(), spec);
    }
}

/* "" picks the device named by MHA_OPENCL_DEVICE when it is set. */
static void test_device_env(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_backend *b = NULL;
    setenv("MHA_OPENCL_DEVICE", "no-such-device-from-env", 1);
    assert_int_equal(mha_backend_open("opencl", &b), MHA_STATUS_NOT_FOUND);
    assert_non_null(strstr(mha_last_error(), "no-such-device-from-env"));
    setenv("MHA_OPENCL_DEVICE", "0", 1);
    assert_int_equal(mha_backend_open("opencl", &b), MHA_STATUS_OK);
    mha_device_info a = {.struct_size = sizeof a}, z = {.struct_size = sizeof z};
    assert_int_equal(mha_backend_device_info(b, &a), MHA_STATUS_OK);
    assert_int_equal(mha_plugin_device_info("opencl", 0, &z), MHA_STATUS_OK);
    assert_string_equal(a.spec, z.spec);
    mha_backend_close(b);
    unsetenv("MHA_OPENCL_DEVICE");
}

/* A call too large for the device fails with a named OpenCL error, and the
 * same attention object then works again. */
static void test_device_out_of_memory(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    ocl_case huge, ok;
    memset(&huge, 0, sizeof huge);
    huge.E = 2, huge.H = 1, huge.kdim = huge.vdim = 2, huge.N = 1, huge.batched = true;
    huge.L = huge.S = 300000; /* scores: 9e10 floats */
    huge.self_attention = true;
    ok = huge;
    ok.L = ok.S = 5;
    ocl_case_fill(&huge, 11);
    ocl_case_fill(&ok, 11); /* same seed: the same weights as `huge` */
    mha_attention *att = NULL;
    /* the GEMM path, whose L x S' matrix cannot fit (the fused kernel
     * holds no such matrix, and would run this to the end) */
    char *saved = env_set("MHA_OPENCL_ATTENTION", "gemm");
    assert_int_equal(ocl_case_attention(&huge, f->ocl, &att), MHA_STATUS_OK);
    env_restore("MHA_OPENCL_ATTENTION", saved);
    float *out = calloc(huge.out_count, sizeof(float));
    mha_status st = ocl_case_run(&huge, f->ocl, att, out, NULL, NULL);
    assert_int_equal(st, MHA_STATUS_OUT_OF_MEMORY);
    if (!strstr(mha_last_error(), "CL_"))
        fail_msg("message does not name the OpenCL error: %s", mha_last_error());
    float expect[10], got[10];
    assert_int_equal(ocl_case_run(&ok, f->ocl, att, got, NULL, NULL), MHA_STATUS_OK);
    assert_int_equal(ocl_case_run(&ok, f->ref, NULL, expect, NULL, NULL), MHA_STATUS_OK);
    assert_true(ocl_compare(got, expect, ok.out_count, ATOL, RTOL) < 0);
    mha_attention_destroy(att);
    free(out);
    ocl_case_free(&huge);
    ocl_case_free(&ok);
}

/* The single opencl-*.bin file in `dir` (path in `path`), or false. */
static bool cache_file(const char *dir, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, "opencl-", 7)) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            ++found;
        }
    if (d)
        closedir(d);
    return found == 1;
}

static long file_size_and_magic(const char *path, bool *magic)
{
    FILE *f = fopen(path, "rb");
    char head[8] = {0};
    *magic = false;
    if (!f)
        return -1;
    *magic = fread(head, 1, 8, f) == 8 && !memcmp(head, "MHACLBIN", 8);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Opens a backend (a context: program build or cache load) and checks it
 * computes correctly. */
static void open_and_check(fixture *f)
{
    mha_backend *b = NULL;
    assert_int_equal(mha_backend_open("opencl", &b), MHA_STATUS_OK);
    ocl_case c;
    ocl_case_random(&c, 3);
    float *o = calloc(c.out_count, sizeof(float)), *r = calloc(c.out_count, sizeof(float));
    float *w = calloc(c.weights_count + 1, sizeof(float));
    assert_int_equal(ocl_case_run(&c, b, NULL, o, w, NULL), MHA_STATUS_OK);
    assert_int_equal(ocl_case_run(&c, f->ref, NULL, r, w, NULL), MHA_STATUS_OK);
    assert_true(ocl_compare(o, r, c.out_count, ATOL, RTOL) < 0);
    free(o), free(r), free(w);
    ocl_case_free(&c);
    mha_backend_close(b);
}

/* Counts the plugin's cache trace lines (mha_set_log_callback). */
static int g_cache_loaded, g_cache_rebuilt;
static void cache_log(const char *message, void *user)
{
    (void)user;
    if (strstr(message, "opencl: cache: loaded"))
        ++g_cache_loaded;
    if (strstr(message, "rebuilding"))
        ++g_cache_rebuilt;
}

/* Program binaries are cached on disk; bad entries are rebuilt; "off" disables. */
static void test_program_cache(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    char dir[] = "ocl-cache-test-XXXXXX", path[1024];
    assert_non_null(mkdtemp(dir));
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", dir, 1);
    mha_set_log_callback(cache_log, NULL);

    open_and_check(f); /* miss: builds and stores */
    assert_int_equal(g_cache_loaded, 0);
    assert_true(cache_file(dir, path, sizeof path));
    bool magic = false;
    long size = file_size_and_magic(path, &magic);
    assert_true(magic && size > 40);
    open_and_check(f); /* hit */
    assert_int_equal(g_cache_loaded, 1);
    assert_int_equal(g_cache_rebuilt, 0);

    /* corrupt payload: rebuilt and rewritten */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, size - 1, SEEK_SET);
    fputc(0x5a ^ 0xff, fp);
    fseek(fp, 48, SEEK_SET);
    fputs("garbage", fp);
    fclose(fp);
    open_and_check(f);
    /* PoCL binaries may grow with kernels it has specialised since, so
     * only check that a valid entry was written again. */
    assert_true(file_size_and_magic(path, &magic) > 40);
    assert_true(magic);
    /* truncated, and not a cache file at all */
    assert_int_equal(truncate(path, 20), 0);
    open_and_check(f);
    assert_true(file_size_and_magic(path, &magic) > 40);
    fp = fopen(path, "wb");
    fputs("not a program", fp);
    fclose(fp);
    open_and_check(f);
    assert_true(file_size_and_magic(path, &magic) > 40);
    assert_true(magic);
    assert_int_equal(g_cache_rebuilt, 3);
    open_and_check(f);
    assert_int_equal(g_cache_loaded, 2);
    mha_set_log_callback(NULL, NULL);

    /* off */
    remove(path);
    setenv("MHA_OPENCL_CACHE_DIR", "off", 1);
    open_and_check(f);
    assert_false(cache_file(dir, path, sizeof path));

    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
    rmdir(dir);
}

/* MHA_OPENCL_BUILD_OPTIONS (a developer variable, appended to the build
 * options) can break the kernel build: the open fails with BUILD_ERROR and the
 * compiler's log in the message; without it the next open works. */
static void test_build_failure(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_backend *b = NULL;
    /* "__kernel void + (...)": a syntax error in the kernel source */
    setenv("MHA_OPENCL_BUILD_OPTIONS", "-Dmha_softmax=+", 1);
    mha_status st = mha_backend_open("opencl", &b);
    unsetenv("MHA_OPENCL_BUILD_OPTIONS");
    assert_int_equal(st, MHA_STATUS_BUILD_ERROR);
    assert_null(b);
    const char *msg = mha_last_error();
    if (!strstr(msg, "build log") || !strstr(msg, "-Dmha_softmax=+") || !strstr(msg, "error"))
        fail_msg("message lacks the options or the build log: %s", msg);
    open_and_check(f);
}

static void test_sweep(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t id = 1; id <= OCL_SWEEP_CASES; ++id) {
        ocl_case c;
        ocl_case_random(&c, id);
        check_case(f, &c, id);
        ocl_case_free(&c);
    }
}

/* A few hand-picked cases that the sweep might only hit by luck. */
static void test_edges(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    uint32_t id = 1000;
    for (int causal = 1; causal <= 2; ++causal)
        for (int lt = 0; lt < 2; ++lt) { /* L < S and L > S */
            ocl_case c;
            memset(&c, 0, sizeof c);
            c.E = 15, c.H = 3, c.kdim = c.vdim = 15, c.N = 2, c.batched = true;
            c.L = lt ? 3 : 7, c.S = lt ? 7 : 3;
            c.bias = true, c.add_zero_attn = (causal == 2), c.add_bias_kv = lt;
            c.causal = (mha_causal)causal;
            c.kpm = OCL_TM_BOOL;
            c.need_weights = true;
            c.average = false;
            ocl_case_fill(&c, id);
            check_case(f, &c, id++);
            ocl_case_free(&c);
        }
    /* A long row: the softmax work-group loops over many columns. */
    ocl_case c;
    memset(&c, 0, sizeof c);
    c.E = 8, c.H = 2, c.kdim = c.vdim = 8, c.N = 1, c.batched = true, c.batch_first = true;
    c.L = 3, c.S = 601, c.bias = true, c.need_weights = true, c.average = true;
    c.attn_mask = OCL_TM_FLOAT;
    ocl_case_fill(&c, id);
    check_case(f, &c, id++);
    ocl_case_free(&c);
}

/* The three softmax kernels (MHA_OPENCL_SOFTMAX: the 256-rows work-item kernel
 * CPUs get, and the one-row work-item and work-group ones GPUs get) on planes
 * and rows long enough for the vector loops and their remainders: every mask
 * kind, causal both ways, bias_kv / zero_attn columns, dropout; on both paths
 * that run one (the absorbed path consumes a deferred 1/sum, or not, too). */
static void test_softmax_kernels(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    static const char *kernels[] = {"items", "columns", "group"};
    static const char *paths[] = {"gemm", "absorbed"}; /* the paths with a softmax kernel */
    char *saved_path = env_set("MHA_OPENCL_ATTENTION", paths[0]);
    char *saved = env_set("MHA_OPENCL_SOFTMAX", kernels[0]);
    for (int k = 0; k < 6; ++k) {
        setenv("MHA_OPENCL_ATTENTION", paths[k / 3], 1);
        setenv("MHA_OPENCL_SOFTMAX", kernels[k % 3], 1);
        for (uint32_t id = 0; id < 24; ++id) {
            ocl_case r, c;
            ocl_case_random(&r, 5000u + id);
            c = r; /* c takes r's configuration; its arrays are refilled below */
            /* short planes, longer ones with a partial vector and single rows
             * at the end, and one with two work-items of mha_softmax_items
             * (256 rows each) */
            c.L = id < 20   ? 1 + (int64_t)((id * 7u) % 23u)
                  : id < 23 ? 40 + 19 * (int64_t)(id - 20u)
                            : 301;
            c.S = c.self_attention ? c.L : 8 + (int64_t)((id * 13u) % 41u);
            c.attn_mask = (ocl_test_mask)(id % 3u);
            c.kpm = (ocl_test_mask)((id / 3u) % 3u);
            c.causal = (mha_causal)((id / 9u) % 3u);
            refill(&c, &r, 5000u + id);
            check_case(f, &c, 5000u + id);
            ocl_case_free(&c);
        }
    }
    env_restore("MHA_OPENCL_SOFTMAX", saved);
    env_restore("MHA_OPENCL_ATTENTION", saved_path);
}

/* The three paths of the attention products (MHA_OPENCL_ATTENTION): the fused
 * kernels CPUs get, CLBlast's GEMMs around a softmax kernel, and the absorbed
 * key/value projections (where there are no bias_kv / zero_attn rows; else
 * the GEMMs), whose rows of H*L queries span several of its 8-row passes
 * here, with key and value widths of 1 to 9 (partial float8s). Query counts
 * cut by the fused kernels' 24-query work-items, key counts that are not
 * multiples of their 4-key steps, head_dim up to their limit of 128 (and
 * 129, where they fall back to the GEMMs); weights averaged, per head or
 * none, every mask kind, causal both ways, bias_kv / zero_attn keys, dropout. */
static void test_attention_paths(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    static const char *paths[] = {"fused", "gemm", "absorbed"};
    static const int64_t head_dims[] = {64, 128, 129};
    char *saved = env_set("MHA_OPENCL_ATTENTION", paths[0]);
    for (int p = 0; p < 3; ++p) {
        setenv("MHA_OPENCL_ATTENTION", paths[p], 1);
        for (uint32_t id = 0; id < 33; ++id) {
            ocl_case r, c;
            ocl_case_random(&r, 7000u + id);
            c = r; /* c takes r's configuration; its arrays are refilled below */
            c.need_weights = id % 3u != 0;
            c.average = id % 2u == 0;
            c.L = 1 + (int64_t)((id * 11u) % 61u); /* up to 3 work-items, partly filled */
            c.S = c.self_attention ? c.L : 1 + (int64_t)((id * 7u) % 43u);
            c.attn_mask = (ocl_test_mask)(id % 3u);
            c.kpm = (ocl_test_mask)((id / 3u) % 3u);
            c.causal = (mha_causal)((id / 9u) % 3u);
            c.training = id % 4u == 0;
            c.dropout = c.training ? 0.3f : 0.0f;
            if (id >= 30) { /* wide heads */
                c.H = 2;
                c.E = c.kdim = c.vdim = 2 * head_dims[id - 30];
            }
            refill(&c, &r, 7000u + id);
            check_case(f, &c, 7000u + id);
            ocl_case_free(&c);
        }
    }
    env_restore("MHA_OPENCL_ATTENTION", saved);
}

/* Projections big enough for CLBlast's tiled kernel, with rows (N*L, N*S)
 * that are multiples of none of its usual tiles: the plugin pads the
 * transposed inputs (forward.c, padded_rows) and each GEMM must read them
 * with that padding. Self-attention (one input for three projections), key ==
 * value, and separate key and value of other widths, both batch layouts. */
static void test_projection_padding(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t id = 0; id < 6; ++id) {
        ocl_case c;
        memset(&c, 0, sizeof c);
        c.E = 128, c.H = 4, c.N = 3, c.batched = true, c.batch_first = id % 2u == 1;
        c.L = 175, c.S = 171, c.bias = true, c.kpm = OCL_TM_BOOL;
        c.need_weights = id >= 4, c.average = true;
        const uint32_t kind = id / 2u % 3u; /* 0 self, 1 key == value, 2 other widths */
        c.self_attention = kind == 0;
        c.kv_same = kind == 1;
        c.kdim = kind == 2 ? 96 : 128;
        c.vdim = kind == 2 ? 80 : 128;
        if (c.self_attention)
            c.S = c.L;
        ocl_case_fill(&c, 8100u + id);
        check_case(f, &c, 8100u + id);
        ocl_case_free(&c);
    }
}

/* A row whose only unmasked score is NaN is NaN, as in the reference (and
 * PyTorch), not a fully masked row of zeros. Two ways to get there: a NaN in a
 * float attn_mask with -inf elsewhere in the row, and a NaN query with a bool
 * mask that leaves one key. A third: a NaN in the key bias makes every score
 * of its head NaN, also where it is not added to the keys but enters as q.b_k
 * (the fused kernels reading K in place, the absorbed path), which softmax
 * would otherwise ignore as a constant of the row. */
static void test_nan_only_unmasked(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (int way = 0; way < 3; ++way)
        for (int weights = 0; weights < 2; ++weights) {
            ocl_case c;
            memset(&c, 0, sizeof c);
            c.E = 6, c.H = 2, c.kdim = c.vdim = 6, c.N = 2, c.batched = true;
            c.L = 4, c.S = 5, c.bias = true, c.need_weights = weights, c.average = way;
            c.attn_mask = way == 0 ? OCL_TM_FLOAT : way == 1 ? OCL_TM_BOOL : OCL_TM_NONE;
            ocl_case_fill(&c, 900u + (uint32_t)way);
            const size_t S = (size_t)c.S;
            if (way == 0) {
                float *m = c.attn_mask_data; /* (L, S): row 1 */
                for (size_t j = 0; j < S; ++j)
                    m[1 * S + j] = j == 2 ? NAN : -INFINITY;
            } else if (way == 1) {
                uint8_t *m = c.attn_mask_data; /* (L, S): row 2 keeps key 3 only */
                for (size_t j = 0; j < S; ++j)
                    m[2 * S + j] = j != 3;
                /* query row (l = 2, n = 1), layout (L, N, E) */
                c.query[(2 * (size_t)c.N + 1) * (size_t)c.E + 4] = NAN;
            } else {
                c.b_in[c.E] = NAN; /* b_k[0]: every score of head 0 */
            }
            float *out = calloc(c.out_count, sizeof(float));
            float *w = calloc(c.weights_count + 1, sizeof(float));
            assert_int_equal(ocl_case_run(&c, f->ocl, NULL, out, w, NULL), MHA_STATUS_OK);
            size_t nans = 0;
            for (size_t i = 0; i < c.out_count; ++i)
                nans += isnan(out[i]) != 0;
            if (nans == 0)
                fail_msg("way %d: no NaN in attn_output", way);
            free(out), free(w);
            check_case(f, &c, 900u + (uint32_t)(2 * way + weights));
            ocl_case_free(&c);
        }
}

/* Dropout drops exactly the reference's elements. */
static void test_dropout_mask(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t k = 0; k < 4; ++k) {
        ocl_case c;
        memset(&c, 0, sizeof c);
        c.E = 12, c.H = 4, c.kdim = c.vdim = 12, c.N = 3, c.batched = true;
        c.L = 5, c.S = 13, c.bias = true, c.add_zero_attn = (k & 1);
        c.need_weights = true, c.average = false;
        c.training = true, c.dropout = k < 2 ? 0.5f : 0.25f;
        c.seed = k == 3 ? 0xfedcba9876543210ull : 42u + k;
        ocl_case_fill(&c, 77 + k);
        float *out_o = calloc(c.out_count, sizeof(float)), *out_r = calloc(c.out_count, sizeof(float));
        float *w_o = calloc(c.weights_count, sizeof(float)), *w_r = calloc(c.weights_count, sizeof(float));
        assert_int_equal(ocl_case_run(&c, f->ocl, NULL, out_o, w_o, NULL), MHA_STATUS_OK);
        assert_int_equal(ocl_case_run(&c, f->ref, NULL, out_r, w_r, NULL), MHA_STATUS_OK);
        size_t zeros = 0;
        for (size_t i = 0; i < c.weights_count; ++i) {
            if ((w_o[i] == 0.0f) != (w_r[i] == 0.0f))
                fail_msg("seed %llu: weight %zu dropped by one plugin only (%g vs %g)",
                         (unsigned long long)c.seed, i, (double)w_o[i], (double)w_r[i]);
            zeros += w_o[i] == 0.0f;
        }
        /* p of them, roughly */
        assert_true(zeros > c.weights_count / 8 && zeros < c.weights_count * 3 / 4);
        assert_true(ocl_compare(w_o, w_r, c.weights_count, ATOL, RTOL) < 0);
        assert_true(ocl_compare(out_o, out_r, c.out_count, ATOL, RTOL) < 0);
        free(out_o), free(out_r), free(w_o), free(w_r);
        ocl_case_free(&c);
    }
}

/* Device buffers the attention object has allocated (mha_attention_get_stats). */
static uint64_t device_allocations(const mha_attention *att)
{
    mha_attention_stats st = {.struct_size = sizeof st};
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_true(st.stats_supported);
    return st.device_allocations;
}

/* After the first call, calls of the same or smaller size allocate nothing. */
static void test_steady_state_allocations(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    ocl_case big, small;
    memset(&big, 0, sizeof big);
    big.E = 10, big.H = 2, big.kdim = 6, big.vdim = 7, big.N = 3, big.batched = true;
    big.L = 9, big.S = 11, big.bias = true, big.add_bias_kv = true, big.need_weights = true;
    big.average = true, big.attn_mask = OCL_TM_FLOAT, big.kpm = OCL_TM_BOOL;
    small = big;
    small.N = 2, small.L = 4, small.S = 5;
    ocl_case_fill(&big, 5);
    ocl_case_fill(&small, 6);
    mha_attention *att = NULL;
    assert_int_equal(ocl_case_attention(&big, f->ocl, &att), MHA_STATUS_OK);
    float *out = calloc(big.out_count, sizeof(float)), *w = calloc(big.weights_count, sizeof(float));
    const uint64_t created = device_allocations(att);
    assert_true(created > 0); /* the weights */
    assert_int_equal(ocl_case_run(&big, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
    const uint64_t total = device_allocations(att);
    assert_true(total > created);
    for (int i = 0; i < 3; ++i) {
        assert_int_equal(ocl_case_run(&big, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
        assert_int_equal(device_allocations(att), total);
        assert_int_equal(ocl_case_run(&small, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
        assert_int_equal(device_allocations(att), total);
    }
    /* A larger call grows the scratch once, then is steady again. */
    ocl_case bigger = big;
    bigger.L = 13;
    bigger.w_in = bigger.w_q = bigger.w_k = bigger.w_v = NULL;
    bigger.query = bigger.key = bigger.value = NULL;
    bigger.attn_mask_data = bigger.kpm_data = NULL;
    ocl_case_fill(&bigger, 7);
    float *out2 = calloc(bigger.out_count, sizeof(float));
    float *w2 = calloc(bigger.weights_count, sizeof(float));
    assert_int_equal(ocl_case_run(&bigger, f->ocl, att, out2, w2, NULL), MHA_STATUS_OK);
    const uint64_t grown = device_allocations(att);
    assert_true(grown > total);
    assert_int_equal(ocl_case_run(&bigger, f->ocl, att, out2, w2, NULL), MHA_STATUS_OK);
    assert_int_equal(device_allocations(att), grown);
    mha_attention_destroy(att);
    free(out), free(w), free(out2), free(w2);
    ocl_case_free(&big);
    ocl_case_free(&small);
    ocl_case_free(&bigger);
}

static bool has_stage(const mha_attention_stats *st, const char *name, bool gemm)
{
    for (uint32_t i = 0; i < st->stage_count; ++i)
        if (!strcmp(st->stages[i].name, name))
            return st->stages[i].is_gemm == gemm && st->stages[i].milliseconds >= 0.0;
    return false;
}

/* Statistics: memory held and its peak, and the stages of the last forward. */
static void test_stats(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    ocl_case c;
    memset(&c, 0, sizeof c);
    c.E = 16, c.H = 4, c.kdim = c.vdim = 16, c.N = 2, c.batched = true;
    c.L = 6, c.S = 9, c.bias = true, c.need_weights = true, c.average = true;
    ocl_case_fill(&c, 31);
    mha_attention *att = NULL;
    char *saved = env_set("MHA_OPENCL_ATTENTION", "gemm"); /* the fused path: at the end */
    assert_int_equal(ocl_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    mha_attention_stats st = {.struct_size = sizeof st};
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_true(st.stats_supported);
    /* the weights: Wq^T, Wk^T, Wv^T, Wo^T and the biases, a buffer each */
    assert_int_equal(st.device_allocations, 5);
    const uint64_t weight_bytes = st.device_bytes;
    /* Wq Wk Wv Wo, in_proj_bias, out_proj.bias, bias_k, bias_v */
    assert_int_equal(weight_bytes, (4 * 16 * 16 + 3 * 16 + 3 * 16) * sizeof(float));
    assert_int_equal(st.device_bytes_peak, weight_bytes);
    assert_int_equal(st.stage_count, 0); /* no forward yet */

    float *out = calloc(c.out_count, sizeof(float)), *w = calloc(c.weights_count, sizeof(float));
    for (int rep = 0; rep < 2; ++rep) {
        assert_int_equal(ocl_case_run(&c, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
        assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
        assert_true(st.device_bytes > weight_bytes);
        assert_true(st.device_bytes_peak >= st.device_bytes);
        /* projections heads scores softmax_average pv merge output output_bias */
        assert_int_equal(st.stage_count, 8);
        assert_true(has_stage(&st, "projections", true));
        assert_true(has_stage(&st, "heads", false));
        assert_true(has_stage(&st, "scores", true));
        assert_true(has_stage(&st, "softmax_average", false));
        assert_true(has_stage(&st, "pv", true));
        assert_true(has_stage(&st, "merge", false));
        assert_true(has_stage(&st, "output", true));
        assert_true(has_stage(&st, "output_bias", false));
        double total = 0.0;
        for (uint32_t i = 0; i < st.stage_count; ++i)
            total += st.stages[i].milliseconds;
        assert_true(total > 0.0 && total < 60000.0);
    }
    for (uint32_t i = 0; i < st.stage_count; ++i)
        print_message("stage %-12s %s %.4f ms\n", st.stages[i].name,
                      st.stages[i].is_gemm ? "gemm  " : "kernel", st.stages[i].milliseconds);
    /* Without weights, on the GEMM path: no averaging stage; reading stats
     * twice gives the same answer. */
    c.need_weights = false;
    assert_int_equal(ocl_case_run(&c, f->ocl, att, out, NULL, NULL), MHA_STATUS_OK);
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_int_equal(st.stage_count, 8);
    assert_true(has_stage(&st, "softmax", false));
    assert_false(has_stage(&st, "softmax_average", false));
    mha_attention_stats again = {.struct_size = sizeof again};
    assert_int_equal(mha_attention_get_stats(att, &again), MHA_STATUS_OK);
    assert_int_equal(again.stage_count, 8);
    assert_true(again.stages[0].milliseconds == st.stages[0].milliseconds);
    mha_attention_destroy(att);
    /* The fused path: one stage from the heads to the merged heads, named
     * after the weights it writes. */
    setenv("MHA_OPENCL_ATTENTION", "fused", 1);
    assert_int_equal(ocl_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    env_restore("MHA_OPENCL_ATTENTION", saved);
    static const char *fused_stage[] = {"attention", "attention_average", "attention_weights"};
    /* room for per-head weights (N, H, L, S'), S' <= S + 2 */
    float *wh = calloc((size_t)(c.N * c.H * c.L * (c.S + 2)), sizeof(float));
    for (int weights = 0; weights < 3; ++weights) {
        c.need_weights = weights > 0;
        c.average = weights == 1;
        assert_int_equal(ocl_case_run(&c, f->ocl, att, out, c.need_weights ? wh : NULL, NULL),
                         MHA_STATUS_OK);
        assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
        assert_int_equal(st.stage_count, 5);
        assert_true(has_stage(&st, "projections", true));
        assert_true(has_stage(&st, "heads", false));
        assert_true(has_stage(&st, fused_stage[weights], false));
        assert_true(has_stage(&st, "output", true));
        assert_true(has_stage(&st, "output_bias", false));
    }
    free(wh);
    mha_attention_destroy(att);
    free(out), free(w);
    ocl_case_free(&c);
}

/* Left to choose (no MHA_OPENCL_ATTENTION), a CPU device takes the absorbed
 * path for one query against many keys (it needs 1/18 of the flops of
 * projecting them) and not for self-attention; the absorbed path's stages. */
static void test_absorbed_choice(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_device_info info = {.struct_size = sizeof info};
    assert_int_equal(mha_backend_device_info(f->ocl, &info), MHA_STATUS_OK);
    if (strcmp(info.kind, "cpu") != 0) {
        print_message("not a CPU device (%s): skipped\n", info.kind);
        skip();
    }
    char *saved = env_set("MHA_OPENCL_ATTENTION", NULL);
    for (int self = 0; self < 2; ++self)
        for (int weights = 0; weights < 2; ++weights) {
            ocl_case c;
            memset(&c, 0, sizeof c);
            c.E = c.kdim = c.vdim = 64, c.H = 2, c.N = 2, c.batched = true;
            c.L = self ? 40 : 1, c.S = 40, c.self_attention = self, c.kv_same = !self;
            c.bias = true, c.kpm = OCL_TM_BOOL, c.need_weights = weights, c.average = true;
            ocl_case_fill(&c, 950u + (uint32_t)(2 * self + weights));
            check_case(f, &c, 950u + (uint32_t)(2 * self + weights));
            mha_attention *att = NULL;
            float *out = calloc(c.out_count, sizeof(float));
            float *w = calloc(c.weights_count + 1, sizeof(float));
            assert_int_equal(ocl_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
            assert_int_equal(ocl_case_run(&c, f->ocl, att, out, weights ? w : NULL, NULL),
                             MHA_STATUS_OK);
            mha_attention_stats st = {.struct_size = sizeof st};
            assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
            if (self) { /* the fused kernels */
                assert_true(has_stage(&st, "heads", false));
                assert_false(has_stage(&st, "scores", false));
            } else { /* projections (q only) scores softmax pv output output_bias */
                assert_int_equal(st.stage_count, 6);
                assert_true(has_stage(&st, "projections", true));
                assert_true(has_stage(&st, "scores", false));
                assert_true(has_stage(&st, weights ? "softmax_average" : "softmax", false));
                assert_true(has_stage(&st, "pv", false));
                assert_true(has_stage(&st, "output", true));
                assert_true(has_stage(&st, "output_bias", false));
            }
            mha_attention_destroy(att);
            free(out), free(w);
            ocl_case_free(&c);
        }
    env_restore("MHA_OPENCL_ATTENTION", saved);
}

/* Threads, each with its own attention object on the shared backend. */
#define OCL_THREADS 4
#define OCL_THREAD_CASES 6
typedef struct thread_job {
    fixture *f;
    int index;
    float *outs[OCL_THREAD_CASES];
    mha_status status;
} thread_job;

static uint32_t thread_case_seed(int k) { return 500u + (uint32_t)k; }

static void *thread_main(void *p)
{
    thread_job *job = p;
    job->status = MHA_STATUS_OK;
    for (int rep = 0; rep < 2; ++rep)
        for (int k = 0; k < OCL_THREAD_CASES; ++k) {
            int kk = (k + job->index) % OCL_THREAD_CASES; /* different orders */
            ocl_case c;
            ocl_case_random(&c, thread_case_seed(kk));
            float *w = calloc(c.weights_count + 1, sizeof(float));
            mha_status st = ocl_case_run(&c, job->f->ocl, NULL, job->outs[kk], w, NULL);
            if (st != MHA_STATUS_OK)
                job->status = st;
            free(w);
            ocl_case_free(&c);
        }
    return NULL;
}

static void test_threads(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    float *expect[OCL_THREAD_CASES];
    size_t counts[OCL_THREAD_CASES];
    for (int k = 0; k < OCL_THREAD_CASES; ++k) {
        ocl_case c;
        ocl_case_random(&c, thread_case_seed(k));
        counts[k] = c.out_count;
        expect[k] = calloc(c.out_count, sizeof(float));
        float *w = calloc(c.weights_count + 1, sizeof(float));
        assert_int_equal(ocl_case_run(&c, f->ocl, NULL, expect[k], w, NULL), MHA_STATUS_OK);
        free(w);
        ocl_case_free(&c);
    }
    thread_job jobs[OCL_THREADS];
    pthread_t tids[OCL_THREADS];
    for (int t = 0; t < OCL_THREADS; ++t) {
        jobs[t].f = f;
        jobs[t].index = t;
        for (int k = 0; k < OCL_THREAD_CASES; ++k)
            jobs[t].outs[k] = calloc(counts[k], sizeof(float));
        assert_int_equal(pthread_create(&tids[t], NULL, thread_main, &jobs[t]), 0);
    }
    for (int t = 0; t < OCL_THREADS; ++t)
        pthread_join(tids[t], NULL);
    for (int t = 0; t < OCL_THREADS; ++t) {
        assert_int_equal(jobs[t].status, MHA_STATUS_OK);
        for (int k = 0; k < OCL_THREAD_CASES; ++k) {
            /* Same device, same kernels, same order: identical bits. */
            if (memcmp(jobs[t].outs[k], expect[k], counts[k] * sizeof(float)) != 0)
                fail_msg("thread %d case %d differs from the single-thread result", t, k);
            free(jobs[t].outs[k]);
        }
    }
    for (int k = 0; k < OCL_THREAD_CASES; ++k)
        free(expect[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_bad_device_spec),
        cmocka_unit_test(test_device_env),
        cmocka_unit_test(test_device_out_of_memory),
        cmocka_unit_test(test_program_cache),
        cmocka_unit_test(test_build_failure),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_softmax_kernels),
        cmocka_unit_test(test_attention_paths),
        cmocka_unit_test(test_projection_padding),
        cmocka_unit_test(test_nan_only_unmasked),
        cmocka_unit_test(test_dropout_mask),
        cmocka_unit_test(test_steady_state_allocations),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_absorbed_choice),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("opencl_forward", tests, group_setup, group_teardown);
}
