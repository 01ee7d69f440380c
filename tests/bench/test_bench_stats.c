/*
 * test_bench_stats.c - the arithmetic of `mha bench` (host/common/bench_stats.h):
 * FLOP counts on shapes worked out by hand, GFLOP/s, median/min/max.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "bench_stats.h"

/* N=1 L=1 S=1 E=1: q 2 + k 2 + v 2 + products 4 + out 2 = 12. */
static void test_flops_unit_shape(void **state)
{
    (void)state;
    assert_true(bench_flops(1, 1, 1, 1, 0, 0) == 12.0);
    assert_true(bench_flops(1, 1, 1, 1, 1, 1) == 12.0);
}

/* The tiny case of the CLI test: N=1 L=3 S=5 E=8.
 * q 2*1*3*8*8 = 384, k 2*1*5*8*8 = 640, v 640, products 4*1*3*5*8 = 480,
 * out 384: 2528. */
static void test_flops_tiny_cross(void **state)
{
    (void)state;
    assert_true(bench_flops(1, 3, 5, 8, 0, 0) == 2528.0);
    assert_true(bench_flops(1, 3, 5, 8, 8, 8) == 2528.0);
}

/* The first case of the standard suite: N=4 L=S=128 E=512.
 * projections q,k,v and out: 4 * 2*4*128*512*512 = 1073741824,
 * products 4*4*128*128*512 = 134217728: 1207959552. */
static void test_flops_suite_first(void **state)
{
    (void)state;
    assert_true(bench_flops(4, 128, 128, 512, 0, 0) == 1207959552.0);
}

/* Decoding-like cross attention N=8 L=1 S=2048 E=512:
 * q 2*8*1*512*512 = 4194304, k = v = 2*8*2048*512*512 = 8589934592 each,
 * products 4*8*1*2048*512 = 33554432, out 4194304: 17221812224. */
static void test_flops_decoding(void **state)
{
    (void)state;
    assert_true(bench_flops(8, 1, 2048, 512, 0, 0) == 17221812224.0);
}

/* kdim and vdim enter only the k and v projections: N=2 L=3 S=4 E=6 kdim=5
 * vdim=7: q 2*2*3*36 = 432, k 2*2*4*5*6 = 480, v 2*2*4*7*6 = 672,
 * products 4*2*3*4*6 = 576, out 432: 2592. A batch of 0 (unbatched) counts 1. */
static void test_flops_kdim_vdim(void **state)
{
    (void)state;
    assert_true(bench_flops(2, 3, 4, 6, 5, 7) == 2592.0);
    assert_true(bench_flops(0, 3, 4, 6, 5, 7) == bench_flops(1, 3, 4, 6, 5, 7));
    assert_true(bench_flops(1, 3, 4, 6, 5, 7) * 2.0 == 2592.0);
}

static void test_gflops(void **state)
{
    (void)state;
    /* 2e9 FLOP in 1000 ms = 2 GFLOP/s; 1e6 FLOP in 1 ms = 1 GFLOP/s */
    assert_float_equal(bench_gflops(2e9, 1000.0), 2.0, 1e-12);
    assert_float_equal(bench_gflops(1e6, 1.0), 1.0, 1e-12);
    assert_true(bench_gflops(1e6, 0.0) == 0.0);
    assert_true(bench_gflops(1e6, -1.0) == 0.0);
    assert_true(bench_gflops(1e6, NAN) == 0.0);
}

static void test_summarize_odd(void **state)
{
    (void)state;
    const double v[] = {5.0, 1.0, 4.0, 2.0, 3.0};
    double med = 0, lo = 0, hi = 0;
    assert_int_equal(bench_summarize(v, 5, &med, &lo, &hi), 0);
    assert_true(med == 3.0 && lo == 1.0 && hi == 5.0);
    /* the input is left as it was */
    assert_true(v[0] == 5.0 && v[1] == 1.0 && v[4] == 3.0);
}

static void test_summarize_even(void **state)
{
    (void)state;
    const double v[] = {10.0, 2.0, 8.0, 4.0};
    double med = 0, lo = 0, hi = 0;
    assert_int_equal(bench_summarize(v, 4, &med, &lo, &hi), 0);
    assert_true(med == 6.0 && lo == 2.0 && hi == 10.0);
    const double two[] = {1.5, 0.5};
    assert_int_equal(bench_summarize(two, 2, &med, &lo, &hi), 0);
    assert_true(med == 1.0 && lo == 0.5 && hi == 1.5);
}

static void test_summarize_one_and_ties(void **state)
{
    (void)state;
    const double one[] = {7.25};
    double med = 0, lo = 0, hi = 0;
    assert_int_equal(bench_summarize(one, 1, &med, &lo, &hi), 0);
    assert_true(med == 7.25 && lo == 7.25 && hi == 7.25);
    const double ties[] = {3.0, 1.0, 3.0, 3.0, 100.0, 1.0};
    assert_int_equal(bench_summarize(ties, 6, &med, &lo, &hi), 0);
    assert_true(med == 3.0 && lo == 1.0 && hi == 100.0);
}

static void test_summarize_empty(void **state)
{
    (void)state;
    double med = -1, lo = -1, hi = -1;
    const double v[] = {1.0};
    assert_int_equal(bench_summarize(v, 0, &med, &lo, &hi), -1);
    assert_int_equal(bench_summarize(NULL, 3, &med, &lo, &hi), -1);
    assert_true(med == -1 && lo == -1 && hi == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flops_unit_shape),
        cmocka_unit_test(test_flops_tiny_cross),
        cmocka_unit_test(test_flops_suite_first),
        cmocka_unit_test(test_flops_decoding),
        cmocka_unit_test(test_flops_kdim_vdim),
        cmocka_unit_test(test_gflops),
        cmocka_unit_test(test_summarize_odd),
        cmocka_unit_test(test_summarize_even),
        cmocka_unit_test(test_summarize_one_and_ties),
        cmocka_unit_test(test_summarize_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
