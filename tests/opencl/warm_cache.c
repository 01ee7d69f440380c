/*
 * warm_cache.c - the ctest fixture opencl_warm_cache (FIXTURES_SETUP
 * opencl_cache, tests/opencl/CMakeLists.txt). Every test process that uses
 * the OpenCL plugin builds the plugin's programs and CLBlast's kernels; on a
 * cold cache under PoCL that is tens of seconds per process, and a loaded
 * machine ran whole suites into their ctest timeouts. This program runs once,
 * before those tests, and fills both caches they read: PoCL's
 * (POCL_CACHE_DIR) and the plugin's program cache (MHA_OPENCL_CACHE_DIR).
 *
 * usage: warm_cache PATH...
 *
 * For each PATH (a value of MHA_OPENCL_ATTENTION, or "default" for the
 * plugin's own choice) it runs forwards of the shapes the suites use: the
 * random configurations of the sweep (every mask kind, weights, dropout,
 * bias_kv / zero_attn, batch layouts), a long softmax row, wide heads, and
 * projections large enough for CLBlast's tiled kernels; then a few of them
 * with each softmax kernel forced (MHA_OPENCL_SOFTMAX). Each path is set
 * before its attention objects are created, as the plugin reads it there, so
 * programs that the plugin builds per path (or all at once) are built either
 * way. A forward that fails is an error (exit 1); no OpenCL device is not
 * (exit 0, nothing to warm).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mha/mha.h"
#include "ocl_case.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs case c once; false (after a message) when it fails. */
static bool run(mha_backend *b, ocl_case *c, const char *path, const char *what)
{
    float *out = calloc(c->out_count, sizeof(float));
    float *w = calloc(c->weights_count + 1, sizeof(float));
    mha_status st = out && w ? ocl_case_run(c, b, NULL, out, w, NULL) : MHA_STATUS_OUT_OF_MEMORY;
    free(out);
    free(w);
    ocl_case_free(c);
    if (st != MHA_STATUS_OK) {
        fprintf(stderr, "warm_cache: path %s, %s: %s: %s\n", path, what, mha_status_name(st),
                mha_last_error());
        return false;
    }
    return true;
}

/* A fixed case: fields of `proto` (arrays NULL), data from `seed`. */
static bool run_fixed(mha_backend *b, const ocl_case *proto, uint32_t seed, const char *path,
                      const char *what)
{
    ocl_case c = *proto;
    ocl_case_fill(&c, seed);
    return run(b, &c, path, what);
}

static bool warm_path(mha_backend *b, const char *path)
{
    if (strcmp(path, "default") == 0)
        unsetenv("MHA_OPENCL_ATTENTION");
    else
        setenv("MHA_OPENCL_ATTENTION", path, 1);
    unsetenv("MHA_OPENCL_SOFTMAX");
    for (uint32_t id = 1; id <= 24; ++id) {
        ocl_case c;
        ocl_case_random(&c, id);
        if (!run(b, &c, path, "random case"))
            return false;
    }
    ocl_case p;
    memset(&p, 0, sizeof p);
    /* a long row: the softmax loops over many columns */
    p.E = p.kdim = p.vdim = 8, p.H = 2, p.N = 1, p.batched = true, p.batch_first = true;
    p.L = 3, p.S = 601, p.bias = true, p.need_weights = true, p.average = true;
    p.attn_mask = OCL_TM_FLOAT;
    if (!run_fixed(b, &p, 1, path, "long row"))
        return false;
    /* wide heads: head_dim at the fused kernels' limit and past it */
    for (int64_t hd = 128; hd <= 129; ++hd) {
        memset(&p, 0, sizeof p);
        p.H = 2, p.E = p.kdim = p.vdim = 2 * hd, p.N = 1, p.batched = true;
        p.L = 5, p.S = 7, p.bias = true, p.need_weights = hd == 129, p.average = true;
        p.kpm = OCL_TM_BOOL;
        if (!run_fixed(b, &p, 2, path, "wide heads"))
            return false;
    }
    /* projections big enough for CLBlast's tiled GEMM, self and cross */
    for (int self = 0; self < 2; ++self) {
        memset(&p, 0, sizeof p);
        p.E = 128, p.H = 4, p.N = 3, p.batched = true, p.L = 175, p.S = self ? 175 : 171;
        p.kdim = self ? 128 : 96, p.vdim = self ? 128 : 80, p.self_attention = self;
        p.bias = true, p.kpm = OCL_TM_BOOL;
        if (!run_fixed(b, &p, 3, path, "large projections"))
            return false;
    }
    /* decoding: one query against many keys (the absorbed path's shape) */
    memset(&p, 0, sizeof p);
    p.E = p.kdim = p.vdim = 64, p.H = 2, p.N = 2, p.batched = true, p.L = 1, p.S = 40;
    p.kv_same = true, p.bias = true, p.kpm = OCL_TM_BOOL;
    if (!run_fixed(b, &p, 4, path, "decoding"))
        return false;
    /* each softmax kernel (they are chosen per device, or forced) */
    static const char *softmax[] = {"items", "columns", "group"};
    for (size_t k = 0; k < sizeof softmax / sizeof softmax[0]; ++k) {
        setenv("MHA_OPENCL_SOFTMAX", softmax[k], 1);
        for (uint32_t id = 1; id <= 6; ++id) {
            ocl_case c;
            ocl_case_random(&c, id);
            if (!run(b, &c, path, softmax[k]))
                return false;
        }
    }
    unsetenv("MHA_OPENCL_SOFTMAX");
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: warm_cache PATH...  (PATH: default or an MHA_OPENCL_ATTENTION value)\n");
        return 2;
    }
    size_t count = 0;
    if (mha_plugin_device_count("opencl", &count) != MHA_STATUS_OK || count == 0) {
        printf("warm_cache: no OpenCL device: nothing to warm\n");
        return 0;
    }
    const double t0 = now_s();
    mha_backend *b = NULL;
    if (mha_backend_open("opencl", &b) != MHA_STATUS_OK) {
        fprintf(stderr, "warm_cache: opencl backend: %s\n", mha_last_error());
        return 1;
    }
    printf("warm_cache: backend open %.1f s\n", now_s() - t0);
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; ++i) {
        const double t = now_s();
        if (!warm_path(b, argv[i]))
            rc = 1;
        else
            printf("warm_cache: path %s %.1f s\n", argv[i], now_s() - t);
        fflush(stdout);
    }
    mha_backend_close(b);
    printf("warm_cache: %.1f s in all (POCL_CACHE_DIR=%s, MHA_OPENCL_CACHE_DIR=%s)\n",
           now_s() - t0, getenv("POCL_CACHE_DIR") ? getenv("POCL_CACHE_DIR") : "(unset)",
           getenv("MHA_OPENCL_CACHE_DIR") ? getenv("MHA_OPENCL_CACHE_DIR") : "(unset)");
    return rc;
}
