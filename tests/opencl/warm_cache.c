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
 * It launches the shapes the forward suite launches, from the suite's own
 * case grids (forward_grid.h): PoCL builds each kernel again for every
 * work-group size it meets, so only the same shapes find the same binaries.
 * First the grids the suite runs on paths and softmax kernels it forces
 * itself, then, for each PATH (a value of MHA_OPENCL_ATTENTION, or "default"
 * for the plugin's own choice: the ctests of tests/opencl/CMakeLists.txt's
 * mha_opencl_paths), the grids it runs on the path its ctest sets. The other
 * suites' shapes are a subset or few. Each path is set before its attention
 * objects are created, where the plugin reads it, so programs that the
 * plugin builds per path, or all at once, are built either way. Forwards
 * only, no comparison (the suites compare). A forward that fails is an error
 * (exit 1); no OpenCL device is not (exit 0, nothing to warm).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mha/mha.h"
#include "forward_grid.h"
#include "ocl_test.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs case c once; false (after a message) when it fails. */
static bool run(mha_backend *b, tk_case *c, const char *path, const char *what)
{
    float *out = calloc(c->out_count, sizeof(float));
    float *w = calloc(c->weights_count + 1, sizeof(float));
    mha_status st = out && w ? tk_case_run(c, b, NULL, out, w, NULL) : MHA_STATUS_OUT_OF_MEMORY;
    free(out);
    free(w);
    tk_case_free(c);
    if (st != MHA_STATUS_OK) {
        fprintf(stderr, "warm_cache: path %s, %s: %s: %s\n", path, what, mha_status_name(st),
                mha_last_error());
        return false;
    }
    return true;
}

/* Runs every case of grid `make` from `first`, `count` of them. */
static bool run_grid(mha_backend *b, void (*make)(tk_case *, uint32_t), uint32_t first,
                     uint32_t count, const char *path, const char *what)
{
    for (uint32_t id = first; id < first + count; ++id) {
        tk_case c;
        make(&c, id);
        if (!run(b, &c, path, what))
            return false;
    }
    return true;
}

static void set_path(const char *path)
{
    if (strcmp(path, "default") == 0)
        unsetenv("MHA_OPENCL_ATTENTION");
    else
        setenv("MHA_OPENCL_ATTENTION", path, 1);
}

/* The grids the forward suite runs on whichever path its ctest sets. */
static bool warm_path(mha_backend *b, const char *path)
{
    set_path(path);
    return run_grid(b, grid_sweep, 1, GRID_SWEEP_CASES, path, "sweep") &&
           run_grid(b, grid_edge, GRID_EDGE_FIRST, GRID_EDGE_CASES, path, "edges") &&
           run_grid(b, grid_padding, GRID_PADDING_FIRST, GRID_PADDING_CASES, path, "padding") &&
           run_grid(b, grid_choice, GRID_CHOICE_FIRST, GRID_CHOICE_CASES, path, "choice");
}

/* The grids the suite runs on the paths and softmax kernels it forces itself. */
static bool warm_forced(mha_backend *b)
{
    for (size_t p = 0; p < sizeof grid_paths / sizeof grid_paths[0]; ++p) {
        set_path(grid_paths[p]);
        if (!run_grid(b, grid_path, GRID_PATH_FIRST, GRID_PATH_CASES, grid_paths[p], "paths"))
            return false;
    }
    for (size_t p = 0; p < sizeof grid_softmax_paths / sizeof grid_softmax_paths[0]; ++p)
        for (size_t k = 0; k < sizeof grid_softmax_kernels / sizeof grid_softmax_kernels[0]; ++k) {
            set_path(grid_softmax_paths[p]);
            setenv("MHA_OPENCL_SOFTMAX", grid_softmax_kernels[k], 1);
            if (!run_grid(b, grid_softmax, GRID_SOFTMAX_FIRST, GRID_SOFTMAX_CASES,
                          grid_softmax_paths[p], grid_softmax_kernels[k]))
                return false;
        }
    unsetenv("MHA_OPENCL_SOFTMAX");
    unsetenv("MHA_OPENCL_ATTENTION");
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
    double t = now_s();
    if (!warm_forced(b))
        rc = 1;
    else
        printf("warm_cache: the paths and softmax kernels the suite forces %.1f s\n", now_s() - t);
    for (int i = 1; i < argc && rc == 0; ++i) {
        t = now_s();
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
