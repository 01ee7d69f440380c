/*
 * forward_grid.h - the case grids of the forward suite (test_forward_*.c),
 * shared with the cache-warming fixture (warm_cache.c), which runs them on
 * the OpenCL plugin alone so that the suite finds every kernel it launches
 * already built: PoCL builds a kernel again for each work-group size it
 * meets, so warming has to launch the suite's own shapes.
 *
 * Each grid_* function fills `c` (data included: free it with tk_case_free)
 * with case `id` of its grid; the ids are those the suite's failure messages
 * name.
 */
#ifndef MHA_TEST_FORWARD_GRID_H
#define MHA_TEST_FORWARD_GRID_H

#include <stdint.h>

#include "ocl_test.h"

/* The seeded sweep: random cases 1..GRID_SWEEP_CASES (tk_case_random). */
#ifndef OCL_SWEEP_CASES
#define OCL_SWEEP_CASES 150
#endif
#define GRID_SWEEP_CASES OCL_SWEEP_CASES
void grid_sweep(tk_case *c, uint32_t id);

/* Hand-picked cases the sweep might only hit by luck (ids 1000..1004): causal
 * both ways with L < S and L > S, then one long softmax row. */
#define GRID_EDGE_FIRST 1000u
#define GRID_EDGE_CASES 5u
void grid_edge(tk_case *c, uint32_t id);

/* Softmax kernels (MHA_OPENCL_SOFTMAX = each of grid_softmax_kernels) on the
 * paths that run one (MHA_OPENCL_ATTENTION = each of grid_softmax_paths):
 * ids 5000..5023. */
#define GRID_SOFTMAX_FIRST 5000u
#define GRID_SOFTMAX_CASES 24u
extern const char *const grid_softmax_kernels[3];
extern const char *const grid_softmax_paths[2];
void grid_softmax(tk_case *c, uint32_t id);

/* The attention products' paths (MHA_OPENCL_ATTENTION = each of grid_paths):
 * ids 7000..7032. */
#define GRID_PATH_FIRST 7000u
#define GRID_PATH_CASES 33u
extern const char *const grid_paths[4];
void grid_path(tk_case *c, uint32_t id);

/* Projections big enough for CLBlast's tiled kernel: ids 8100..8105. */
#define GRID_PADDING_FIRST 8100u
#define GRID_PADDING_CASES 6u
void grid_padding(tk_case *c, uint32_t id);

/* The path choice on a CPU device (ids 950..953): id - 950 = 2 * self +
 * weights; one query against 40 keys, or self-attention over 40. */
#define GRID_CHOICE_FIRST 950u
#define GRID_CHOICE_CASES 4u
void grid_choice(tk_case *c, uint32_t id);

#endif
