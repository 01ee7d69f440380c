/*
 * test_forward.c - the reference forward pass on small cases computed by hand
 * (identity weights, known softmax values), and agreement between the ways of
 * passing the same problem (layouts, weight forms, bias off).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "fake_host.h"
#include "ref_case.h"

#define TOL 1e-6

static void assert_near(double actual, double expected, double tol)
{
    if (!(fabs(actual - expected) <= tol))
        fail_msg("got %.9g, expected %.9g (tolerance %g)", actual, expected, tol);
}

/* E = 4, one head (scale 1/2), identity weights, no bias. Scores are
 * q.k / 2 = [1, 0], so the weights are e/(e+1) and 1/(e+1). */
static void test_one_head_known_softmax(void **state)
{
    (void)state;
    mha_config config = ref_config(4, 1);
    config.bias = false;
    float in_proj[3 * 4 * 4], out_proj[4 * 4];
    ref_identity_weights(4, in_proj, out_proj);
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = in_proj;
    weights.out_proj_weight = out_proj;

    float query[4] = {2, 0, 0, 0};
    float key[2 * 4] = {1, 0, 0, 0, 0, 0, 0, 0};
    float value[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8};
    float output[4], attn[2];
    mha_problem problem = ref_problem(&config, 1, 1, 2, false);
    mha_forward_args args = ref_args();
    args.query = ref_f32(query, 2, 1, 4, 0, 0);
    args.key = ref_f32(key, 2, 2, 4, 0, 0);
    args.value = ref_f32(value, 2, 2, 4, 0, 0);
    args.attn_output = ref_f32(output, 2, 1, 4, 0, 0);
    args.attn_weights = ref_f32(attn, 2, 1, 2, 0, 0);
    args.need_weights = true;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);

    const double e = exp(1.0), w0 = e / (e + 1.0), w1 = 1.0 / (e + 1.0);
    assert_near(attn[0], w0, TOL);
    assert_near(attn[1], w1, TOL);
    for (int c = 0; c < 4; ++c)
        assert_near(output[c], w0 * value[c] + w1 * value[4 + c], TOL);
}

/* E = 2, two heads of D = 1 (scale 1), identity weights, v bias [1, 1] and
 * out bias [0.5, -0.5].
 *   head 0: q = 1, k = [0, 1]  -> scores [0, 1]
 *   head 1: q = 2, k = [0, -1] -> scores [0, -2]                          */
static void test_two_heads_known(void **state)
{
    (void)state;
    mha_config config = ref_config(2, 2);
    float in_proj[3 * 2 * 2], out_proj[2 * 2];
    ref_identity_weights(2, in_proj, out_proj);
    float in_bias[6] = {0, 0, 0, 0, 1, 1};
    float out_bias[2] = {0.5f, -0.5f};
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = in_proj;
    weights.in_proj_bias = in_bias;
    weights.out_proj_weight = out_proj;
    weights.out_proj_bias = out_bias;

    float query[2] = {1, 2};
    float key[4] = {0, 0, 1, -1};
    float value[4] = {10, 20, 30, 40};
    float output[2], per_head[2 * 2], averaged[2];
    mha_problem problem = ref_problem(&config, 1, 1, 2, false);
    mha_forward_args args = ref_args();
    args.query = ref_f32(query, 2, 1, 2, 0, 0);
    args.key = ref_f32(key, 2, 2, 2, 0, 0);
    args.value = ref_f32(value, 2, 2, 2, 0, 0);
    args.attn_output = ref_f32(output, 2, 1, 2, 0, 0);
    args.attn_weights = ref_f32(per_head, 3, 2, 1, 2, 0);
    args.need_weights = true;
    args.average_attn_weights = false;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);

    const double e = exp(1.0), e2 = exp(-2.0);
    const double h0[2] = {1.0 / (1.0 + e), e / (1.0 + e)};
    const double h1[2] = {1.0 / (1.0 + e2), e2 / (1.0 + e2)};
    assert_near(per_head[0], h0[0], TOL);
    assert_near(per_head[1], h0[1], TOL);
    assert_near(per_head[2], h1[0], TOL);
    assert_near(per_head[3], h1[1], TOL);
    assert_near(output[0], h0[0] * 11 + h0[1] * 31 + 0.5, 1e-5);
    assert_near(output[1], h1[0] * 21 + h1[1] * 41 - 0.5, 1e-5);

    args.attn_weights = ref_f32(averaged, 2, 1, 2, 0, 0);
    args.average_attn_weights = true;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);
    assert_near(averaged[0], (h0[0] + h1[0]) / 2, TOL);
    assert_near(averaged[1], (h0[1] + h1[1]) / 2, TOL);
}

/* Separate weights with kdim = 3, vdim = 1: k takes columns 0 and 2 of the
 * key rows (the 5 and 7 must not leak in), v = [1, 2] * value. */
static void test_separate_kv_dims(void **state)
{
    (void)state;
    mha_config config = ref_config(2, 1);
    config.kdim = 3;
    config.vdim = 1;
    config.bias = false;
    float wq[4] = {1, 0, 0, 1};
    float wk[6] = {1, 0, 0, 0, 0, 1};
    float wv[2] = {1, 2};
    float wo[4] = {1, 0, 0, 1};
    mha_weights weights = {.struct_size = sizeof weights};
    weights.q_proj_weight = wq;
    weights.k_proj_weight = wk;
    weights.v_proj_weight = wv;
    weights.out_proj_weight = wo;

    float query[2] = {1, 3};
    float key[6] = {1, 5, 0, 0, 7, 1};
    float value[2] = {1, 3};
    float output[2], attn[2];
    mha_problem problem = ref_problem(&config, 1, 1, 2, false);
    mha_forward_args args = ref_args();
    args.query = ref_f32(query, 2, 1, 2, 0, 0);
    args.key = ref_f32(key, 2, 2, 3, 0, 0);
    args.value = ref_f32(value, 2, 2, 1, 0, 0);
    args.attn_output = ref_f32(output, 2, 1, 2, 0, 0);
    args.attn_weights = ref_f32(attn, 2, 1, 2, 0, 0);
    args.need_weights = true;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);

    const double s = 1.0 / sqrt(2.0);
    const double w0 = 1.0 / (1.0 + exp(2.0 * s)), w1 = 1.0 - w0; /* scores [s, 3s] */
    assert_near(attn[0], w0, TOL);
    assert_near(attn[1], w1, TOL);
    assert_near(output[0], w0 * 1 + w1 * 3, TOL);
    assert_near(output[1], w0 * 2 + w1 * 6, TOL);
}

/* A non-identity projection with biases: Wq = 2I, bq = [1, 0]. */
static void test_projection_and_bias(void **state)
{
    (void)state;
    mha_config config = ref_config(2, 1);
    float in_proj[12] = {2, 0, 0, 2, /* q */ 1, 0, 0, 1, /* k */ 1, 0, 0, 1 /* v */};
    float in_bias[6] = {1, 0, 0, 0, 0, 0};
    float out_proj[4] = {0, 1, 1, 0}; /* swaps the two features */
    float out_bias[2] = {100, 200};
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = in_proj;
    weights.in_proj_bias = in_bias;
    weights.out_proj_weight = out_proj;
    weights.out_proj_bias = out_bias;

    float query[2] = {0.5f, 1};       /* q = [2, 2] */
    float key[4] = {1, 0, 0, 0};      /* scores [2, 0] / sqrt(2) */
    float value[4] = {1, 2, 3, 4};
    float output[2];
    mha_problem problem = ref_problem(&config, 1, 1, 2, false);
    mha_forward_args args = ref_args();
    args.query = ref_f32(query, 2, 1, 2, 0, 0);
    args.key = ref_f32(key, 2, 2, 2, 0, 0);
    args.value = ref_f32(value, 2, 2, 2, 0, 0);
    args.attn_output = ref_f32(output, 2, 1, 2, 0, 0);
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);

    const double w0 = 1.0 / (1.0 + exp(-2.0 / sqrt(2.0))), w1 = 1.0 - w0;
    assert_near(output[0], 100 + w0 * 2 + w1 * 4, 1e-5);
    assert_near(output[1], 200 + w0 * 1 + w1 * 3, 1e-5);
}

enum { N = 2, L = 3, S = 4, E = 4, H = 2 };

/* Random weights for E = 4, H = 2 shared by the agreement tests. */
typedef struct fixture {
    float in_proj[3 * E * E], in_bias[3 * E], out_proj[E * E], out_bias[E];
    float query[L * N * E], key[S * N * E], value[S * N * E];
} fixture;

static void fixture_fill(fixture *f)
{
    tk_fill_seed(f->in_proj, 3 * E * E, 1);
    tk_fill_seed(f->in_bias, 3 * E, 2);
    tk_fill_seed(f->out_proj, E * E, 3);
    tk_fill_seed(f->out_bias, E, 4);
    tk_fill_seed(f->query, L * N * E, 5);
    tk_fill_seed(f->key, S * N * E, 6);
    tk_fill_seed(f->value, S * N * E, 7);
}

static mha_weights fixture_weights(fixture *f)
{
    mha_weights w = {.struct_size = sizeof w};
    w.in_proj_weight = f->in_proj;
    w.in_proj_bias = f->in_bias;
    w.out_proj_weight = f->out_proj;
    w.out_proj_bias = f->out_bias;
    return w;
}

/* (T, N, C) -> (N, T, C) */
static void to_batch_first(const float *src, float *dst, int T, int C)
{
    for (int t = 0; t < T; ++t)
        for (int n = 0; n < N; ++n)
            memcpy(dst + (n * T + t) * C, src + (t * N + n) * C, (size_t)C * sizeof(float));
}

/* The same data as (L, N, E), (N, L, E) and per batch entry unbatched gives
 * the same numbers (bit for bit: the arithmetic is the same). */
static void test_layouts_agree(void **state)
{
    (void)state;
    fixture f;
    fixture_fill(&f);
    mha_weights weights = fixture_weights(&f);

    mha_config config = ref_config(E, H);
    mha_problem problem = ref_problem(&config, N, L, S, true);
    float out_seq[L * N * E], w_seq[N * H * L * S];
    mha_forward_args args = ref_args();
    args.query = ref_f32(f.query, 3, L, N, E, 0);
    args.key = ref_f32(f.key, 3, S, N, E, 0);
    args.value = ref_f32(f.value, 3, S, N, E, 0);
    args.attn_output = ref_f32(out_seq, 3, L, N, E, 0);
    args.attn_weights = ref_f32(w_seq, 4, N, H, L, S);
    args.need_weights = true;
    args.average_attn_weights = false;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);

    /* batch_first */
    mha_config config_bf = config;
    config_bf.batch_first = true;
    mha_problem problem_bf = ref_problem(&config_bf, N, L, S, true);
    float q_bf[L * N * E], k_bf[S * N * E], v_bf[S * N * E], out_bf[L * N * E],
        w_bf[N * H * L * S];
    to_batch_first(f.query, q_bf, L, E);
    to_batch_first(f.key, k_bf, S, E);
    to_batch_first(f.value, v_bf, S, E);
    mha_forward_args args_bf = args;
    args_bf.query = ref_f32(q_bf, 3, N, L, E, 0);
    args_bf.key = ref_f32(k_bf, 3, N, S, E, 0);
    args_bf.value = ref_f32(v_bf, 3, N, S, E, 0);
    args_bf.attn_output = ref_f32(out_bf, 3, N, L, E, 0);
    args_bf.attn_weights = ref_f32(w_bf, 4, N, H, L, S);
    assert_int_equal(ref_run(&config_bf, &weights, &problem_bf, &args_bf), MHA_STATUS_OK);
    float out_bf_seq[L * N * E];
    for (int l = 0; l < L; ++l)
        for (int n = 0; n < N; ++n)
            memcpy(out_bf_seq + (l * N + n) * E, out_bf + (n * L + l) * E, E * sizeof(float));
    assert_memory_equal(out_bf_seq, out_seq, sizeof out_seq);
    assert_memory_equal(w_bf, w_seq, sizeof w_seq);

    /* unbatched, one batch entry at a time */
    for (int n = 0; n < N; ++n) {
        mha_problem problem_1 = ref_problem(&config, 1, L, S, false);
        float out_1[L * E], w_1[H * L * S];
        mha_forward_args args_1 = args;
        args_1.query = ref_f32(q_bf + n * L * E, 2, L, E, 0, 0);
        args_1.key = ref_f32(k_bf + n * S * E, 2, S, E, 0, 0);
        args_1.value = ref_f32(v_bf + n * S * E, 2, S, E, 0, 0);
        args_1.attn_output = ref_f32(out_1, 2, L, E, 0, 0);
        args_1.attn_weights = ref_f32(w_1, 3, H, L, S, 0);
        assert_int_equal(ref_run(&config, &weights, &problem_1, &args_1), MHA_STATUS_OK);
        assert_memory_equal(out_1, out_bf + n * L * E, sizeof out_1);
        assert_memory_equal(w_1, w_seq + n * H * L * S, sizeof w_1);
    }
}

/* in_proj_weight versus the same blocks as q/k/v_proj_weight; bias off versus
 * zero biases; averaged weights versus the mean of the per-head ones. */
static void test_weight_forms_agree(void **state)
{
    (void)state;
    fixture f;
    fixture_fill(&f);
    mha_weights weights = fixture_weights(&f);
    mha_config config = ref_config(E, H);
    mha_problem problem = ref_problem(&config, N, L, S, true);

    float out_a[L * N * E], out_b[L * N * E], w_a[N * H * L * S], w_avg[N * L * S];
    mha_forward_args args = ref_args();
    args.query = ref_f32(f.query, 3, L, N, E, 0);
    args.key = ref_f32(f.key, 3, S, N, E, 0);
    args.value = ref_f32(f.value, 3, S, N, E, 0);
    args.attn_output = ref_f32(out_a, 3, L, N, E, 0);
    args.attn_weights = ref_f32(w_a, 4, N, H, L, S);
    args.need_weights = true;
    args.average_attn_weights = false;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);

    mha_weights separate = weights;
    separate.in_proj_weight = NULL;
    separate.q_proj_weight = f.in_proj;
    separate.k_proj_weight = f.in_proj + E * E;
    separate.v_proj_weight = f.in_proj + 2 * E * E;
    args.attn_output = ref_f32(out_b, 3, L, N, E, 0);
    args.need_weights = false;
    assert_int_equal(ref_run(&config, &separate, &problem, &args), MHA_STATUS_OK);
    assert_memory_equal(out_a, out_b, sizeof out_a);

    args.need_weights = true;
    args.average_attn_weights = true;
    args.attn_weights = ref_f32(w_avg, 3, N, L, S, 0);
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);
    for (int n = 0; n < N; ++n)
        for (int i = 0; i < L * S; ++i) {
            double mean = ((double)w_a[(n * H + 0) * L * S + i] + w_a[(n * H + 1) * L * S + i]) / 2;
            assert_near(w_avg[n * L * S + i], mean, 1e-7);
        }

    /* bias = false must equal zero biases */
    float zeros[3 * E] = {0};
    mha_weights zero_bias = weights;
    zero_bias.in_proj_bias = zeros;
    zero_bias.out_proj_bias = zeros;
    args.need_weights = false;
    args.attn_output = ref_f32(out_a, 3, L, N, E, 0);
    assert_int_equal(ref_run(&config, &zero_bias, &problem, &args), MHA_STATUS_OK);
    mha_config no_bias = config;
    no_bias.bias = false;
    mha_weights no_bias_w = weights;
    no_bias_w.in_proj_bias = NULL;
    no_bias_w.out_proj_bias = NULL;
    args.attn_output = ref_f32(out_b, 3, L, N, E, 0);
    assert_int_equal(ref_run(&no_bias, &no_bias_w, &problem, &args), MHA_STATUS_OK);
    assert_memory_equal(out_a, out_b, sizeof out_a);
}

/* Without masks every weight is positive and each row sums to 1. */
static void test_rows_sum_to_one(void **state)
{
    (void)state;
    fixture f;
    fixture_fill(&f);
    mha_weights weights = fixture_weights(&f);
    mha_config config = ref_config(E, H);
    mha_problem problem = ref_problem(&config, N, L, S, true);
    float out[L * N * E], w[N * H * L * S];
    mha_forward_args args = ref_args();
    args.query = ref_f32(f.query, 3, L, N, E, 0);
    args.key = ref_f32(f.key, 3, S, N, E, 0);
    args.value = ref_f32(f.value, 3, S, N, E, 0);
    args.attn_output = ref_f32(out, 3, L, N, E, 0);
    args.attn_weights = ref_f32(w, 4, N, H, L, S);
    args.need_weights = true;
    args.average_attn_weights = false;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);
    for (int r = 0; r < N * H * L; ++r) {
        double sum = 0;
        for (int j = 0; j < S; ++j) {
            assert_true(w[r * S + j] > 0.0f);
            sum += w[r * S + j];
        }
        assert_near(sum, 1.0, 1e-6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_head_known_softmax, fake_host_setup, fake_host_check_no_leak),
        cmocka_unit_test_setup_teardown(test_two_heads_known, fake_host_setup, fake_host_check_no_leak),
        cmocka_unit_test_setup_teardown(test_separate_kv_dims, fake_host_setup, fake_host_check_no_leak),
        cmocka_unit_test_setup_teardown(test_projection_and_bias, fake_host_setup, fake_host_check_no_leak),
        cmocka_unit_test_setup_teardown(test_layouts_agree, fake_host_setup, fake_host_check_no_leak),
        cmocka_unit_test_setup_teardown(test_weight_forms_agree, fake_host_setup, fake_host_check_no_leak),
        cmocka_unit_test_setup_teardown(test_rows_sum_to_one, fake_host_setup, fake_host_check_no_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
