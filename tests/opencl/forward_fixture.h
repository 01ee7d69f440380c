/*
 * forward_fixture.h - what the files of the forward suite share
 * (test_forward_*.c, one binary: test_opencl_forward, main in
 * test_forward.c). One "opencl" and one "reference" backend are opened for
 * the whole binary (group fixture): CLBlast compiles its kernels on first
 * use, which takes seconds under PoCL.
 *
 * Tolerance (OCL_TOL, the test kit's float32 row):
 * |opencl - reference| <= 1e-4 + 1e-3 * |reference|. The OpenCL
 * plugin accumulates in float32 in CLBlast's and the work-group reductions'
 * order, the reference in double; with inputs in [-1, 1], weights scaled by
 * 1/sqrt(fan_in) and sums of at most a few dozen terms, float32 rounding stays
 * orders of magnitude under these bounds, while any indexing or masking
 * mistake is far above them.
 */
#ifndef MHA_TEST_FORWARD_FIXTURE_H
#define MHA_TEST_FORWARD_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "mha/mha.h"
#include "ocl_test.h"

typedef struct fixture {
    mha_backend *ocl; /* NULL: no OpenCL device (tests skip) */
    mha_backend *ref;
} fixture;

int forward_group_setup(void **state);
int forward_group_teardown(void **state);

/* Runs one case on both backends and compares outputs and weights; fails
 * the test with the case's description and `id`. */
void check_case(fixture *f, tk_case *c, uint32_t id);

/* Sets (value NULL: unsets) an environment variable the plugin reads when it
 * creates an attention object; returns its old value (NULL: unset) for
 * env_restore. */
char *env_set(const char *name, const char *value);
void env_restore(const char *name, char *saved);

/* Whether the last forward's statistics hold stage `name` with that is_gemm. */
bool has_stage(const mha_attention_stats *st, const char *name, bool gemm);

/* The tests, by concern. */
/* test_forward_devices.c: device listing, specs, MHA_OPENCL_DEVICE, out of memory */
void test_devices(void **state);
void test_bad_device_spec(void **state);
void test_device_env(void **state);
void test_device_out_of_memory(void **state);
/* test_forward_programs.c: the program cache and build errors */
void test_program_cache(void **state);
void test_program_cache_private(void **state);
void test_build_failure(void **state);
/* test_forward_grid.c: against the reference over the case grids */
void test_edges(void **state);
void test_sweep(void **state);
void test_softmax_kernels(void **state);
void test_attention_paths(void **state);
void test_projection_padding(void **state);
/* test_forward_masks.c: NaN rules and dropout */
void test_nan_only_unmasked(void **state);
void test_dropout_mask(void **state);
/* test_forward_paths.c: stages and statistics of each path, the path choice */
void test_stats(void **state);
void test_absorbed_choice(void **state);
/* test_forward_reuse.c: steady-state allocations, threads */
void test_steady_state_allocations(void **state);
void test_threads(void **state);

#endif
