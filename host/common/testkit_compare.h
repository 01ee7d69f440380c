/*
 * testkit_compare.h - the test kit's comparator and tolerance table.
 *
 * An element a (the backend under test) passes against b (the expectation)
 * when |a - b| <= atol + rtol * |b|; a NaN must meet a NaN, and an infinity
 * an equal infinity. Needs neither libmha nor a plugin.
 */
#ifndef MHA_TESTKIT_COMPARE_H
#define MHA_TESTKIT_COMPARE_H

#include <stddef.h>

typedef struct tk_tolerance {
    double atol, rtol;
} tk_tolerance;

/* The precision a backend accumulates in, against an expectation computed in
 * float64 (PyTorch's or the reference plugin's): the rows of the tolerance
 * table in docs/testing.md. */
typedef enum {
    TK_ACCUMULATE_F64, /* the reference plugin: only float32 rounding of inputs and outputs */
    TK_ACCUMULATE_F32, /* float32 sums in the device's order (the OpenCL plugin) */
    TK_ACCUMULATE_COUNT
} tk_accumulate;

/* F64: atol 1e-5, rtol 1e-4; F32: atol 1e-4, rtol 1e-3. */
tk_tolerance tk_tolerance_for(tk_accumulate accumulate);

/* What tk_compare found. */
typedef struct tk_diff {
    size_t bad;      /* elements out of tolerance */
    long first_bad;  /* index of the first, -1 when none */
    double max_abs;  /* largest |a - b| (INFINITY after a NaN or infinity mismatch) */
    double max_rel;  /* largest |a - b| / |b| over b != 0 (likewise) */
} tk_diff;

/* Compares n elements, adding to *diff (start from tk_diff_init: max_abs and
 * max_rel accumulate over several calls, bad counts, first_bad keeps the
 * first call's first bad index). Returns the count of bad elements of this
 * call. */
void tk_diff_init(tk_diff *diff);
size_t tk_compare(const float *a, const float *b, size_t n, tk_tolerance tol, tk_diff *diff);
/* The index of the first element out of tolerance, or -1. */
long tk_first_bad(const float *a, const float *b, size_t n, tk_tolerance tol);

#endif
