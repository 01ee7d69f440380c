/*
 * test_forward_grid.c - the OpenCL plugin against the reference plugin over
 * the case grids of forward_grid.h: the seeded sweep, hand-picked edges, the
 * softmax kernels, the paths of the attention products and the projections'
 * padding.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "mha/mha.h"
#include "forward_fixture.h"
#include "forward_grid.h"

void test_sweep(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t id = 1; id <= GRID_SWEEP_CASES; ++id) {
        tk_case c;
        grid_sweep(&c, id);
        check_case(f, &c, id);
        tk_case_free(&c);
    }
}

/* A few hand-picked cases that the sweep might only hit by luck. */
void test_edges(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t id = GRID_EDGE_FIRST; id < GRID_EDGE_FIRST + GRID_EDGE_CASES; ++id) {
        tk_case c;
        grid_edge(&c, id);
        check_case(f, &c, id);
        tk_case_free(&c);
    }
}

/* The three softmax kernels (MHA_OPENCL_SOFTMAX: the 256-rows work-item kernel
 * CPUs get, and the one-row work-item and work-group ones GPUs get) on planes
 * and rows long enough for the vector loops and their remainders: every mask
 * kind, causal both ways, bias_kv / zero_attn columns, dropout; on both paths
 * that run one (the absorbed path consumes a deferred 1/sum, or not, too). */
void test_softmax_kernels(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    char *saved_path = env_set("MHA_OPENCL_ATTENTION", grid_softmax_paths[0]);
    char *saved = env_set("MHA_OPENCL_SOFTMAX", grid_softmax_kernels[0]);
    for (int k = 0; k < 6; ++k) {
        setenv("MHA_OPENCL_ATTENTION", grid_softmax_paths[k / 3], 1);
        setenv("MHA_OPENCL_SOFTMAX", grid_softmax_kernels[k % 3], 1);
        for (uint32_t id = GRID_SOFTMAX_FIRST; id < GRID_SOFTMAX_FIRST + GRID_SOFTMAX_CASES;
             ++id) {
            tk_case c;
            grid_softmax(&c, id);
            check_case(f, &c, id);
            tk_case_free(&c);
        }
    }
    env_restore("MHA_OPENCL_SOFTMAX", saved);
    env_restore("MHA_OPENCL_ATTENTION", saved_path);
}

/* The four paths of the attention products (MHA_OPENCL_ATTENTION): the fused
 * kernels CPUs get, CLBlast's GEMMs around a softmax kernel, the flash
 * kernels GPUs get (where no weights are asked for; else the GEMMs), and the
 * absorbed key/value projections (where there are no bias_kv / zero_attn
 * rows; else the GEMMs), whose rows of H*L queries span several of its 8-row passes
 * here, with key and value widths of 1 to 9 (partial float8s). Query counts
 * cut by the fused kernels' 24-query work-items, key counts that are not
 * multiples of their 4-key steps, head_dim up to their limit of 128 (and
 * 129, where they fall back to the GEMMs); weights averaged, per head or
 * none, every mask kind, causal both ways, bias_kv / zero_attn keys, dropout. */
void test_attention_paths(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    char *saved = env_set("MHA_OPENCL_ATTENTION", grid_paths[0]);
    for (size_t p = 0; p < sizeof grid_paths / sizeof grid_paths[0]; ++p) {
        setenv("MHA_OPENCL_ATTENTION", grid_paths[p], 1);
        for (uint32_t id = GRID_PATH_FIRST; id < GRID_PATH_FIRST + GRID_PATH_CASES; ++id) {
            tk_case c;
            grid_path(&c, id);
            check_case(f, &c, id);
            tk_case_free(&c);
        }
    }
    env_restore("MHA_OPENCL_ATTENTION", saved);
}

/* Projections big enough for CLBlast's tiled kernel, with rows (N*L, N*S)
 * that are multiples of none of its usual tiles: the plugin pads the
 * transposed inputs (layout.c, ocl_padded_rows) and each GEMM must read them
 * with that padding. Self-attention (one input for three projections), key ==
 * value, and separate key and value of other widths, both batch layouts. */
void test_projection_padding(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t id = GRID_PADDING_FIRST; id < GRID_PADDING_FIRST + GRID_PADDING_CASES; ++id) {
        tk_case c;
        grid_padding(&c, id);
        check_case(f, &c, id);
        tk_case_free(&c);
    }
}
