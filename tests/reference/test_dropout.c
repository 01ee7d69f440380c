/*
 * test_dropout.c - dropout on the attention weights: which elements are
 * dropped (the Philox stream at idx = ((n*H + h)*L + l)*S' + j), the kept
 * fraction, the 1/(1-p) scaling, that the output uses the dropped weights,
 * and that nothing is dropped unless problem->apply_dropout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "mha/philox.h"
#include "ref_case.h"

enum { N = 2, E = 8, H = 4, L = 40, S = 47, SP = S + 1 }; /* add_zero_attn: S' = 48 */
#define COUNT ((size_t)N * H * L * SP)

typedef struct data {
    float in_proj[3 * E * E], in_bias[3 * E], out_proj[E * E], out_bias[E];
    float query[L * N * E], key[S * N * E], value[S * N * E];
    float out_eval[L * N * E], out_train[L * N * E];
    float w_eval[COUNT], w_train[COUNT];
} data;

static int setup(void **state)
{
    data *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -1;
    tk_fill_seed(d->in_proj, 3 * E * E, 31);
    tk_fill_seed(d->in_bias, 3 * E, 32);
    tk_fill_seed(d->out_proj, E * E, 33);
    tk_fill_seed(d->out_bias, E, 34);
    tk_fill_seed(d->query, L * N * E, 35);
    tk_fill_seed(d->key, S * N * E, 36);
    tk_fill_seed(d->value, S * N * E, 37);
    fake_host_reset();
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    assert_int_equal(fake_host_live(), 0);
    return 0;
}

/* One forward with per-head weights; dropout p applied iff `apply`. */
static void run(data *d, float p, bool apply, uint64_t seed, float *output, float *weights_out)
{
    mha_config config = ref_config(E, H);
    config.add_zero_attn = true;
    config.dropout = p;
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = d->in_proj;
    weights.in_proj_bias = d->in_bias;
    weights.out_proj_weight = d->out_proj;
    weights.out_proj_bias = d->out_bias;
    mha_problem problem = ref_problem(&config, N, L, S, true);
    problem.apply_dropout = apply;
    mha_forward_args args = ref_args();
    args.query = ref_f32(d->query, 3, L, N, E, 0);
    args.key = ref_f32(d->key, 3, S, N, E, 0);
    args.value = ref_f32(d->value, 3, S, N, E, 0);
    args.attn_output = ref_f32(output, 3, L, N, E, 0);
    args.attn_weights = ref_f32(weights_out, 4, N, H, L, SP);
    args.need_weights = true;
    args.average_attn_weights = false;
    args.training = true;
    args.dropout_seed = seed;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);
}

/* Each element is zero exactly where the stream says drop, and w / (1 - p)
 * elsewhere; about 1 - p of them are kept. */
static void test_kept_fraction_and_scale(void **state)
{
    data *d = *state;
    const float probabilities[3] = {0.1f, 0.3f, 0.75f};
    const uint64_t seed = 0x0123456789abcdefull;
    run(d, 0.0f, false, seed, d->out_eval, d->w_eval);
    for (int t = 0; t < 3; ++t) {
        const float p = probabilities[t];
        run(d, p, true, seed, d->out_train, d->w_train);
        size_t kept = 0;
        for (int n = 0; n < N; ++n)
            for (int h = 0; h < H; ++h)
                for (int l = 0; l < L; ++l)
                    for (int j = 0; j < SP; ++j) {
                        size_t i = (((size_t)n * H + h) * L + l) * SP + j;
                        uint64_t idx = ((uint64_t)(n * H + h) * L + l) * SP + j;
                        int keep = mha_dropout_uniform(seed, idx) >= p;
                        if (keep) {
                            double expected = (double)d->w_eval[i] / (1.0 - (double)p);
                            assert_true(fabs(d->w_train[i] - expected) <= 1e-6 * expected);
                            ++kept;
                        } else {
                            assert_true(d->w_train[i] == 0.0f);
                        }
                    }
        /* 15360 draws: the standard deviation of the fraction is below 0.0045. */
        double fraction = (double)kept / (double)COUNT;
        if (fabs(fraction - (1.0 - p)) > 0.02)
            fail_msg("p = %g: kept fraction %g", p, fraction);
    }
}

/* The output is computed from the dropped weights: recompute it from the
 * returned weights and the projected values (identity weights make those
 * the inputs). */
static void test_output_uses_dropped_weights(void **state)
{
    (void)state;
    enum { E2 = 2, S2 = 6 };
    mha_config config = ref_config(E2, 1);
    config.bias = false;
    config.dropout = 0.5f;
    float in_proj[3 * E2 * E2], out_proj[E2 * E2];
    ref_identity_weights(E2, in_proj, out_proj);
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = in_proj;
    weights.out_proj_weight = out_proj;
    float query[3 * E2], key[S2 * E2], value[S2 * E2], output[3 * E2], attn[3 * S2];
    tk_fill_seed(query, 3 * E2, 41);
    tk_fill_seed(key, S2 * E2, 42);
    tk_fill_seed(value, S2 * E2, 43);
    mha_problem problem = ref_problem(&config, 1, 3, S2, false);
    problem.apply_dropout = true;
    mha_forward_args args = ref_args();
    args.query = ref_f32(query, 2, 3, E2, 0, 0);
    args.key = ref_f32(key, 2, S2, E2, 0, 0);
    args.value = ref_f32(value, 2, S2, E2, 0, 0);
    args.attn_output = ref_f32(output, 2, 3, E2, 0, 0);
    args.attn_weights = ref_f32(attn, 2, 3, S2, 0, 0);
    args.need_weights = true;
    args.training = true;
    args.dropout_seed = 5;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);
    int dropped = 0;
    for (int l = 0; l < 3; ++l)
        for (int e = 0; e < E2; ++e) {
            double sum = 0;
            for (int j = 0; j < S2; ++j) {
                sum += (double)attn[l * S2 + j] * value[j * E2 + e];
                dropped += attn[l * S2 + j] == 0.0f;
            }
            assert_float_equal(output[l * E2 + e], (float)sum, 1e-6f);
        }
    assert_true(dropped > 0); /* else the test proves nothing */
}

/* training with p set but apply_dropout false changes nothing; another seed
 * drops other elements; the same seed the same ones. */
static void test_apply_flag_and_seed(void **state)
{
    data *d = *state;
    run(d, 0.0f, false, 1, d->out_eval, d->w_eval);
    run(d, 0.5f, false, 1, d->out_train, d->w_train);
    assert_memory_equal(d->out_eval, d->out_train, sizeof d->out_eval);
    assert_memory_equal(d->w_eval, d->w_train, sizeof d->w_eval);

    run(d, 0.5f, true, 1, d->out_eval, d->w_eval);
    run(d, 0.5f, true, 1, d->out_train, d->w_train);
    assert_memory_equal(d->w_eval, d->w_train, sizeof d->w_eval);
    run(d, 0.5f, true, 2, d->out_train, d->w_train);
    assert_memory_not_equal(d->w_eval, d->w_train, sizeof d->w_eval);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_fraction_and_scale),
        cmocka_unit_test(test_output_uses_dropped_weights),
        cmocka_unit_test(test_apply_flag_and_seed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
