/*
 * test_masks.c - attn_mask (bool/float, 2-D/3-D), key_padding_mask, causal
 * masks and their combination; fully masked rows; the never-masked extra
 * columns of add_bias_kv and add_zero_attn.
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

enum { N = 2, E = 4, H = 2, LMAX = 4, SMAX = 6 };

/* Random weights and inputs, seq-first (T, N, E), shared by every case. */
static float g_in_proj[3 * E * E], g_in_bias[3 * E], g_out_proj[E * E], g_out_bias[E];
static float g_bias_k[E], g_bias_v[E];
static float g_query[LMAX * N * E], g_key[SMAX * N * E], g_value[SMAX * N * E];

static int setup_data(void **state)
{
    (void)state;
    tk_fill_seed(g_in_proj, 3 * E * E, 11);
    tk_fill_seed(g_in_bias, 3 * E, 12);
    tk_fill_seed(g_out_proj, E * E, 13);
    tk_fill_seed(g_out_bias, E, 14);
    tk_fill_seed(g_bias_k, E, 15);
    tk_fill_seed(g_bias_v, E, 16);
    tk_fill_seed(g_query, LMAX * N * E, 17);
    tk_fill_seed(g_key, SMAX * N * E, 18);
    tk_fill_seed(g_value, SMAX * N * E, 19);
    return 0;
}

/* Runs config on the shared data with L queries and S keys (batched, N = 2)
 * and the masks already in *args; writes attn_output (L, N, E) and per-head
 * weights (N, H, L, S'). */
static void run(const mha_config *config, int64_t L, int64_t S, mha_forward_args *args,
                float *output, float *weights_out)
{
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = g_in_proj;
    weights.in_proj_bias = g_in_bias;
    weights.out_proj_weight = g_out_proj;
    weights.out_proj_bias = g_out_bias;
    weights.bias_k = g_bias_k;
    weights.bias_v = g_bias_v;
    mha_problem problem = ref_problem(config, N, L, S, true);
    problem.attn_mask_3d = args->attn_mask.data != NULL && args->attn_mask.rank == 3;
    args->query = ref_f32(g_query, 3, L, N, E, 0);
    args->key = ref_f32(g_key, 3, S, N, E, 0);
    args->value = ref_f32(g_value, 3, S, N, E, 0);
    args->attn_output = ref_f32(output, 3, L, N, E, 0);
    args->attn_weights = ref_f32(weights_out, 4, N, H, L, problem.src_len_total);
    args->need_weights = true;
    args->average_attn_weights = false;
    assert_int_equal(ref_run(config, &weights, &problem, args), MHA_STATUS_OK);
}

static void assert_row_is_out_bias(const float *output, int64_t l, int64_t n)
{
    for (int e = 0; e < E; ++e)
        assert_true(output[(l * N + n) * E + e] == g_out_bias[e]);
}

static bool row_is_out_bias(const float *output, int64_t l, int64_t n)
{
    for (int e = 0; e < E; ++e)
        if (output[(l * N + n) * E + e] != g_out_bias[e])
            return false;
    return true;
}

/* key_padding_mask masking every key of batch 0: its outputs are exactly
 * out_proj.bias and its weights zero (no NaN); batch 1 is untouched. */
static void test_fully_masked_by_key_padding(void **state)
{
    (void)state;
    enum { L = 3, S = 4 };
    mha_config config = ref_config(E, H);
    uint8_t kpm[N * S] = {1, 1, 1, 1, 0, 0, 0, 0};
    float output[L * N * E], weights[N * H * L * S];
    mha_forward_args args = ref_args();
    args.key_padding_mask = ref_bool(kpm, 2, N, S, 0, 0);
    run(&config, L, S, &args, output, weights);
    for (int l = 0; l < L; ++l) {
        assert_row_is_out_bias(output, l, 0);
        assert_false(row_is_out_bias(output, l, 1));
    }
    for (int i = 0; i < H * L * S; ++i) {
        assert_true(weights[i] == 0.0f);               /* batch 0 */
        assert_true(weights[H * L * S + i] > 0.0f);    /* batch 1 */
    }
}

/* A float attn_mask row of -inf masks query 1 for every batch and head. */
static void test_fully_masked_by_float_attn_mask(void **state)
{
    (void)state;
    enum { L = 3, S = 4 };
    mha_config config = ref_config(E, H);
    float mask[L * S] = {0};
    for (int j = 0; j < S; ++j)
        mask[1 * S + j] = -INFINITY;
    float output[L * N * E], weights[N * H * L * S];
    mha_forward_args args = ref_args();
    args.attn_mask = ref_f32(mask, 2, L, S, 0, 0);
    run(&config, L, S, &args, output, weights);
    for (int n = 0; n < N; ++n) {
        assert_false(row_is_out_bias(output, 0, n));
        assert_row_is_out_bias(output, 1, n);
        assert_false(row_is_out_bias(output, 2, n));
        for (int h = 0; h < H; ++h)
            for (int j = 0; j < S; ++j)
                assert_true(weights[((n * H + h) * L + 1) * S + j] == 0.0f);
    }
}

/* Random bool masks and the float masks with -inf where true give the same
 * bits, for a 2-D and a 3-D attn_mask and the key_padding_mask. */
static void test_bool_equals_float(void **state)
{
    (void)state;
    enum { L = 3, S = 5 };
    mha_config config = ref_config(E, H);
    float noise[N * H * L * S];
    tk_fill_seed(noise, N * H * L * S, 21);
    uint8_t bool_attn[N * H * L * S], bool_kpm[N * S];
    float float_attn[N * H * L * S], float_kpm[N * S];
    for (int i = 0; i < N * H * L * S; ++i) {
        bool_attn[i] = noise[i] < -0.4f ? 7 : 0; /* any non-zero byte is true */
        float_attn[i] = bool_attn[i] ? -INFINITY : 0.0f;
    }
    for (int i = 0; i < N * S; ++i) {
        bool_kpm[i] = noise[i] > 0.5f;
        float_kpm[i] = bool_kpm[i] ? -INFINITY : 0.0f;
    }

    float out_b[L * N * E], out_f[L * N * E], w_b[N * H * L * S], w_f[N * H * L * S];
    for (int rank = 2; rank <= 3; ++rank) {
        mha_forward_args args = ref_args();
        args.attn_mask = rank == 2 ? ref_bool(bool_attn, 2, L, S, 0, 0)
                                   : ref_bool(bool_attn, 3, N * H, L, S, 0);
        args.key_padding_mask = ref_bool(bool_kpm, 2, N, S, 0, 0);
        run(&config, L, S, &args, out_b, w_b);
        args = ref_args();
        args.attn_mask = rank == 2 ? ref_f32(float_attn, 2, L, S, 0, 0)
                                   : ref_f32(float_attn, 3, N * H, L, S, 0);
        args.key_padding_mask = ref_f32(float_kpm, 2, N, S, 0, 0);
        run(&config, L, S, &args, out_f, w_f);
        assert_memory_equal(out_b, out_f, sizeof out_b);
        assert_memory_equal(w_b, w_f, sizeof w_b);
    }
}

/* Runs causal with key_padding_mask `kpm`, then the explicit bool attn_mask
 * `explicit_mask` (L, S) with the same kpm, and checks equal bits. */
static void check_causal_equals_mask(mha_causal causal, int64_t L, int64_t S,
                                     uint8_t *explicit_mask, uint8_t *kpm, float *output,
                                     float *weights)
{
    mha_config config = ref_config(E, H);
    float out_c[LMAX * N * E], w_c[N * H * LMAX * SMAX];
    mha_forward_args args = ref_args();
    args.causal = causal;
    if (kpm != NULL)
        args.key_padding_mask = ref_bool(kpm, 2, N, S, 0, 0);
    run(&config, L, S, &args, out_c, w_c);
    args = ref_args();
    args.attn_mask = ref_bool(explicit_mask, 2, L, S, 0, 0);
    if (kpm != NULL)
        args.key_padding_mask = ref_bool(kpm, 2, N, S, 0, 0);
    run(&config, L, S, &args, output, weights);
    assert_memory_equal(out_c, output, (size_t)(L * N * E) * sizeof(float));
    assert_memory_equal(w_c, weights, (size_t)(N * H * L * S) * sizeof(float));
}

/* Top-left: query l sees keys j <= l, for L = S, L < S and L > S, alone and
 * with a key_padding_mask. */
static void test_causal_top_left(void **state)
{
    (void)state;
    const int64_t shapes[4][2] = {{4, 4}, {3, 5}, {4, 6}, {4, 2}};
    float output[LMAX * N * E], weights[N * H * LMAX * SMAX];
    for (int c = 0; c < 4; ++c) {
        const int64_t L = shapes[c][0], S = shapes[c][1];
        uint8_t mask[LMAX * SMAX];
        for (int64_t l = 0; l < L; ++l)
            for (int64_t j = 0; j < S; ++j)
                mask[l * S + j] = j > l;
        check_causal_equals_mask(MHA_CAUSAL_TOP_LEFT, L, S, mask, NULL, output, weights);
        /* the first query sees only key 0 */
        for (int n = 0; n < N; ++n)
            for (int h = 0; h < H; ++h)
                assert_true(weights[(n * H + h) * L * S + 0] == 1.0f);
        uint8_t kpm[N * SMAX] = {0};
        kpm[0 * S + 1] = 1;
        kpm[1 * S + 0] = 1; /* batch 1: query 0 has nothing left to see */
        check_causal_equals_mask(MHA_CAUSAL_TOP_LEFT, L, S, mask, kpm, output, weights);
        assert_row_is_out_bias(output, 0, 1);
    }
}

/* Bottom-right: query l sees keys j <= l + (S - L). With L < S the last query
 * sees every key; with L > S the first L - S queries see none. */
static void test_causal_bottom_right(void **state)
{
    (void)state;
    const int64_t shapes[4][2] = {{2, 5}, {4, 6}, {4, 4}, {4, 2}};
    float output[LMAX * N * E], weights[N * H * LMAX * SMAX];
    for (int c = 0; c < 4; ++c) {
        const int64_t L = shapes[c][0], S = shapes[c][1];
        uint8_t mask[LMAX * SMAX];
        for (int64_t l = 0; l < L; ++l)
            for (int64_t j = 0; j < S; ++j)
                mask[l * S + j] = j > l + (S - L);
        check_causal_equals_mask(MHA_CAUSAL_BOTTOM_RIGHT, L, S, mask, NULL, output, weights);
        for (int n = 0; n < N; ++n)
            for (int h = 0; h < H; ++h) {
                const float *last = weights + ((n * H + h) * L + (L - 1)) * S;
                for (int64_t j = 0; j < S; ++j)
                    assert_true(last[j] > 0.0f);
            }
        for (int64_t l = 0; l < L - S; ++l)
            for (int n = 0; n < N; ++n)
                assert_row_is_out_bias(output, l, n);
    }
    /* L = 2, S = 5 by hand: query 0 sees keys 0..3, not key 4. */
    uint8_t mask[2 * 5] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0};
    check_causal_equals_mask(MHA_CAUSAL_BOTTOM_RIGHT, 2, 5, mask, NULL, output, weights);
    assert_true(weights[0 * 5 + 4] == 0.0f);
    assert_true(weights[0 * 5 + 3] > 0.0f);
}

/* Every caller key masked (key_padding_mask and causal), yet the extra
 * columns stay unmasked: with add_zero_attn alone the zero key takes all the
 * weight (output = out bias, as its value is zero). */
static void test_zero_attn_column_unmasked(void **state)
{
    (void)state;
    enum { L = 3, S = 4, SP = S + 1 };
    mha_config config = ref_config(E, H);
    config.add_zero_attn = true;
    uint8_t kpm[N * S];
    memset(kpm, 1, sizeof kpm);
    float output[L * N * E], weights[N * H * L * SP];
    mha_forward_args args = ref_args();
    args.key_padding_mask = ref_bool(kpm, 2, N, S, 0, 0);
    args.causal = MHA_CAUSAL_TOP_LEFT;
    run(&config, L, S, &args, output, weights);
    for (int r = 0; r < N * H * L; ++r) {
        for (int j = 0; j < S; ++j)
            assert_true(weights[r * SP + j] == 0.0f);
        assert_true(weights[r * SP + S] == 1.0f);
    }
    for (int l = 0; l < L; ++l)
        for (int n = 0; n < N; ++n)
            assert_row_is_out_bias(output, l, n);
}

/* add_bias_kv and add_zero_attn together, by hand: E = 2, one head (scale
 * 1/sqrt 2), identity weights, no in-projection bias, every caller key masked
 * by a bool attn_mask and bottom-right causal. q = [sqrt2 ln3, 0] and
 * bias_k = [1, 0] give scores [ln 3, 0] on the two extra columns, hence
 * weights 3/4 and 1/4 and output 3/4 bias_v + out bias. */
static void test_bias_kv_column_unmasked(void **state)
{
    (void)state;
    mha_config config = ref_config(2, 1);
    config.add_bias_kv = true;
    config.add_zero_attn = true;
    float in_proj[12], out_proj[4];
    ref_identity_weights(2, in_proj, out_proj);
    float in_bias[6] = {0}, out_bias[2] = {0.25f, -1};
    float bias_k[2] = {1, 0}, bias_v[2] = {2, 4};
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = in_proj;
    weights.in_proj_bias = in_bias;
    weights.out_proj_weight = out_proj;
    weights.out_proj_bias = out_bias;
    weights.bias_k = bias_k;
    weights.bias_v = bias_v;

    float query[2] = {(float)(sqrt(2.0) * log(3.0)), 0};
    float key[4] = {1, 1, 2, 2}, value[4] = {9, 9, 9, 9};
    uint8_t mask[2] = {1, 1};
    float output[2], attn[4];
    mha_problem problem = ref_problem(&config, 1, 1, 2, false);
    mha_forward_args args = ref_args();
    args.query = ref_f32(query, 2, 1, 2, 0, 0);
    args.key = ref_f32(key, 2, 2, 2, 0, 0);
    args.value = ref_f32(value, 2, 2, 2, 0, 0);
    args.attn_mask = ref_bool(mask, 2, 1, 2, 0, 0);
    args.causal = MHA_CAUSAL_BOTTOM_RIGHT;
    args.attn_output = ref_f32(output, 2, 1, 2, 0, 0);
    args.attn_weights = ref_f32(attn, 2, 1, 4, 0, 0);
    args.need_weights = true;
    assert_int_equal(ref_run(&config, &weights, &problem, &args), MHA_STATUS_OK);
    assert_true(attn[0] == 0.0f && attn[1] == 0.0f);
    assert_float_equal(attn[2], 0.75f, 1e-6f);
    assert_float_equal(attn[3], 0.25f, 1e-6f);
    assert_float_equal(output[0], 0.75f * 2 + 0.25f, 1e-6f);
    assert_float_equal(output[1], 0.75f * 4 - 1, 1e-6f);
}

/* A float key_padding_mask and a float 2-D attn_mask add up: the same as one
 * 3-D attn_mask holding their sums (exact in float, so equal bits). */
static void test_float_masks_add(void **state)
{
    (void)state;
    enum { L = 3, S = 4 };
    mha_config config = ref_config(E, H);
    float attn[L * S], kpm[N * S], merged[N * H * L * S];
    for (int i = 0; i < L * S; ++i)
        attn[i] = (float)(i % 5) * 0.5f - 1.0f;
    for (int i = 0; i < N * S; ++i)
        kpm[i] = (float)(i % 3) * -0.75f;
    for (int n = 0; n < N; ++n)
        for (int h = 0; h < H; ++h)
            for (int l = 0; l < L; ++l)
                for (int j = 0; j < S; ++j)
                    merged[((n * H + h) * L + l) * S + j] = attn[l * S + j] + kpm[n * S + j];

    float out_a[L * N * E], out_b[L * N * E], out_none[L * N * E];
    float w_a[N * H * L * S], w_b[N * H * L * S], w_none[N * H * L * S];
    mha_forward_args args = ref_args();
    args.attn_mask = ref_f32(attn, 2, L, S, 0, 0);
    args.key_padding_mask = ref_f32(kpm, 2, N, S, 0, 0);
    run(&config, L, S, &args, out_a, w_a);
    args = ref_args();
    args.attn_mask = ref_f32(merged, 3, N * H, L, S, 0);
    run(&config, L, S, &args, out_b, w_b);
    assert_memory_equal(out_a, out_b, sizeof out_a);
    assert_memory_equal(w_a, w_b, sizeof w_a);
    /* and the masks did change something */
    args = ref_args();
    run(&config, L, S, &args, out_none, w_none);
    assert_memory_not_equal(w_a, w_none, sizeof w_a);
}

/* A 3-D attn_mask is indexed by n * H + h: plane p masks key p % S only. */
static void test_3d_mask_planes(void **state)
{
    (void)state;
    enum { L = 3, S = 4 };
    mha_config config = ref_config(E, H);
    uint8_t mask[N * H * L * S] = {0};
    for (int p = 0; p < N * H; ++p)
        for (int l = 0; l < L; ++l)
            mask[(p * L + l) * S + p % S] = 1;
    float output[L * N * E], weights[N * H * L * S];
    mha_forward_args args = ref_args();
    args.attn_mask = ref_bool(mask, 3, N * H, L, S, 0);
    run(&config, L, S, &args, output, weights);
    for (int p = 0; p < N * H; ++p)
        for (int l = 0; l < L; ++l)
            for (int j = 0; j < S; ++j) {
                float w = weights[(p * L + l) * S + j];
                if (j == p % S)
                    assert_true(w == 0.0f);
                else
                    assert_true(w > 0.0f);
            }
}

/* A NaN in a float mask is added, not removed: that row's weights are NaN. */
static void test_nan_in_mask_propagates(void **state)
{
    (void)state;
    enum { L = 2, S = 3 };
    mha_config config = ref_config(E, H);
    float mask[L * S] = {NAN, 0, 0, 0, 0, 0};
    float output[L * N * E], weights[N * H * L * S];
    mha_forward_args args = ref_args();
    args.attn_mask = ref_f32(mask, 2, L, S, 0, 0);
    run(&config, L, S, &args, output, weights);
    for (int r = 0; r < N * H; ++r)
        for (int j = 0; j < S; ++j) {
            assert_true(isnan(weights[(r * L + 0) * S + j]));
            assert_false(isnan(weights[(r * L + 1) * S + j]));
        }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_host_setup, fake_host_check_no_leak)
    const struct CMUnitTest tests[] = {
        T(test_fully_masked_by_key_padding),
        T(test_fully_masked_by_float_attn_mask),
        T(test_bool_equals_float),
        T(test_causal_top_left),
        T(test_causal_bottom_right),
        T(test_zero_attn_column_unmasked),
        T(test_bias_kv_column_unmasked),
        T(test_float_masks_add),
        T(test_3d_mask_planes),
        T(test_nan_in_mask_propagates),
    };
#undef T
    return cmocka_run_group_tests(tests, setup_data, NULL);
}
