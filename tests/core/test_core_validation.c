/*
 * test_core_validation.c - every bad argument of mha_core_forward gets its
 * own status and a message naming the argument with the expected and actual
 * values, and never reaches the plugin: a table of mutations of one valid
 * call, run on the reference plugin (whose core accepts every feature, so
 * each refusal is the host's validation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "mha/core.h"

/* A valid call: B = 2, Hq = 4, Hkv = 2, L = 3, S = 5, P = 2, D = 4, Dv = 3. */
enum { B = 2, HQ = 4, HKV = 2, L = 3, S = 5, P = 2, D = 4, DV = 3, T = P + S, BIG = 4096 };

typedef struct call {
    mha_core_args args;
    float q[BIG], k[BIG], v[BIG], past_k[BIG], past_v[BIG], y[BIG], present_k[BIG],
        present_v[BIG], qk[BIG], mask[BIG];
    int64_t nonpad[B];
} call;

static call the_call;
static mha_backend *g_backend;

static mha_view view4(float *data, int64_t a, int64_t b, int64_t c, int64_t d)
{
    return mha_view_host(data, MHA_DTYPE_F32, 4, (int64_t[]){a, b, c, d});
}

static void make_valid_call(call *c)
{
    memset(c, 0, sizeof *c);
    mha_core_args_init(&c->args);
    c->args.q = view4(c->q, B, HQ, L, D);
    c->args.k = view4(c->k, B, HKV, S, D);
    c->args.v = view4(c->v, B, HKV, S, DV);
    c->args.past_key = view4(c->past_k, B, HKV, P, D);
    c->args.past_value = view4(c->past_v, B, HKV, P, DV);
    c->args.y = view4(c->y, B, HQ, L, DV);
    c->args.present_key = view4(c->present_k, B, HKV, T, D);
    c->args.present_value = view4(c->present_v, B, HKV, T, DV);
    c->args.qk_matmul_output = view4(c->qk, B, HQ, L, T);
    c->args.attn_mask = mha_view_host(c->mask, MHA_DTYPE_F32, 2, (int64_t[]){L, T});
    c->nonpad[0] = S;
    c->nonpad[1] = 1;
}

typedef void (*mutator)(call *c);
typedef struct bad_case {
    const char *name;
    mutator mutate;
    mha_status expected;
    const char *message;
} bad_case;

#define MUTATOR(name, ...) static void name(call *c) { __VA_ARGS__; }
MUTATOR(args_size_zero, c->args.struct_size = 0)
MUTATOR(q_null, c->args.q.data = NULL)
MUTATOR(q_view_size, c->args.q.struct_size = 8)
MUTATOR(q_bool, c->args.q.dtype = MHA_DTYPE_BOOL)
MUTATOR(q_int64, c->args.q.dtype = MHA_DTYPE_I64)
MUTATOR(k_f16, c->args.k.dtype = MHA_DTYPE_F16)
MUTATOR(q_rank2, c->args.q = mha_view_host(c->q, MHA_DTYPE_F32, 2, (int64_t[]){L, D}))
MUTATOR(k_rank3, c->args.k = mha_view_host(c->k, MHA_DTYPE_F32, 3, (int64_t[]){B, S, HKV * D}))
MUTATOR(heads_not_multiple, c->args.k = view4(c->k, B, 3, S, D); c->args.v = view4(c->v, B, 3, S, DV))
MUTATOR(head_size, c->args.k = view4(c->k, B, HKV, S, D + 1))
MUTATOR(v_rows, c->args.v = view4(c->v, B, HKV, S + 1, DV))
MUTATOR(k_batch, c->args.k = view4(c->k, B + 1, HKV, S, D))
MUTATOR(heads_given_4d, c->args.q_num_heads = 5)
MUTATOR(three_d_no_heads, c->args.q = mha_view_host(c->q, MHA_DTYPE_F32, 3, (int64_t[]){B, L, HQ * D});
        c->args.k = mha_view_host(c->k, MHA_DTYPE_F32, 3, (int64_t[]){B, S, HKV * D});
        c->args.v = mha_view_host(c->v, MHA_DTYPE_F32, 3, (int64_t[]){B, S, HKV * DV}))
MUTATOR(three_d_features, three_d_no_heads(c); c->args.q_num_heads = 3; c->args.kv_num_heads = 2)
MUTATOR(negative_stride, c->args.k.strides[0] = -1; c->args.k.strides[1] = S * D;
        c->args.k.strides[2] = D; c->args.k.strides[3] = 1)
MUTATOR(past_alone, c->args.past_value.data = NULL)
MUTATOR(present_alone, c->args.present_key.data = NULL)
MUTATOR(past_shape, c->args.past_key = view4(c->past_k, B, HKV, P + 1, D))
MUTATOR(present_rows, c->args.present_key = view4(c->present_k, B, HKV, S, D))
MUTATOR(nonpad_with_past, c->args.nonpad_kv_seqlen = mha_view_host(c->nonpad, MHA_DTYPE_I64, 1, (int64_t[]){B}))
MUTATOR(nonpad_value, c->args.past_key.data = c->args.past_value.data = NULL;
        c->args.present_key.data = c->args.present_value.data = NULL;
        c->args.qk_matmul_output.data = NULL; c->args.attn_mask.data = NULL;
        c->nonpad[1] = S + 1;
        c->args.nonpad_kv_seqlen = mha_view_host(c->nonpad, MHA_DTYPE_I64, 1, (int64_t[]){B}))
MUTATOR(nonpad_float, c->args.past_key.data = c->args.past_value.data = NULL;
        c->args.present_key.data = c->args.present_value.data = NULL;
        c->args.qk_matmul_output.data = NULL; c->args.attn_mask.data = NULL;
        c->args.nonpad_kv_seqlen = mha_view_host(c->nonpad, MHA_DTYPE_F32, 1, (int64_t[]){B}))
MUTATOR(mask_rank5, c->args.attn_mask = mha_view_host(c->mask, MHA_DTYPE_F32, 5, (int64_t[]){1, B, HQ, L, T}))
MUTATOR(mask_long, c->args.attn_mask = mha_view_host(c->mask, MHA_DTYPE_F32, 2, (int64_t[]){L, T + 1}))
MUTATOR(mask_rows, c->args.attn_mask = mha_view_host(c->mask, MHA_DTYPE_F32, 2, (int64_t[]){2, T}))
MUTATOR(mask_heads, c->args.attn_mask = mha_view_host(c->mask, MHA_DTYPE_F32, 3, (int64_t[]){HKV, L, T}))
MUTATOR(mask_int, c->args.attn_mask.dtype = MHA_DTYPE_I32)
MUTATOR(mask_polarity, c->args.mask_polarity = (mha_bool_polarity)7)
MUTATOR(scale_negative, c->args.scale = -1.0f)
MUTATOR(scale_nan, c->args.scale = NAN)
MUTATOR(softcap_negative, c->args.softcap = -2.0f)
MUTATOR(window_left, c->args.left_window_size = -2)
MUTATOR(window_right, c->args.right_window_size = -5)
MUTATOR(qk_mode, c->args.qk_matmul_output_mode = 4)
MUTATOR(qk_shape, c->args.qk_matmul_output = view4(c->qk, B, HQ, L, S))
MUTATOR(y_shape, c->args.y = view4(c->y, B, HQ, L, D))
MUTATOR(y_f16, c->args.y.dtype = MHA_DTYPE_F16)
MUTATOR(y_over_q, c->args.y.data = c->q)
MUTATOR(present_over_qk, c->args.present_value.data = c->qk)
MUTATOR(cache_with_past, c->args.cache_key = view4(c->present_k, B, HKV, 16, D);
        c->args.cache_value = view4(c->present_v, B, HKV, 16, DV))
MUTATOR(cache_full, c->args.past_key.data = c->args.past_value.data = NULL;
        c->args.present_key.data = c->args.present_value.data = NULL;
        c->args.qk_matmul_output.data = NULL; c->args.attn_mask.data = NULL;
        c->args.cache_key = view4(c->present_k, B, HKV, 8, D);
        c->args.cache_value = view4(c->present_v, B, HKV, 8, DV); c->args.cache_length = 4)
MUTATOR(cache_length_alone, c->args.cache_length = 3)
MUTATOR(cache_over_k, cache_full(c); c->args.cache_length = 0;
        c->args.cache_key = view4(c->k, B, HKV, 8, D))
MUTATOR(unknown_extension, static const mha_extension ext = {sizeof ext, 0x99u, NULL};
        c->args.next = &ext)
MUTATOR(huge_view, c->args.q.shape[0] = INT64_C(1) << 40; c->args.q.shape[2] = INT64_C(1) << 40)

static const bad_case bad_cases[] = {
    {"args.struct_size 0", args_size_zero, MHA_STATUS_INVALID_STRUCT_SIZE, "args.struct_size is 0"},
    {"q NULL", q_null, MHA_STATUS_NULL_ARGUMENT, "q.data is NULL"},
    {"q view struct_size", q_view_size, MHA_STATUS_INVALID_STRUCT_SIZE, "q.struct_size is 8"},
    {"q bool", q_bool, MHA_STATUS_INVALID_DTYPE, "q.dtype is bool"},
    {"q int64", q_int64, MHA_STATUS_INVALID_DTYPE, "q.dtype is int64"},
    {"k float16 with float32 q", k_f16, MHA_STATUS_INVALID_DTYPE, "k.dtype is float16"},
    {"q rank 2", q_rank2, MHA_STATUS_SHAPE_MISMATCH, "q.rank is 2 but must be 3 or 4"},
    {"k rank 3 with q rank 4", k_rank3, MHA_STATUS_SHAPE_MISMATCH, "k: rank 3 but q (2, 4, 3, 4) has rank 4"},
    {"heads not a multiple", heads_not_multiple, MHA_STATUS_SHAPE_MISMATCH,
     "q has 4 heads and k 3: the query heads must be a positive multiple of the KV heads"},
    {"head size", head_size, MHA_STATUS_SHAPE_MISMATCH, "k: shape (2, 2, 5, 5) but expected (2, 2, 5, 4)"},
    {"v rows", v_rows, MHA_STATUS_SHAPE_MISMATCH, "v: shape (2, 2, 6, 3) but expected (2, 2, 5, 3)"},
    {"k batch", k_batch, MHA_STATUS_SHAPE_MISMATCH, "k: shape (3, 2, 5, 4) but expected (2, 2, 5, 4)"},
    {"heads given with 4-D", heads_given_4d, MHA_STATUS_INVALID_VALUE,
     "q_num_heads 5 / kv_num_heads 0 disagree with q (2, 4, 3, 4)"},
    {"3-D without heads", three_d_no_heads, MHA_STATUS_INVALID_VALUE,
     "q_num_heads is 0 and kv_num_heads is 0 but 3-D inputs need both > 0"},
    {"3-D features", three_d_features, MHA_STATUS_SHAPE_MISMATCH,
     "q: shape (2, 3, 16) has 16 features, not a positive multiple of its 3 heads"},
    {"negative stride", negative_stride, MHA_STATUS_INVALID_VALUE, "k.strides[0] is -1"},
    {"past_key alone", past_alone, MHA_STATUS_NULL_ARGUMENT, "past_key and past_value: give both or neither"},
    {"present_value alone", present_alone, MHA_STATUS_NULL_ARGUMENT, "present_key and present_value: give both"},
    {"past shape", past_shape, MHA_STATUS_SHAPE_MISMATCH, "past_value: shape (2, 2, 2, 3) but expected (2, 2, 3, 3)"},
    {"present rows", present_rows, MHA_STATUS_SHAPE_MISMATCH,
     "present_key: shape (2, 2, 5, 4) but expected (2, 2, 7, 4) (B, Hkv, P + S, D)"},
    {"nonpad with past", nonpad_with_past, MHA_STATUS_INVALID_VALUE,
     "nonpad_kv_seqlen cannot be combined with past_key"},
    {"nonpad value", nonpad_value, MHA_STATUS_INVALID_VALUE, "nonpad_kv_seqlen[1] is 6 but must be in [0, 5]"},
    {"nonpad float", nonpad_float, MHA_STATUS_INVALID_DTYPE, "nonpad_kv_seqlen.dtype is float32"},
    {"mask rank 5", mask_rank5, MHA_STATUS_SHAPE_MISMATCH, "attn_mask.rank is 5 but must be 1 to 4"},
    {"mask longer than P+S", mask_long, MHA_STATUS_SHAPE_MISMATCH,
     "attn_mask: shape (3, 8) has 8 key columns but must have 1 to P + S = 7"},
    {"mask rows", mask_rows, MHA_STATUS_SHAPE_MISMATCH,
     "attn_mask: shape (2, 7) does not broadcast to (2, 4, 3, 7): dimension 0 is 2 but must be 1 or L = 3"},
    {"mask heads", mask_heads, MHA_STATUS_SHAPE_MISMATCH, "dimension 0 is 2 but must be 1 or Hq = 4"},
    {"mask int32", mask_int, MHA_STATUS_INVALID_DTYPE, "attn_mask.dtype is int32"},
    {"mask polarity", mask_polarity, MHA_STATUS_INVALID_VALUE, "mask_polarity is 7"},
    {"scale -1", scale_negative, MHA_STATUS_INVALID_VALUE, "scale is -1 but must be > 0"},
    {"scale NaN", scale_nan, MHA_STATUS_INVALID_VALUE, "scale is nan"},
    {"softcap -2", softcap_negative, MHA_STATUS_INVALID_VALUE, "softcap is -2 but must be >= 0"},
    {"left window -2", window_left, MHA_STATUS_INVALID_VALUE, "left_window_size is -2 but must be -1"},
    {"right window -5", window_right, MHA_STATUS_INVALID_VALUE, "right_window_size is -5"},
    {"qk mode 4", qk_mode, MHA_STATUS_INVALID_VALUE, "qk_matmul_output_mode is 4 but must be 0, 1, 2 or 3"},
    {"qk shape", qk_shape, MHA_STATUS_SHAPE_MISMATCH,
     "qk_matmul_output: shape (2, 4, 3, 5) but expected (2, 4, 3, 7) (B, Hq, L, P + S)"},
    {"y shape", y_shape, MHA_STATUS_SHAPE_MISMATCH, "y: shape (2, 4, 3, 4) but expected (2, 4, 3, 3)"},
    {"y float16", y_f16, MHA_STATUS_INVALID_DTYPE, "y.dtype is float16"},
    {"y over q", y_over_q, MHA_STATUS_INVALID_VALUE, "y overlaps q"},
    {"present over qk", present_over_qk, MHA_STATUS_INVALID_VALUE,
     "present_value overlaps qk_matmul_output"},
    {"cache and past", cache_with_past, MHA_STATUS_INVALID_VALUE,
     "cache_key/cache_value and past_key/present_key are two ways"},
    {"cache too small", cache_full, MHA_STATUS_INVALID_VALUE,
     "cache_length is 4 but must be in [0, 3]: the cache holds 8 rows and the call adds 5"},
    {"cache_length without cache", cache_length_alone, MHA_STATUS_INVALID_VALUE,
     "cache_length is 3 but no cache_key/cache_value is given"},
    {"cache over k", cache_over_k, MHA_STATUS_INVALID_VALUE, "present_key overlaps k"},
    {"unknown extension", unknown_extension, MHA_STATUS_UNSUPPORTED, "extension type 0x99"},
    {"huge view", huge_view, MHA_STATUS_SIZE_OVERFLOW, "q: its shape and strides reach past"},
};

static void the_valid_call_runs(void **state)
{
    (void)state;
    make_valid_call(&the_call);
    mha_status status = mha_core_forward(g_backend, &the_call.args);
    if (status != MHA_STATUS_OK)
        fail_msg("the valid call: %s: %s", mha_status_name(status), mha_last_error());
}

static void each_bad_argument_gets_its_status(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; ++i) {
        make_valid_call(&the_call);
        for (int e = 0; e < BIG; ++e)
            the_call.y[e] = 12345.0f;
        bad_cases[i].mutate(&the_call);
        mha_status status = mha_core_forward(g_backend, &the_call.args);
        const char *message = mha_last_error();
        if (status != bad_cases[i].expected || !strstr(message, bad_cases[i].message)) {
            print_error("%s: got %s \"%s\", expected %s \"%s\"\n", bad_cases[i].name,
                        mha_status_name(status), message,
                        mha_status_name(bad_cases[i].expected), bad_cases[i].message);
            failures++;
        } else if (the_call.y[0] != 12345.0f) {
            print_error("%s: the plugin ran and wrote y\n", bad_cases[i].name);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
    print_message("%zu bad calls, each refused with its status and message\n",
                  sizeof bad_cases / sizeof bad_cases[0]);
}

static void null_handles_and_init(void **state)
{
    (void)state;
    make_valid_call(&the_call);
    assert_int_equal(mha_core_forward(NULL, &the_call.args), MHA_STATUS_NULL_ARGUMENT);
    assert_int_equal(mha_core_forward(g_backend, NULL), MHA_STATUS_NULL_ARGUMENT);
    mha_core_args args;
    mha_core_args_init(&args);
    assert_int_equal(args.struct_size, sizeof args);
    assert_int_equal(args.left_window_size, -1);
    assert_int_equal(args.right_window_size, -1);
    assert_int_equal(args.q.struct_size, sizeof(mha_view));
    assert_null(args.q.data);
    mha_core_args_init(NULL);
    /* The capabilities say what the core does. */
    mha_capabilities caps = {.struct_size = sizeof caps};
    assert_int_equal(mha_backend_capabilities(g_backend, &caps), MHA_STATUS_OK);
    assert_int_equal(caps.core_features, MHA_CORE_ALL);
    assert_true(caps.core_dtypes & (1u << MHA_DTYPE_F16));
    /* An ABI 1.0 caller's capabilities struct does not receive them. */
    unsigned char old[MHA_CAPABILITIES_SIZE_V1 + 8];
    memset(old, 0xab, sizeof old);
    mha_capabilities *small = (mha_capabilities *)(void *)old;
    size_t size_v1 = MHA_CAPABILITIES_SIZE_V1;
    memcpy(&small->struct_size, &size_v1, sizeof size_v1);
    assert_int_equal(mha_backend_capabilities(g_backend, small), MHA_STATUS_OK);
    assert_int_equal(old[MHA_CAPABILITIES_SIZE_V1], 0xab);
}

static int open_backend(void **state)
{
    (void)state;
    return mha_backend_open("reference", &g_backend) == MHA_STATUS_OK ? 0 : -1;
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
        cmocka_unit_test(the_valid_call_runs),
        cmocka_unit_test(each_bad_argument_gets_its_status),
        cmocka_unit_test(null_handles_and_init),
    };
    int failed = cmocka_run_group_tests(tests, open_backend, close_backend);
    mha_shutdown();
    return failed;
}
