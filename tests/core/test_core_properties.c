/*
 * test_core_properties.c - identities of the attention core that hold on any
 * backend (MHA_TEST_BACKEND, default "reference"), each checked on random
 * inputs with a fixed seed:
 *
 *   - GQA equals the same call with every KV head repeated Hq/Hkv times;
 *   - a decode loop over a KV cache (past/present, and in place) equals one
 *     causal call over the whole sequence;
 *   - nonpad_kv_seqlen equals the equivalent bool mask;
 *   - 3-D inputs equal the 4-D call on the transposed tensors;
 *   - strided views (K and V read in place from one packed buffer) equal
 *     dense ones;
 *   - float16 storage is within a stated tolerance of float32 on the same
 *     (fp16-rounded) inputs.
 *
 * Tolerances: float32 results of two mathematically equal calls agree to
 * 2e-6 + 2e-6 |b| (different summation orders); float16 outputs against the
 * float32 call: 4 units of the last place of fp16 at |b| (2^-11 relative
 * each) plus 1e-3 absolute for values near 0: |a - b| <= 1e-3 + 2e-3 |b|.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/core.h"

static const char *g_spec = "reference";
static mha_backend *g_backend;

static uint32_t g_state = 12345u;
static float random_value(void)
{
    g_state = g_state * 1664525u + 1013904223u;
    return (float)((g_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *random_floats(size_t count)
{
    float *data = malloc((count ? count : 1) * sizeof(float));
    assert_non_null(data);
    for (size_t i = 0; i < count; ++i)
        data[i] = random_value();
    return data;
}

static float *zeros(size_t count)
{
    float *data = calloc(count ? count : 1, sizeof(float));
    assert_non_null(data);
    return data;
}

static mha_view view4(float *data, int64_t a, int64_t b, int64_t c, int64_t d)
{
    return mha_view_host(data, MHA_DTYPE_F32, 4, (int64_t[]){a, b, c, d});
}

static void run(mha_core_args *args)
{
    mha_status status = mha_core_forward(g_backend, args);
    if (status != MHA_STATUS_OK)
        fail_msg("mha_core_forward on %s: %s: %s", g_spec, mha_status_name(status),
                 mha_last_error());
}

static void assert_close(const char *what, const float *got, const float *want, size_t count,
                         double atol, double rtol)
{
    for (size_t i = 0; i < count; ++i) {
        double difference = fabs((double)got[i] - (double)want[i]);
        if (!(difference <= atol + rtol * fabs((double)want[i])))
            fail_msg("%s[%zu]: %.9g but expected %.9g", what, i, (double)got[i],
                     (double)want[i]);
    }
}

/* GQA: Hq = 6 query heads over Hkv = 2 KV heads equals the call with each KV
 * head repeated 3 times (heads 0-2 read KV head 0, 3-5 KV head 1). */
static void gqa_equals_repeated_kv_heads(void **state)
{
    (void)state;
    enum { B = 2, Hq = 6, Hkv = 2, L = 3, S = 5, D = 4, Dv = 3 };
    float *q = random_floats(B * Hq * L * D), *k = random_floats(B * Hkv * S * D),
          *v = random_floats(B * Hkv * S * Dv);
    float *k_rep = zeros(B * Hq * S * D), *v_rep = zeros(B * Hq * S * Dv);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < Hq; ++h) {
            memcpy(k_rep + ((b * Hq + h) * S) * D, k + ((b * Hkv + h / 3) * S) * D,
                   S * D * sizeof(float));
            memcpy(v_rep + ((b * Hq + h) * S) * Dv, v + ((b * Hkv + h / 3) * S) * Dv,
                   S * Dv * sizeof(float));
        }
    float *y_gqa = zeros(B * Hq * L * Dv), *y_rep = zeros(B * Hq * L * Dv);
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view4(q, B, Hq, L, D);
    args.k = view4(k, B, Hkv, S, D);
    args.v = view4(v, B, Hkv, S, Dv);
    args.is_causal = true;
    args.softcap = 2.0f;
    args.y = view4(y_gqa, B, Hq, L, Dv);
    run(&args);
    args.k = view4(k_rep, B, Hq, S, D);
    args.v = view4(v_rep, B, Hq, S, Dv);
    args.y = view4(y_rep, B, Hq, L, Dv);
    run(&args);
    assert_close("y", y_gqa, y_rep, B * Hq * L * Dv, 2e-6, 2e-6);
    free(q), free(k), free(v), free(k_rep), free(v_rep), free(y_gqa), free(y_rep);
}

/* Tokens [from, from + count) of a (B, H, N, X) tensor as a strided view
 * into it: no copy. */
static mha_view rows_view(float *data, int64_t B, int64_t H, int64_t N, int64_t X, int64_t from,
                          int64_t count)
{
    mha_view rows = view4(data + from * X, B, H, count, X);
    rows.strides[0] = H * N * X;
    rows.strides[1] = N * X;
    rows.strides[2] = X;
    rows.strides[3] = 1;
    return rows;
}

/* One causal call over N tokens equals prefilling the first few and then
 * decoding one token at a time with the cache: through past/present
 * (copying) and through an in-place cache buffer. */
static void decode_loop_equals_one_causal_call(void **state)
{
    (void)state;
    enum { B = 2, Hq = 4, Hkv = 2, N = 9, PREFILL = 4, D = 8, Dv = 8, CAP = 12 };
    float *q = random_floats(B * Hq * N * D), *k = random_floats(B * Hkv * N * D),
          *v = random_floats(B * Hkv * N * Dv);
    float *y_full = zeros(B * Hq * N * Dv);
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view4(q, B, Hq, N, D);
    args.k = view4(k, B, Hkv, N, D);
    args.v = view4(v, B, Hkv, N, Dv);
    args.is_causal = true;
    args.left_window_size = 5; /* and a window, which must follow the same offset */
    args.y = view4(y_full, B, Hq, N, Dv);
    run(&args);

    for (int in_place = 0; in_place < 2; ++in_place) {
        float *cache_k = zeros(B * Hkv * CAP * D), *cache_v = zeros(B * Hkv * CAP * Dv);
        float *past_k = NULL, *past_v = NULL;
        float *y_step = zeros(B * Hq * N * Dv);
        int64_t length = 0;
        for (int64_t from = 0; from < N; from += from == 0 ? PREFILL : 1) {
            int64_t count = from == 0 ? PREFILL : 1;
            mha_core_args_init(&args);
            args.q = rows_view(q, B, Hq, N, D, from, count);
            args.k = rows_view(k, B, Hkv, N, D, from, count);
            args.v = rows_view(v, B, Hkv, N, Dv, from, count);
            args.is_causal = true;
            args.left_window_size = 5;
            args.y = rows_view(y_step, B, Hq, N, Dv, from, count);
            float *present_k = NULL, *present_v = NULL;
            if (in_place) {
                args.cache_key = view4(cache_k, B, Hkv, CAP, D);
                args.cache_value = view4(cache_v, B, Hkv, CAP, Dv);
                args.cache_length = length;
            } else {
                if (length > 0) {
                    args.past_key = view4(past_k, B, Hkv, length, D);
                    args.past_value = view4(past_v, B, Hkv, length, Dv);
                }
                present_k = zeros(B * Hkv * (length + count) * D);
                present_v = zeros(B * Hkv * (length + count) * Dv);
                args.present_key = view4(present_k, B, Hkv, length + count, D);
                args.present_value = view4(present_v, B, Hkv, length + count, Dv);
            }
            run(&args);
            if (!in_place) {
                free(past_k), free(past_v);
                past_k = present_k;
                past_v = present_v;
            }
            length += count;
        }
        assert_close(in_place ? "y (in-place cache)" : "y (past/present)", y_step, y_full,
                     B * Hq * N * Dv, 2e-6, 2e-6);
        /* The cache holds every token's K and V, in order. */
        const float *final_k = in_place ? cache_k : past_k;
        const int64_t rows = in_place ? CAP : N;
        for (int b = 0; b < B; ++b)
            for (int h = 0; h < Hkv; ++h)
                assert_memory_equal(final_k + ((b * Hkv + h) * rows) * D,
                                    k + ((b * Hkv + h) * N) * D, N * D * sizeof(float));
        free(cache_k), free(cache_v), free(past_k), free(past_v), free(y_step);
    }
    free(q), free(k), free(v), free(y_full);
}

/* nonpad_kv_seqlen[b] = n masks keys j >= n of batch b: the same as a bool
 * (B, 1, 1, S) mask; and with causal, the offset becomes n - L. */
static void nonpad_equals_the_equivalent_mask(void **state)
{
    (void)state;
    enum { B = 3, H = 2, L = 2, S = 7, D = 4 };
    int64_t nonpad[B] = {7, 4, 2};
    float *q = random_floats(B * H * L * D), *k = random_floats(B * H * S * D),
          *v = random_floats(B * H * S * D);
    uint8_t mask[B * S];
    for (int b = 0; b < B; ++b)
        for (int j = 0; j < S; ++j) /* causal from offset n - L as well */
            mask[b * S + j] = j < nonpad[b];
    float *y_nonpad = zeros(B * H * L * D), *y_mask = zeros(B * H * L * D);
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view4(q, B, H, L, D);
    args.k = view4(k, B, H, S, D);
    args.v = view4(v, B, H, S, D);
    args.nonpad_kv_seqlen = mha_view_host(nonpad, MHA_DTYPE_I64, 1, (int64_t[]){B});
    args.y = view4(y_nonpad, B, H, L, D);
    run(&args);
    mha_core_args_init(&args);
    args.q = view4(q, B, H, L, D);
    args.k = view4(k, B, H, S, D);
    args.v = view4(v, B, H, S, D);
    args.attn_mask = mha_view_host(mask, MHA_DTYPE_BOOL, 4, (int64_t[]){B, 1, 1, S});
    args.y = view4(y_mask, B, H, L, D);
    run(&args);
    assert_close("y", y_nonpad, y_mask, B * H * L * D, 2e-6, 2e-6);

    /* Causal with valid lengths: query i of batch b sees keys j <= i + n - L. */
    uint8_t causal_mask[B * L * S];
    for (int b = 0; b < B; ++b)
        for (int i = 0; i < L; ++i)
            for (int j = 0; j < S; ++j)
                causal_mask[(b * L + i) * S + j] = j < nonpad[b] && j <= i + nonpad[b] - L;
    mha_core_args_init(&args);
    args.q = view4(q, B, H, L, D);
    args.k = view4(k, B, H, S, D);
    args.v = view4(v, B, H, S, D);
    args.nonpad_kv_seqlen = mha_view_host(nonpad, MHA_DTYPE_I64, 1, (int64_t[]){B});
    args.is_causal = true;
    args.y = view4(y_nonpad, B, H, L, D);
    run(&args);
    mha_core_args_init(&args);
    args.q = view4(q, B, H, L, D);
    args.k = view4(k, B, H, S, D);
    args.v = view4(v, B, H, S, D);
    args.attn_mask = mha_view_host(causal_mask, MHA_DTYPE_BOOL, 4, (int64_t[]){B, 1, L, S});
    args.y = view4(y_mask, B, H, L, D);
    run(&args);
    assert_close("y (causal)", y_nonpad, y_mask, B * H * L * D, 2e-6, 2e-6);
    free(q), free(k), free(v), free(y_nonpad), free(y_mask);
}

/* 3-D (B, L, H*D) inputs are the 4-D call on (B, H, L, D); and K and V read
 * in place from one packed (B, S, 2, H, D) buffer through strides. */
static void layouts_and_strides_agree(void **state)
{
    (void)state;
    enum { B = 2, Hq = 4, Hkv = 2, L = 3, S = 5, D = 4 };
    float *q4 = random_floats(B * Hq * L * D), *kv = random_floats(B * S * 2 * Hkv * D);
    float *k4 = zeros(B * Hkv * S * D), *v4 = zeros(B * Hkv * S * D), *q3 = zeros(B * L * Hq * D);
    for (int b = 0; b < B; ++b)
        for (int s = 0; s < S; ++s)
            for (int h = 0; h < Hkv; ++h)
                for (int d = 0; d < D; ++d) {
                    k4[((b * Hkv + h) * S + s) * D + d] = kv[(((b * S + s) * 2 + 0) * Hkv + h) * D + d];
                    v4[((b * Hkv + h) * S + s) * D + d] = kv[(((b * S + s) * 2 + 1) * Hkv + h) * D + d];
                }
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < Hq; ++h)
            for (int i = 0; i < L; ++i)
                memcpy(q3 + ((b * L + i) * Hq + h) * D, q4 + ((b * Hq + h) * L + i) * D,
                       D * sizeof(float));
    float *y4 = zeros(B * Hq * L * D), *y3 = zeros(B * L * Hq * D);
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view4(q4, B, Hq, L, D);
    args.k = view4(k4, B, Hkv, S, D);
    args.v = view4(v4, B, Hkv, S, D);
    args.is_causal = true;
    args.y = view4(y4, B, Hq, L, D);
    run(&args);
    /* 3-D q and y; K and V as strided views of the packed buffer. */
    mha_core_args_init(&args);
    args.q = mha_view_host(q3, MHA_DTYPE_F32, 3, (int64_t[]){B, L, Hq * D});
    args.q_num_heads = Hq;
    args.kv_num_heads = Hkv;
    const int64_t strides[4] = {S * 2 * Hkv * D, 2 * Hkv * D, 1, 0};
    args.k = mha_view_host(kv, MHA_DTYPE_F32, 3, (int64_t[]){B, S, Hkv * D});
    args.v = mha_view_host(kv + Hkv * D, MHA_DTYPE_F32, 3, (int64_t[]){B, S, Hkv * D});
    for (int i = 0; i < 3; ++i)
        args.k.strides[i] = args.v.strides[i] = strides[i];
    args.is_causal = true;
    args.y = mha_view_host(y3, MHA_DTYPE_F32, 3, (int64_t[]){B, L, Hq * D});
    run(&args);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < Hq; ++h)
            for (int i = 0; i < L; ++i)
                assert_close("y (3-D, strided K/V)", y3 + ((b * L + i) * Hq + h) * D,
                             y4 + ((b * Hq + h) * L + i) * D, D, 2e-6, 2e-6);
    free(q4), free(kv), free(k4), free(v4), free(q3), free(y4), free(y3);
}

/* IEEE binary16 of a float (round to nearest even), and back: the test's own
 * conversion, independent of the plugins'. */
static uint16_t to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, magnitude = x & 0x7fffffffu;
    if (magnitude >= 0x47800000u) /* the test's values are small: no inf/NaN */
        fail_msg("to_half: %g is out of range", (double)f);
    if (magnitude < 0x38800000u) { /* subnormal half */
        float scaled = fabsf(f) * 16777216.0f; /* 2^24 */
        return (uint16_t)(sign | (uint32_t)lrintf(scaled));
    }
    uint32_t rounded = magnitude - 0x38000000u;
    uint32_t rest = rounded & 0x1fffu;
    rounded >>= 13;
    if (rest > 0x1000u || (rest == 0x1000u && (rounded & 1)))
        rounded++;
    return (uint16_t)(sign | rounded);
}

static float from_half(uint16_t h)
{
    int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    float value = exponent == 0 ? ldexpf((float)mantissa, -24)
                                : ldexpf((float)(mantissa | 0x400), exponent - 25);
    return (h & 0x8000) ? -value : value;
}

/* float16 storage: the inputs rounded to fp16, computed once stored as fp16
 * and once as float32; the fp16 outputs within fp16's tolerance. */
static void float16_within_tolerance_of_float32(void **state)
{
    (void)state;
    mha_capabilities caps = {.struct_size = sizeof caps};
    assert_int_equal(mha_backend_capabilities(g_backend, &caps), MHA_STATUS_OK);
    if (!(caps.core_dtypes & (1u << MHA_DTYPE_F16)))
        skip();
    enum { B = 2, Hq = 4, Hkv = 2, L = 5, S = 6, P = 3, D = 8 };
    const size_t nq = B * Hq * L * D, nk = B * Hkv * S * D, np = B * Hkv * P * D;
    float *q = random_floats(nq), *k = random_floats(nk), *v = random_floats(nk),
          *pk = random_floats(np), *pv = random_floats(np);
    uint16_t *q16 = malloc(nq * 2), *k16 = malloc(nk * 2), *v16 = malloc(nk * 2),
             *pk16 = malloc(np * 2), *pv16 = malloc(np * 2), *y16 = calloc(nq, 2),
             *present16 = calloc(B * Hkv * (P + S) * D, 2);
    float *y32 = zeros(nq), *present32 = zeros(B * Hkv * (P + S) * D),
          *present_v32 = zeros(B * Hkv * (P + S) * D);
    uint16_t *present_v16 = calloc(B * Hkv * (P + S) * D, 2);
    struct {
        float *data;
        uint16_t *half;
        size_t count;
    } inputs[] = {{q, q16, nq}, {k, k16, nk}, {v, v16, nk}, {pk, pk16, np}, {pv, pv16, np}};
    for (size_t t = 0; t < 5; ++t)
        for (size_t i = 0; i < inputs[t].count; ++i) {
            inputs[t].half[i] = to_half(inputs[t].data[i]);
            inputs[t].data[i] = from_half(inputs[t].half[i]); /* the same values in fp32 */
        }
    /* a float16 mask with float16 inputs */
    uint16_t mask16[L * (P + S)];
    float mask32[L * (P + S)];
    for (int i = 0; i < L * (P + S); ++i) {
        mask16[i] = to_half(0.5f * random_value());
        mask32[i] = from_half(mask16[i]);
    }
    mha_core_args args;
    for (int half = 0; half < 2; ++half) {
        mha_dtype dtype = half ? MHA_DTYPE_F16 : MHA_DTYPE_F32;
        mha_core_args_init(&args);
        args.q = mha_view_host(half ? (void *)q16 : q, dtype, 4, (int64_t[]){B, Hq, L, D});
        args.k = mha_view_host(half ? (void *)k16 : k, dtype, 4, (int64_t[]){B, Hkv, S, D});
        args.v = mha_view_host(half ? (void *)v16 : v, dtype, 4, (int64_t[]){B, Hkv, S, D});
        args.past_key = mha_view_host(half ? (void *)pk16 : pk, dtype, 4, (int64_t[]){B, Hkv, P, D});
        args.past_value = mha_view_host(half ? (void *)pv16 : pv, dtype, 4, (int64_t[]){B, Hkv, P, D});
        args.attn_mask = mha_view_host(half ? (void *)mask16 : mask32, dtype, 2,
                                       (int64_t[]){L, P + S});
        args.is_causal = true;
        args.softcap = 3.0f;
        args.y = mha_view_host(half ? (void *)y16 : y32, dtype, 4, (int64_t[]){B, Hq, L, D});
        args.present_key = mha_view_host(half ? (void *)present16 : present32, dtype, 4,
                                         (int64_t[]){B, Hkv, P + S, D});
        args.present_value = mha_view_host(half ? (void *)present_v16 : present_v32, dtype, 4,
                                           (int64_t[]){B, Hkv, P + S, D});
        run(&args);
    }
    float *y_from16 = zeros(nq);
    for (size_t i = 0; i < nq; ++i)
        y_from16[i] = from_half(y16[i]);
    assert_close("y (float16)", y_from16, y32, nq, 1e-3, 2e-3);
    /* present is a copy: exact */
    for (size_t i = 0; i < (size_t)(B * Hkv * (P + S) * D); ++i)
        assert_true(from_half(present16[i]) == present32[i]);
    free(q), free(k), free(v), free(pk), free(pv), free(q16), free(k16), free(v16), free(pk16),
        free(pv16), free(y16), free(present16), free(y32), free(present32), free(present_v32),
        free(present_v16), free(y_from16);
}

static int open_backend(void **state)
{
    (void)state;
    const char *spec = getenv("MHA_TEST_BACKEND");
    if (spec && *spec)
        g_spec = spec;
    mha_status status = mha_backend_open(g_spec, &g_backend);
    if (status != MHA_STATUS_OK) {
        print_error("backend '%s': %s: %s\n", g_spec, mha_status_name(status), mha_last_error());
        return -1;
    }
    return 0;
}

static int close_backend(void **state)
{
    (void)state;
    mha_backend_close(g_backend);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gqa_equals_repeated_kv_heads),
        cmocka_unit_test(decode_loop_equals_one_causal_call),
        cmocka_unit_test(nonpad_equals_the_equivalent_mask),
        cmocka_unit_test(layouts_and_strides_agree),
        cmocka_unit_test(float16_within_tolerance_of_float32),
    };
    int failed = cmocka_run_group_tests(tests, open_backend, close_backend);
    mha_shutdown();
    return failed;
}
