/*
 * test_edges.c - guard zones, determinism and numerical edge cases, on any
 * backend: MHA_TEST_BACKEND names it (ctest registers "reference"; an
 * "opencl" registration exists behind MHA_RELIABILITY_OPENCL).
 *
 * Every forward here goes through run_guarded(), which
 *  - pre-fills attn_output and attn_weights with a NaN whose payload no
 *    computation produces (GUARD_BITS) and follows each with 127 canary
 *    elements (CANARY_BITS); afterwards every output element must have been
 *    written and no canary touched;
 *  - runs the same call twice on the same attention object and requires
 *    bit-identical results.
 * The named tests then check the numbers (docs/semantics.md states the rules):
 * fully masked rows, logits offset by +-88 and 1e4, large logits, denormal
 * inputs, -inf versus a large negative float mask, a NaN in a masked-out
 * float slot, S = 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"

#define CANARY_COUNT 127
#define GUARD_BITS 0x7fc0deadu /* a quiet NaN with a payload no computation here makes */
#define CANARY_BITS 0x7fa5a5a5u

static const char *g_spec = "reference";
/* run_guarded closes the backend right after creating the attention object,
 * which then keeps it alive (mha.h, ABI 1.1). */
static bool g_close_backend_early = false;

/* ---- a problem and its guarded run -------------------------------------- */

typedef struct problem {
    int64_t E, H, N, L, S;
    mha_config config;
    float *in_proj, *in_bias, *out_proj, *out_bias, *bias_k, *bias_v;
    float *query, *key, *value;
    float *attn_mask;      /* (N*H, L, S) when mask_3d, else (L, S); NULL = none */
    bool mask_3d;
    uint8_t *attn_mask_bool;
    uint8_t *padding;      /* bool (N, S); NULL = none */
    float *padding_float;  /* float (N, S); NULL = none */
    mha_causal causal;
    bool per_head;         /* weights (N, H, L, S') instead of averaged */
} problem;

typedef struct result {
    float *output;  /* (L, N, E) */
    float *weights; /* (N, H, L, S') or (N, L, S') */
    size_t output_count, weights_count;
} result;

static float *floats(size_t count)
{
    float *data = calloc(count ? count : 1, sizeof(float));
    assert_non_null(data);
    return data;
}

static void fill(float *data, size_t count, uint32_t seed, float scale)
{
    uint32_t state = seed * 2654435761u + 3u;
    for (size_t i = 0; i < count; ++i) {
        state = state * 1664525u + 1013904223u;
        data[i] = scale * ((float)((state >> 8) & 0xffff) / 32768.0f - 1.0f);
    }
}

/* A problem with random weights and inputs (values in [-1, 1)). */
static void problem_init(problem *p, int64_t E, int64_t H, int64_t N, int64_t L, int64_t S)
{
    memset(p, 0, sizeof *p);
    p->E = E, p->H = H, p->N = N, p->L = L, p->S = S;
    mha_config_init(&p->config, E, H);
    p->in_proj = floats((size_t)(3 * E * E));
    p->in_bias = floats((size_t)(3 * E));
    p->out_proj = floats((size_t)(E * E));
    p->out_bias = floats((size_t)E);
    p->bias_k = floats((size_t)E);
    p->bias_v = floats((size_t)E);
    p->query = floats((size_t)(L * N * E));
    p->key = floats((size_t)(S * N * E));
    p->value = floats((size_t)(S * N * E));
    fill(p->in_proj, (size_t)(3 * E * E), 1, 0.5f);
    fill(p->in_bias, (size_t)(3 * E), 2, 0.1f);
    fill(p->out_proj, (size_t)(E * E), 3, 0.5f);
    fill(p->out_bias, (size_t)E, 4, 1.0f);
    fill(p->bias_k, (size_t)E, 5, 1.0f);
    fill(p->bias_v, (size_t)E, 6, 1.0f);
    fill(p->query, (size_t)(L * N * E), 7, 1.0f);
    fill(p->key, (size_t)(S * N * E), 8, 1.0f);
    fill(p->value, (size_t)(S * N * E), 9, 1.0f);
}

static float *problem_float_mask(problem *p, bool three_d)
{
    size_t count = (size_t)((three_d ? p->N * p->H : 1) * p->L * p->S);
    free(p->attn_mask);
    p->attn_mask = floats(count);
    p->mask_3d = three_d;
    return p->attn_mask;
}

static void problem_free(problem *p)
{
    free(p->in_proj), free(p->in_bias), free(p->out_proj), free(p->out_bias);
    free(p->bias_k), free(p->bias_v);
    free(p->query), free(p->key), free(p->value);
    free(p->attn_mask), free(p->attn_mask_bool), free(p->padding), free(p->padding_float);
    memset(p, 0, sizeof *p);
}

static void result_free(result *r)
{
    free(r->output);
    free(r->weights);
    memset(r, 0, sizeof *r);
}

static int64_t total_keys(const problem *p)
{
    return p->S + (p->config.add_bias_kv ? 1 : 0) + (p->config.add_zero_attn ? 1 : 0);
}

static uint32_t bits_of(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static float from_bits(uint32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* count elements of guard NaN, then CANARY_COUNT canaries. */
static float *guarded(size_t count)
{
    float *data = floats(count + CANARY_COUNT);
    for (size_t i = 0; i < count; ++i)
        data[i] = from_bits(GUARD_BITS);
    for (size_t i = 0; i < CANARY_COUNT; ++i)
        data[count + i] = from_bits(CANARY_BITS);
    return data;
}

static int check_guards(const char *what, const float *data, size_t count)
{
    for (size_t i = 0; i < count; ++i)
        if (bits_of(data[i]) == GUARD_BITS) {
            print_error("%s: element %zu of %zu was not written\n", what, i, count);
            return 0;
        }
    for (size_t i = 0; i < CANARY_COUNT; ++i)
        if (bits_of(data[count + i]) != CANARY_BITS) {
            print_error("%s: canary %zu after %zu elements was overwritten\n", what, i, count);
            return 0;
        }
    return 1;
}

/* Runs p twice on one attention object with guarded outputs; fails the test
 * on any guard, canary or determinism problem. */
static void run_guarded(const problem *p, result *out)
{
    mha_backend *backend = NULL;
    mha_status status = mha_backend_open(g_spec, &backend);
    if (status != MHA_STATUS_OK)
        fail_msg("backend '%s': %s: %s", g_spec, mha_status_name(status), mha_last_error());
    mha_weights weights;
    mha_weights_init(&weights);
    weights.in_proj_weight = p->in_proj;
    weights.in_proj_bias = p->config.bias ? p->in_bias : NULL;
    weights.out_proj_weight = p->out_proj;
    weights.out_proj_bias = p->config.bias ? p->out_bias : NULL;
    if (p->config.add_bias_kv) {
        weights.bias_k = p->bias_k;
        weights.bias_v = p->bias_v;
    }
    mha_attention *attention = NULL;
    status = mha_attention_create(backend, &p->config, &weights, &attention);
    if (status != MHA_STATUS_OK)
        fail_msg("create: %s: %s", mha_status_name(status), mha_last_error());
    if (g_close_backend_early) {
        mha_backend_close(backend);
        backend = NULL;
    }

    const int64_t St = total_keys(p);
    const int64_t E = p->E, H = p->H, N = p->N, L = p->L, S = p->S;
    memset(out, 0, sizeof *out);
    out->output_count = (size_t)(L * N * E);
    out->weights_count = (size_t)(N * (p->per_head ? H : 1) * L * St);

    result runs[2];
    for (int run = 0; run < 2; ++run) {
        runs[run].output = guarded(out->output_count);
        runs[run].weights = guarded(out->weights_count);
        mha_forward_args args;
        mha_forward_args_init(&args);
        args.query = mha_tensor_f32(p->query, 3, (int64_t[]){L, N, E});
        args.key = mha_tensor_f32(p->key, 3, (int64_t[]){S, N, E});
        args.value = mha_tensor_f32(p->value, 3, (int64_t[]){S, N, E});
        if (p->attn_mask)
            args.attn_mask = p->mask_3d
                                 ? mha_tensor_f32(p->attn_mask, 3, (int64_t[]){N * H, L, S})
                                 : mha_tensor_f32(p->attn_mask, 2, (int64_t[]){L, S});
        else if (p->attn_mask_bool)
            args.attn_mask = mha_tensor_bool(p->attn_mask_bool, 2, (int64_t[]){L, S});
        if (p->padding)
            args.key_padding_mask = mha_tensor_bool(p->padding, 2, (int64_t[]){N, S});
        else if (p->padding_float)
            args.key_padding_mask = mha_tensor_f32(p->padding_float, 2, (int64_t[]){N, S});
        args.causal = p->causal;
        args.need_weights = true;
        args.average_attn_weights = !p->per_head;
        args.attn_output = mha_tensor_f32(runs[run].output, 3, (int64_t[]){L, N, E});
        args.attn_weights =
            p->per_head ? mha_tensor_f32(runs[run].weights, 4, (int64_t[]){N, H, L, St})
                        : mha_tensor_f32(runs[run].weights, 3, (int64_t[]){N, L, St});
        status = mha_attention_forward(attention, &args);
        if (status != MHA_STATUS_OK)
            fail_msg("forward: %s: %s", mha_status_name(status), mha_last_error());
        if (!check_guards("attn_output", runs[run].output, out->output_count) ||
            !check_guards("attn_weights", runs[run].weights, out->weights_count))
            fail_msg("guard zone check failed (run %d)", run + 1);
    }
    if (memcmp(runs[0].output, runs[1].output, out->output_count * sizeof(float)) != 0 ||
        memcmp(runs[0].weights, runs[1].weights, out->weights_count * sizeof(float)) != 0)
        fail_msg("the same call twice gave different bits");
    free(runs[1].output);
    free(runs[1].weights);
    out->output = runs[0].output;
    out->weights = runs[0].weights;
    mha_attention_destroy(attention);
    mha_backend_close(backend);
}

/* ---- checks -------------------------------------------------------------- */

static void assert_all_finite(const char *what, const float *data, size_t count)
{
    for (size_t i = 0; i < count; ++i)
        if (!isfinite(data[i]))
            fail_msg("%s[%zu] is %g", what, i, (double)data[i]);
}

static void assert_close(const char *what, const float *got, const float *want, size_t count,
                         double atol, double rtol)
{
    for (size_t i = 0; i < count; ++i) {
        double difference = fabs((double)got[i] - (double)want[i]);
        if (!(difference <= atol + rtol * fabs((double)want[i])))
            fail_msg("%s[%zu]: %.9g but expected %.9g (atol %g, rtol %g)", what, i,
                     (double)got[i], (double)want[i], atol, rtol);
    }
}

static void assert_bits_equal(const char *what, const float *got, const float *want,
                              size_t count)
{
    for (size_t i = 0; i < count; ++i)
        if (bits_of(got[i]) != bits_of(want[i]))
            fail_msg("%s[%zu]: %.9g but expected exactly %.9g", what, i, (double)got[i],
                     (double)want[i]);
}

/* Weight rows (the last dimension) each sum to 1 within tol, or are all 0. */
static void assert_rows_normalised(const result *r, int64_t row_length, double tol)
{
    for (size_t row = 0; row < r->weights_count / (size_t)row_length; ++row) {
        double sum = 0;
        for (int64_t j = 0; j < row_length; ++j)
            sum += r->weights[row * (size_t)row_length + (size_t)j];
        if (!(fabs(sum - 1.0) <= tol || sum == 0.0))
            fail_msg("weights row %zu sums to %.9g", row, sum);
    }
}

/* Tolerance for a softmax whose logits carry an offset c in float32: the
 * offset costs up to a few ulps of c in each logit. */
static double offset_tolerance(double c)
{
    return 8.0 * fabs(c) * FLT_EPSILON + 1e-6;
}

/* ---- the named tests ------------------------------------------------------ */

enum { E = 8, H = 2, N = 2, L = 5, S = 6 };

/* Batch 0 ignores every key: its weights are 0 and its outputs are
 * out_proj.bias exactly. Also a row fully masked by a float -inf attn_mask row
 * and rows emptied by bottom-right causal masking with L > S. */
static void fully_masked_rows(void **state)
{
    (void)state;
    problem p;
    problem_init(&p, E, H, N, L, S);
    p.padding = calloc(N * S, 1);
    assert_non_null(p.padding);
    memset(p.padding, 1, S); /* batch 0: every key ignored */
    p.per_head = true;
    result r;
    run_guarded(&p, &r);
    for (int64_t l = 0; l < L; ++l) {
        for (int64_t e = 0; e < E; ++e) {
            float got = r.output[(l * N + 0) * E + e];
            if (bits_of(got) != bits_of(p.out_bias[e]))
                fail_msg("output (l=%lld, n=0, e=%lld) is %.9g, not out_proj.bias %.9g",
                         (long long)l, (long long)e, (double)got, (double)p.out_bias[e]);
        }
    }
    for (size_t i = 0; i < (size_t)(H * L * S); ++i) /* batch 0's weights */
        assert_true(r.weights[i] == 0.0f);
    assert_all_finite("attn_output", r.output, r.output_count);
    assert_rows_normalised(&r, S, 1e-5);
    result_free(&r);

    /* A float -inf row in a 2-D attn_mask: row 2 of every batch. */
    free(p.padding);
    p.padding = NULL;
    float *mask = problem_float_mask(&p, false);
    for (int64_t j = 0; j < S; ++j)
        mask[2 * S + j] = -INFINITY;
    run_guarded(&p, &r);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t e = 0; e < E; ++e)
            assert_true(bits_of(r.output[(2 * N + n) * E + e]) == bits_of(p.out_bias[e]));
    assert_all_finite("attn_weights", r.weights, r.weights_count);
    result_free(&r);

    /* Only -inf masks: a row of -1e30 is not fully masked. Its logits all
     * round to the same value, so its weights are uniform (as in PyTorch). */
    for (int64_t j = 0; j < S; ++j)
        mask[2 * S + j] = -1e30f;
    run_guarded(&p, &r);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t j = 0; j < S; ++j)
                assert_float_equal(r.weights[((n * H + h) * L + 2) * S + j], 1.0 / S, 1e-6);
    result_free(&r);
    problem_free(&p);

    /* Bottom-right causal with L = 5 > S = 3: query i sees j <= i - 2, so
     * queries 0 and 1 see nothing. */
    problem_init(&p, E, H, N, 5, 3);
    p.causal = MHA_CAUSAL_BOTTOM_RIGHT;
    run_guarded(&p, &r);
    for (int64_t l = 0; l < 2; ++l)
        for (int64_t n = 0; n < N; ++n)
            for (int64_t e = 0; e < E; ++e)
                assert_true(bits_of(r.output[(l * N + n) * E + e]) == bits_of(p.out_bias[e]));
    assert_all_finite("attn_output", r.output, r.output_count);
    assert_rows_normalised(&r, 3, 1e-5);
    result_free(&r);
    problem_free(&p);
}

/* Softmax is invariant to a constant added to every logit of a row: a float
 * attn_mask of all c gives the weights of no mask, without overflow or NaN. */
static void logits_offset(double c)
{
    problem p;
    problem_init(&p, E, H, N, L, S);
    p.per_head = true;
    result plain, shifted;
    run_guarded(&p, &plain);
    float *mask = problem_float_mask(&p, true);
    for (size_t i = 0; i < (size_t)(N * H * L * S); ++i)
        mask[i] = (float)c;
    run_guarded(&p, &shifted);
    assert_all_finite("attn_weights", shifted.weights, shifted.weights_count);
    assert_all_finite("attn_output", shifted.output, shifted.output_count);
    double tol = offset_tolerance(c);
    assert_close("attn_weights", shifted.weights, plain.weights, plain.weights_count, tol, 0);
    assert_close("attn_output", shifted.output, plain.output, plain.output_count, 4 * tol, 1e-5);
    result_free(&plain);
    result_free(&shifted);
    problem_free(&p);
}

static void logits_offset_plus_88(void **state)
{
    (void)state;
    logits_offset(88.0);
}

static void logits_offset_minus_88(void **state)
{
    (void)state;
    logits_offset(-88.0);
}

static void logits_offset_1e4(void **state)
{
    (void)state;
    logits_offset(1e4);
    logits_offset(-1e4);
}

/* Logits themselves around +-1e4 (inputs scaled up): finite, normalised. */
static void large_logits(void **state)
{
    (void)state;
    problem p;
    problem_init(&p, E, H, N, L, S);
    fill(p.query, (size_t)(L * N * E), 21, 300.0f);
    fill(p.key, (size_t)(S * N * E), 22, 300.0f);
    result r;
    run_guarded(&p, &r);
    assert_all_finite("attn_weights", r.weights, r.weights_count);
    assert_all_finite("attn_output", r.output, r.output_count);
    assert_rows_normalised(&r, S, 1e-5);
    result_free(&r);
    problem_free(&p);
}

/* Denormal inputs behave like (almost) zero inputs, whether or not the
 * device flushes them: finite results close to those of zero inputs. */
static void denormal_inputs(void **state)
{
    (void)state;
    problem p;
    problem_init(&p, E, H, N, L, S);
    const size_t q = (size_t)(L * N * E), kv = (size_t)(S * N * E);
    for (size_t i = 0; i < q; ++i)
        p.query[i] = 0.0f;
    for (size_t i = 0; i < kv; ++i)
        p.key[i] = p.value[i] = 0.0f;
    result zero, denormal;
    run_guarded(&p, &zero);
    fill(p.query, q, 31, 1.0f);
    fill(p.key, kv, 32, 1.0f);
    fill(p.value, kv, 33, 1.0f);
    for (size_t i = 0; i < q; ++i)
        p.query[i] *= FLT_MIN / 4; /* subnormal */
    for (size_t i = 0; i < kv; ++i) {
        p.key[i] *= FLT_MIN / 4;
        p.value[i] *= FLT_MIN / 8;
    }
    assert_true(fpclassify(p.query[1]) == FP_SUBNORMAL || p.query[1] == 0.0f);
    run_guarded(&p, &denormal);
    assert_all_finite("attn_output", denormal.output, denormal.output_count);
    assert_all_finite("attn_weights", denormal.weights, denormal.weights_count);
    assert_close("attn_output", denormal.output, zero.output, zero.output_count, 1e-6, 0);
    assert_close("attn_weights", denormal.weights, zero.weights, zero.weights_count, 1e-6, 0);
    result_free(&zero);
    result_free(&denormal);

    /* Denormal weights too. */
    for (size_t i = 0; i < (size_t)(3 * E * E); ++i)
        p.in_proj[i] *= FLT_MIN / 2;
    run_guarded(&p, &denormal);
    assert_all_finite("attn_output", denormal.output, denormal.output_count);
    assert_rows_normalised(&denormal, S, 1e-5);
    result_free(&denormal);
    problem_free(&p);
}

/* A float mask of -inf and one of -1e30 at the same slots (no row fully
 * masked) give the same weights and outputs, bit for bit: exp underflows to
 * exactly 0 either way. Also the same as a bool mask there. */
static void neg_inf_versus_large_negative(void **state)
{
    (void)state;
    problem p;
    problem_init(&p, E, H, N, L, S);
    p.per_head = true;
    float *mask = problem_float_mask(&p, false);
    result with_inf, with_large, with_bool;
    for (int64_t l = 0; l < L; ++l)
        for (int64_t j = 0; j < S; ++j)
            mask[l * S + j] = (j + l) % 3 == 0 ? -INFINITY : 0.0f;
    run_guarded(&p, &with_inf);
    for (int64_t i = 0; i < L * S; ++i)
        if (isinf(mask[i]))
            mask[i] = -1e30f;
    run_guarded(&p, &with_large);
    assert_bits_equal("attn_weights", with_large.weights, with_inf.weights,
                      with_inf.weights_count);
    assert_bits_equal("attn_output", with_large.output, with_inf.output, with_inf.output_count);

    p.attn_mask_bool = calloc((size_t)(L * S), 1);
    assert_non_null(p.attn_mask_bool);
    for (int64_t i = 0; i < L * S; ++i)
        p.attn_mask_bool[i] = mask[i] < 0.0f;
    free(p.attn_mask);
    p.attn_mask = NULL;
    run_guarded(&p, &with_bool);
    assert_bits_equal("attn_weights", with_bool.weights, with_inf.weights,
                      with_inf.weights_count);
    result_free(&with_inf);
    result_free(&with_large);
    result_free(&with_bool);
    problem_free(&p);
}

/* A NaN in a float attn_mask slot that another mask removes (here the bool
 * key_padding_mask, then causal masking) is not removed: masks add, and
 * -inf + NaN is NaN (docs/semantics.md). The NaN reaches exactly the rows it
 * is in: query row l of every batch and head, and so output row l; every
 * other row is bit-identical to the run without the NaN. */
static void nan_in_masked_slot(void **state)
{
    (void)state;
    const int64_t nan_row = 3, nan_key = 1;
    for (int variant = 0; variant < 2; ++variant) {
        problem p;
        problem_init(&p, E, H, N, L, S);
        p.per_head = true;
        float *mask = problem_float_mask(&p, false);
        fill(mask, (size_t)(L * S), 41, 0.5f);
        if (variant == 0) {
            p.padding = calloc(N * S, 1);
            assert_non_null(p.padding);
            for (int64_t n = 0; n < N; ++n)
                p.padding[n * S + nan_key] = 1; /* key 1 ignored everywhere */
        } else {
            p.causal = MHA_CAUSAL_TOP_LEFT; /* nan_key > nan_row is masked */
        }
        const int64_t key = variant == 0 ? nan_key : nan_row + 1;
        result clean, poisoned;
        run_guarded(&p, &clean);
        mask[nan_row * S + key] = NAN;
        run_guarded(&p, &poisoned);
        for (int64_t n = 0; n < N; ++n)
            for (int64_t h = 0; h < H; ++h)
                for (int64_t l = 0; l < L; ++l)
                    for (int64_t j = 0; j < S; ++j) {
                        size_t i = (size_t)(((n * H + h) * L + l) * S + j);
                        if (l == nan_row ? !isnan(poisoned.weights[i])
                                         : bits_of(poisoned.weights[i]) != bits_of(clean.weights[i]))
                            fail_msg("%s: weights (n=%lld, h=%lld, l=%lld, j=%lld) are %.9g, "
                                     "expected %s",
                                     variant == 0 ? "NaN under key_padding_mask"
                                                  : "NaN under causal mask",
                                     (long long)n, (long long)h, (long long)l, (long long)j,
                                     (double)poisoned.weights[i],
                                     l == nan_row ? "NaN" : "the value without the NaN");
                    }
        for (int64_t l = 0; l < L; ++l)
            for (int64_t n = 0; n < N; ++n)
                for (int64_t e = 0; e < E; ++e) {
                    size_t i = (size_t)((l * N + n) * E + e);
                    if (l == nan_row ? !isnan(poisoned.output[i])
                                     : bits_of(poisoned.output[i]) != bits_of(clean.output[i]))
                        fail_msg("variant %d: output (l=%lld, n=%lld, e=%lld) is %.9g, expected %s",
                                 variant, (long long)l, (long long)n, (long long)e,
                                 (double)poisoned.output[i],
                                 l == nan_row ? "NaN" : "the value without the NaN");
                }
        result_free(&clean);
        result_free(&poisoned);
        problem_free(&p);
    }
}

/* One key: every weight is exactly 1 and each output row is the projected
 * value pushed through out_proj (checked in double here). With that key
 * ignored, the row is fully masked. With add_zero_attn, S' = 2. */
static void s_equals_1(void **state)
{
    (void)state;
    problem p;
    problem_init(&p, E, H, N, L, 1);
    p.per_head = true;
    result r;
    run_guarded(&p, &r);
    for (size_t i = 0; i < r.weights_count; ++i)
        assert_true(r.weights[i] == 1.0f);
    float *want = floats(r.output_count);
    for (int64_t n = 0; n < N; ++n) {
        double v[E];
        for (int64_t e = 0; e < E; ++e) { /* v = value . Wv^T + bv */
            double sum = p.in_bias[2 * E + e];
            for (int64_t f = 0; f < E; ++f)
                sum += (double)p.value[n * E + f] * p.in_proj[(2 * E + e) * E + f];
            v[e] = sum;
        }
        for (int64_t e = 0; e < E; ++e) {
            double sum = p.out_bias[e];
            for (int64_t f = 0; f < E; ++f)
                sum += v[f] * p.out_proj[e * E + f];
            for (int64_t l = 0; l < L; ++l)
                want[(l * N + n) * E + e] = (float)sum;
        }
    }
    assert_close("attn_output", r.output, want, r.output_count, 1e-5, 1e-5);
    free(want);
    result_free(&r);

    p.padding = calloc(N, 1);
    assert_non_null(p.padding);
    p.padding[1] = 1; /* batch 1's only key is ignored */
    run_guarded(&p, &r);
    for (int64_t l = 0; l < L; ++l)
        for (int64_t e = 0; e < E; ++e)
            assert_true(bits_of(r.output[(l * N + 1) * E + e]) == bits_of(p.out_bias[e]));
    result_free(&r);

    p.config.add_zero_attn = true; /* S' = 2: the zero key is never masked */
    run_guarded(&p, &r);
    assert_all_finite("attn_weights", r.weights, r.weights_count);
    assert_rows_normalised(&r, 2, 1e-5);
    result_free(&r);
    problem_free(&p);
}

/* The backend closed before its attention object: the object keeps it alive
 * and computes the same bits (before ABI 1.1 the next forward crashed). */
static void backend_closed_before_its_object(void **state)
{
    (void)state;
    problem p;
    problem_init(&p, E, H, N, L, S);
    result open_run, closed_run;
    run_guarded(&p, &open_run);
    g_close_backend_early = true;
    run_guarded(&p, &closed_run);
    g_close_backend_early = false;
    assert_bits_equal("attn_output", closed_run.output, open_run.output, open_run.output_count);
    assert_bits_equal("attn_weights", closed_run.weights, open_run.weights,
                      open_run.weights_count);
    result_free(&open_run);
    result_free(&closed_run);
    problem_free(&p);
}

int main(void)
{
    const char *spec = getenv("MHA_TEST_BACKEND");
    if (spec && *spec)
        g_spec = spec;
    print_message("backend: %s\n", g_spec);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fully_masked_rows),
        cmocka_unit_test(logits_offset_plus_88),
        cmocka_unit_test(logits_offset_minus_88),
        cmocka_unit_test(logits_offset_1e4),
        cmocka_unit_test(large_logits),
        cmocka_unit_test(denormal_inputs),
        cmocka_unit_test(neg_inf_versus_large_negative),
        cmocka_unit_test(nan_in_masked_slot),
        cmocka_unit_test(s_equals_1),
        cmocka_unit_test(backend_closed_before_its_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
