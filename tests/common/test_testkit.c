/*
 * test_testkit.c - the test kit (host/common/testkit_*.h) itself: the
 * comparator's rules (absolute + relative bound, NaN meets NaN, infinities
 * equal, first index, largest differences, accumulation over calls), the
 * tolerance table, the generator's determinism, and generated cases (their
 * element counts, kpm_tail). No plugin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "testkit_case.h"
#include "testkit_compare.h"
#include "testkit_random.h"

static void test_bound(void **state)
{
    (void)state;
    const tk_tolerance tol = {1e-4, 1e-3};
    /* |a - b| <= 1e-4 + 1e-3 * |b|: at b = 10 the bound is 1.01e-2 */
    const float b[] = {0.0f, 10.0f, 10.0f, -10.0f, 0.0f};
    const float a[] = {5e-5f, 10.009f, 10.012f, -10.009f, -2e-4f};
    tk_diff d;
    tk_diff_init(&d);
    assert_int_equal(tk_compare(a, b, 5, tol, &d), 2);
    assert_int_equal(d.bad, 2);
    assert_int_equal(d.first_bad, 2);
    assert_true(fabs(d.max_abs - 0.012) < 1e-5);
    assert_true(fabs(d.max_rel - 0.0012) < 1e-6);
    assert_int_equal(tk_first_bad(a, b, 2, tol), -1);
    assert_int_equal(tk_first_bad(a, b, 5, tol), 2);
    /* a zero tolerance takes equal values only */
    assert_int_equal(tk_first_bad(b, b, 5, (tk_tolerance){0.0, 0.0}), -1);
    assert_int_equal(tk_first_bad(a, b, 5, (tk_tolerance){0.0, 0.0}), 0);
}

static void test_nan_inf(void **state)
{
    (void)state;
    const tk_tolerance tol = {1.0, 1.0}; /* generous: only the rules decide */
    const float b[] = {NAN, 1.0f, INFINITY, -INFINITY, INFINITY, 2.0f};
    const float a[] = {NAN, NAN, INFINITY, -INFINITY, -INFINITY, INFINITY};
    tk_diff d;
    tk_diff_init(&d);
    /* NaN meets NaN; NaN against 1; inf == inf; -inf == -inf; -inf != inf; inf != 2 */
    assert_int_equal(tk_compare(a, b, 6, tol, &d), 3);
    assert_int_equal(d.first_bad, 1);
    assert_true(isinf(d.max_abs) && isinf(d.max_rel));
    const float x = 1.0f, y = NAN;
    assert_int_equal(tk_first_bad(&x, &y, 1, tol), 0); /* a number against NaN */
}

/* Two calls add their counts, keep the first call's index and the maxima. */
static void test_accumulate(void **state)
{
    (void)state;
    const tk_tolerance tol = {0.0, 0.0};
    const float a1[] = {1.0f, 2.0f}, b1[] = {1.0f, 2.5f};
    const float a2[] = {0.0f, 3.0f, 7.0f}, b2[] = {1.0f, 3.0f, 7.0f};
    tk_diff d;
    tk_diff_init(&d);
    assert_int_equal(tk_compare(a1, b1, 2, tol, &d), 1);
    assert_int_equal(tk_compare(a2, b2, 3, tol, &d), 1);
    assert_int_equal(d.bad, 2);
    assert_int_equal(d.first_bad, 1);
    assert_true(d.max_abs == 1.0);
    assert_true(d.max_rel == 1.0);
}

static void test_tolerance_table(void **state)
{
    (void)state;
    tk_tolerance t = tk_tolerance_for(TK_ACCUMULATE_F64);
    assert_true(t.atol == 1e-5 && t.rtol == 1e-4);
    t = tk_tolerance_for(TK_ACCUMULATE_F32);
    assert_true(t.atol == 1e-4 && t.rtol == 1e-3);
}

static void test_generator(void **state)
{
    (void)state;
    float x[64], y[64];
    tk_fill_seed(x, 64, 7);
    tk_fill_seed(y, 64, 7);
    assert_memory_equal(x, y, sizeof x);
    float lo = 1.0f, hi = -1.0f;
    for (int i = 0; i < 64; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    assert_true(lo >= -1.0f && hi < 1.0f && hi - lo > 1.0f);
    tk_fill_seed(y, 64, 8);
    assert_true(memcmp(x, y, sizeof x) != 0);
    tk_rng r = tk_rng_make(3, 1), s = tk_rng_make(3, 2);
    assert_true(tk_next(&r) != tk_next(&s)); /* streams of one seed differ */
    for (int i = 0; i < 1000; ++i) {
        const int v = tk_range(&r, -2, 3);
        assert_true(v >= -2 && v <= 3);
    }
}

/* Cases from one seed are equal; their element counts are those of PyTorch's
 * output shapes. */
static void test_case(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 50; ++seed) {
        tk_case a, b;
        tk_case_random(&a, seed);
        tk_case_random(&b, seed);
        assert_int_equal(a.out_count, b.out_count);
        assert_memory_equal(a.query, b.query, (size_t)(a.L * a.N * a.E) * sizeof(float));
        const int64_t Sp = a.S + a.add_bias_kv + a.add_zero_attn;
        assert_int_equal(a.out_count, (size_t)(a.L * a.N * a.E));
        assert_int_equal(a.weights_count,
                         a.need_weights ? (size_t)(a.N * (a.average ? 1 : a.H) * a.L * Sp) : 0);
        assert_true(a.E % a.H == 0);
        assert_true(a.self_attention ? a.S == a.L && !a.key : a.key != NULL);
        assert_true((a.w_in != NULL) != (a.w_q != NULL));
        tk_case_free(&a);
        tk_case_free(&b);
    }
    /* kpm_tail: the last keys of every batch but the first */
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = c.kdim = c.vdim = 4, c.H = 1, c.N = 3, c.batched = true, c.L = 2, c.S = 5;
    c.in_proj = TK_IN_PROJ_PACKED, c.kpm_tail = 2;
    assert_true(tk_case_fill(&c, 1));
    assert_non_null(c.w_in);
    const uint8_t *m = c.kpm_data;
    for (int b = 0; b < 3; ++b)
        for (int j = 0; j < 5; ++j)
            assert_int_equal(m[b * 5 + j], b > 0 && j >= 3);
    tk_case_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound),          cmocka_unit_test(test_nan_inf),
        cmocka_unit_test(test_accumulate),     cmocka_unit_test(test_tolerance_table),
        cmocka_unit_test(test_generator),      cmocka_unit_test(test_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
