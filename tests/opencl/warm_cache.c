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
 * One job per grid and path: the grids the suite runs on the paths and
 * softmax kernels it forces itself, then its grids on each PATH (a value of
 * MHA_OPENCL_ATTENTION, or "default" for the plugin's own choice: the ctests
 * of mha_opencl_paths in tests/opencl/CMakeLists.txt). The other suites'
 * shapes are a subset or few. Each job is a process of its own, which sets
 * the path before it creates attention objects (where the plugin reads it),
 * so programs that the plugin builds per path, or all at once, are built
 * either way; as many run at once as there are processors, since PoCL
 * compiles on the calling thread. Forwards only, no comparison (the suites
 * compare). A forward that fails is an error (exit 1); no OpenCL device is
 * not (exit 0, nothing to warm).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* One job: a grid on a path (and softmax kernel), in a process of its own. */
typedef struct job {
    const char *grid; /* "paths", "softmax" or "suite" */
    const char *path; /* default or an MHA_OPENCL_ATTENTION value */
    const char *softmax; /* MHA_OPENCL_SOFTMAX, or NULL */
} job;

static bool run_job(mha_backend *b, const job *j)
{
    if (strcmp(j->grid, "paths") == 0)
        return run_grid(b, grid_path, GRID_PATH_FIRST, GRID_PATH_CASES, j->path, "paths");
    if (strcmp(j->grid, "softmax") == 0)
        return run_grid(b, grid_softmax, GRID_SOFTMAX_FIRST, GRID_SOFTMAX_CASES, j->path,
                        j->softmax);
    /* the grids the suite runs on whichever path its ctest sets */
    return run_grid(b, grid_sweep, 1, GRID_SWEEP_CASES, j->path, "sweep") &&
           run_grid(b, grid_edge, GRID_EDGE_FIRST, GRID_EDGE_CASES, j->path, "edges") &&
           run_grid(b, grid_padding, GRID_PADDING_FIRST, GRID_PADDING_CASES, j->path,
                    "padding") &&
           run_grid(b, grid_choice, GRID_CHOICE_FIRST, GRID_CHOICE_CASES, j->path, "choice");
}

/* The child process of job j: 0 done (or no device), 1 failed. */
static int child(const job *j)
{
    const double t0 = now_s();
    set_path(j->path);
    if (j->softmax)
        setenv("MHA_OPENCL_SOFTMAX", j->softmax, 1);
    else
        unsetenv("MHA_OPENCL_SOFTMAX");
    size_t count = 0;
    if (mha_plugin_device_count("opencl", &count) != MHA_STATUS_OK || count == 0) {
        printf("warm_cache: no OpenCL device: nothing to warm\n");
        return 0;
    }
    mha_backend *b = NULL;
    if (mha_backend_open("opencl", &b) != MHA_STATUS_OK) {
        fprintf(stderr, "warm_cache: opencl backend: %s\n", mha_last_error());
        return 1;
    }
    const bool ok = run_job(b, j);
    mha_backend_close(b);
    if (ok)
        printf("warm_cache: %s on %s%s%s: %.1f s\n", j->grid, j->path,
               j->softmax ? ", softmax " : "", j->softmax ? j->softmax : "", now_s() - t0);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: warm_cache PATH...  "
                        "(PATH: default or an MHA_OPENCL_ATTENTION value)\n");
        return 2;
    }
    /* The longest first: the grids on the paths and softmax kernels the
     * suite forces itself, then the suite's grids on each PATH. */
    enum { MAX_JOBS = 64 };
    job jobs[MAX_JOBS];
    int n = 0;
    for (size_t p = 0; p < sizeof grid_paths / sizeof grid_paths[0]; ++p)
        jobs[n++] = (job){"paths", grid_paths[p], NULL};
    for (size_t p = 0; p < sizeof grid_softmax_paths / sizeof grid_softmax_paths[0]; ++p)
        for (size_t k = 0; k < sizeof grid_softmax_kernels / sizeof grid_softmax_kernels[0]; ++k)
            jobs[n++] = (job){"softmax", grid_softmax_paths[p], grid_softmax_kernels[k]};
    for (int i = 1; i < argc && n < MAX_JOBS; ++i)
        jobs[n++] = (job){"suite", argv[i], NULL};

    /* One process a job (the plugin reads the path when it creates an
     * attention object, from the environment), as many at once as there are
     * processors: PoCL compiles on the calling thread. The parent touches no
     * OpenCL, so the children start clean. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const int parallel = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    const double t0 = now_s();
    int next = 0, running = 0, failed = 0;
    fflush(stdout);
    while (next < n || running > 0) {
        if (next < n && running < parallel) {
            pid_t pid = fork();
            if (pid == 0) {
                int rc = child(&jobs[next]);
                fflush(stdout);
                fflush(stderr);
                _exit(rc);
            }
            if (pid < 0) {
                perror("warm_cache: fork");
                return 1;
            }
            ++next, ++running;
            continue;
        }
        int status = 0;
        if (wait(&status) < 0) {
            perror("warm_cache: wait");
            return 1;
        }
        --running;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ++failed;
    }
    printf("warm_cache: %d jobs, %d at a time, %.1f s in all, %d failed (POCL_CACHE_DIR=%s, "
           "MHA_OPENCL_CACHE_DIR=%s)\n",
           n, parallel, now_s() - t0, failed,
           getenv("POCL_CACHE_DIR") ? getenv("POCL_CACHE_DIR") : "(unset)",
           getenv("MHA_OPENCL_CACHE_DIR") ? getenv("MHA_OPENCL_CACHE_DIR") : "(unset)");
    return failed ? 1 : 0;
}
