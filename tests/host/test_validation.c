/*
 * Argument validation: every bad argument gets its own status and a message
 * naming it, and never reaches the plugin. Runs against the stub fixture,
 * whose forward writes the mha_problem it received into attn_output.
 */
#include <math.h>
#include <stdio.h>

#include "stub_layout.h"
#include "test_common.h"

/* A valid call: E = 8, H = 2, N = 2, L = 3, S = 5, layout (L, N, E). */
enum { E = 8, H = 2, N = 2, L = 3, S = 5, BIG = 4096 };
#define UNTOUCHED 12345.0f

typedef struct call {
    mha_config config;
    mha_weights weights;
    mha_forward_args args;
    float query[BIG], key[BIG], value[BIG], mask[BIG], output[BIG], attn[BIG];
    float weight_data[BIG];
} call;

static call the_call;

static void make_valid_call(call *c)
{
    mha_config_init(&c->config, E, H);
    mha_weights_init(&c->weights);
    c->weights.in_proj_weight = c->weight_data;
    c->weights.in_proj_bias = c->weight_data;
    c->weights.out_proj_weight = c->weight_data;
    c->weights.out_proj_bias = c->weight_data;
    mha_forward_args_init(&c->args);
    c->args.query = mha_tensor_f32(c->query, 3, (int64_t[]){L, N, E});
    c->args.key = mha_tensor_f32(c->key, 3, (int64_t[]){S, N, E});
    c->args.value = mha_tensor_f32(c->value, 3, (int64_t[]){S, N, E});
    c->args.attn_output = mha_tensor_f32(c->output, 3, (int64_t[]){L, N, E});
    c->args.attn_weights = mha_tensor_f32(c->attn, 3, (int64_t[]){N, L, S});
    for (int i = 0; i < BIG; ++i)
        c->output[i] = UNTOUCHED;
}

/* Creates on `spec` and runs forward; returns the first failing status. */
static mha_status run_call(const char *spec, call *c)
{
    mha_backend *backend = NULL;
    mha_attention *attention = NULL;
    mha_status status = mha_backend_open(spec, &backend);
    if (status == MHA_STATUS_OK)
        status = mha_attention_create(backend, &c->config, &c->weights, &attention);
    if (status == MHA_STATUS_OK)
        status = mha_attention_forward(attention, &c->args);
    /* Keep the message across the cleanup calls below. */
    char message[1024];
    snprintf(message, sizeof message, "%s", mha_last_error());
    mha_attention_destroy(attention);
    mha_backend_close(backend);
    if (status != MHA_STATUS_OK && !strstr(mha_last_error(), message))
        fail_msg("message changed during cleanup");
    return status;
}

typedef void (*mutator)(call *c);
typedef struct bad_case {
    const char *name;
    const char *spec;
    mutator mutate;
    mha_status expected;
    const char *message;
} bad_case;

/* ---- mutators: each breaks one thing ------------------------------------ */
#define MUTATOR(name, ...) static void name(call *c) { __VA_ARGS__; }
MUTATOR(args_size_zero, c->args.struct_size = 0)
MUTATOR(query_null, c->args.query.data = NULL)
MUTATOR(query_bool, c->args.query.dtype = MHA_DTYPE_BOOL)
MUTATOR(query_rank4, c->args.query.rank = 4)
MUTATOR(query_rank_negative, c->args.query.rank = -1)
MUTATOR(query_zero_dim, c->args.query.shape[0] = 0)
MUTATOR(query_negative_dim, c->args.query.shape[1] = -3)
MUTATOR(query_features, c->args.query.shape[2] = 7)
MUTATOR(key_rank2, c->args.key = mha_tensor_f32(c->key, 2, (int64_t[]){S, E}))
MUTATOR(key_batch, c->args.key.shape[1] = 3)
MUTATOR(value_rows, c->args.value.shape[0] = 6)
MUTATOR(key_features, c->args.key.shape[2] = 7)
MUTATOR(value_features, c->args.value.shape[2] = 9)
MUTATOR(kpm_shape, c->args.key_padding_mask = mha_tensor_f32(c->mask, 2, (int64_t[]){N, 4}))
MUTATOR(kpm_rank3, c->args.key_padding_mask = mha_tensor_f32(c->mask, 3, (int64_t[]){N, S, 1}))
MUTATOR(kpm_f16, c->args.key_padding_mask = mha_tensor_f32(c->mask, 2, (int64_t[]){N, S});
        c->args.key_padding_mask.dtype = MHA_DTYPE_F16)
MUTATOR(kpm_no_dtype, c->args.key_padding_mask.data = c->mask)
MUTATOR(mask2d_shape, c->args.attn_mask = mha_tensor_f32(c->mask, 2, (int64_t[]){L, 4}))
MUTATOR(mask3d_shape, c->args.attn_mask = mha_tensor_f32(c->mask, 3, (int64_t[]){N, L, S}))
MUTATOR(mask_rank1, c->args.attn_mask = mha_tensor_f32(c->mask, 1, (int64_t[]){S}))
MUTATOR(causal_bad, c->args.causal = (mha_causal)7)
MUTATOR(weights_out_null, c->args.need_weights = true; c->args.attn_weights.data = NULL)
MUTATOR(weights_out_shape, c->args.need_weights = true; c->args.attn_weights.shape[2] = 4)
MUTATOR(weights_out_per_head, c->args.need_weights = true; c->args.average_attn_weights = false)
MUTATOR(output_shape, c->args.attn_output.shape[2] = 7)
MUTATOR(output_bool, c->args.attn_output.dtype = MHA_DTYPE_BOOL)
MUTATOR(output_null, c->args.attn_output.data = NULL)
MUTATOR(host_offset, c->args.query.offset = 4)
MUTATOR(device_memory, c->args.key.memory = MHA_MEMORY_OPENCL_BUFFER)
MUTATOR(unknown_extension, static const mha_extension ext = {sizeof ext, 0x1234u, NULL};
        c->args.next = &ext)
MUTATOR(query_overflow, c->args.query.shape[0] = INT64_C(1) << 40;
        c->args.query.shape[1] = INT64_C(1) << 40)
MUTATOR(score_overflow, c->args.query = mha_tensor_f32(c->query, 3, (int64_t[]){INT64_C(1) << 31, 1, E});
        c->args.key = mha_tensor_f32(c->key, 3, (int64_t[]){INT64_C(1) << 31, 1, E});
        c->args.value = c->args.key)
MUTATOR(config_size_zero, c->config.struct_size = 0)
MUTATOR(embed_zero, c->config.embed_dim = 0)
MUTATOR(heads_negative, c->config.num_heads = -1)
MUTATOR(heads_not_divisor, c->config.embed_dim = 10; c->config.num_heads = 3)
MUTATOR(kdim_negative, c->config.kdim = -2)
MUTATOR(dropout_one, c->config.dropout = 1.0f)
MUTATOR(dropout_negative, c->config.dropout = -0.1f)
MUTATOR(dropout_nan, c->config.dropout = NAN)
MUTATOR(embed_huge, c->config.embed_dim = INT64_C(1) << 40; c->config.num_heads = 1)
MUTATOR(weights_size_zero, c->weights.struct_size = 0)
MUTATOR(in_proj_missing, c->weights.in_proj_weight = NULL)
MUTATOR(in_bias_missing, c->weights.in_proj_bias = NULL)
MUTATOR(out_weight_missing, c->weights.out_proj_weight = NULL)
MUTATOR(bias_given_without_bias, c->config.bias = false; c->weights.in_proj_bias = c->weight_data;
        c->weights.out_proj_bias = NULL)
MUTATOR(bias_k_missing, c->config.add_bias_kv = true)
MUTATOR(bias_k_unwanted, c->weights.bias_k = c->weight_data)
MUTATOR(packed_with_kdim, c->config.kdim = 4)
MUTATOR(packed_and_separate, c->weights.q_proj_weight = c->weight_data)
MUTATOR(minimal_bias_kv, c->config.add_bias_kv = true; c->weights.bias_k = c->weight_data;
        c->weights.bias_v = c->weight_data)
MUTATOR(minimal_dropout, c->config.dropout = 0.5f)
MUTATOR(minimal_kdim, c->config.kdim = 4; c->weights.in_proj_weight = NULL;
        c->weights.q_proj_weight = c->weights.k_proj_weight = c->weights.v_proj_weight = c->weight_data)
MUTATOR(minimal_embed, c->config.embed_dim = 128)
MUTATOR(minimal_weights, c->args.need_weights = true)
MUTATOR(minimal_float_mask, c->args.attn_mask = mha_tensor_f32(c->mask, 2, (int64_t[]){L, S}))
MUTATOR(minimal_causal, c->args.causal = MHA_CAUSAL_BOTTOM_RIGHT)
MUTATOR(minimal_long, c->args.query.shape[0] = 17; c->args.attn_output.shape[0] = 17)
MUTATOR(output_is_query, c->args.attn_output.data = c->query)
MUTATOR(output_over_weights, c->args.need_weights = true; c->args.attn_weights.data = c->output + 40)
MUTATOR(weights_over_mask, c->args.attn_mask = mha_tensor_f32(c->mask, 2, (int64_t[]){L, S});
        c->args.need_weights = true; c->args.attn_weights.data = c->mask + 7)
MUTATOR(nothing, (void)c)

static const bad_case bad_cases[] = {
    {"args.struct_size 0", "stub", args_size_zero, MHA_STATUS_INVALID_STRUCT_SIZE,
     "args.struct_size is 0 but must be at least"},
    {"query NULL", "stub", query_null, MHA_STATUS_NULL_ARGUMENT, "query.data is NULL"},
    {"query bool", "stub", query_bool, MHA_STATUS_INVALID_DTYPE, "query.dtype is bool"},
    {"query rank 4", "stub", query_rank4, MHA_STATUS_SHAPE_MISMATCH, "query.rank is 4 but must be 2 or 3"},
    {"query rank -1", "stub", query_rank_negative, MHA_STATUS_SHAPE_MISMATCH, "query.rank is -1"},
    {"query zero dim", "stub", query_zero_dim, MHA_STATUS_INVALID_VALUE,
     "query: shape (0, 2, 8) has a dimension of 0"},
    {"query negative dim", "stub", query_negative_dim, MHA_STATUS_INVALID_VALUE,
     "query: shape (3, -3, 8) has a dimension of -3"},
    {"query features", "stub", query_features, MHA_STATUS_SHAPE_MISMATCH,
     "query: shape (3, 2, 7) has 7 features but embed_dim is 8"},
    {"key rank", "stub", key_rank2, MHA_STATUS_SHAPE_MISMATCH,
     "key: shape (5, 8) has rank 2 but query (3, 2, 8) has rank 3"},
    {"key batch", "stub", key_batch, MHA_STATUS_SHAPE_MISMATCH,
     "key: shape (5, 3, 8) has batch size 3 but query (3, 2, 8) has 2"},
    {"value rows", "stub", value_rows, MHA_STATUS_SHAPE_MISMATCH,
     "value: shape (6, 2, 8) has 6 rows but key (5, 2, 8) has 5"},
    {"key features", "stub", key_features, MHA_STATUS_SHAPE_MISMATCH,
     "key: shape (5, 2, 7) has 7 features but kdim is 8"},
    {"value features", "stub", value_features, MHA_STATUS_SHAPE_MISMATCH,
     "value: shape (5, 2, 9) has 9 features but vdim is 8"},
    {"key_padding_mask shape", "stub", kpm_shape, MHA_STATUS_SHAPE_MISMATCH,
     "key_padding_mask: shape (2, 4) but expected (2, 5) (N, S)"},
    {"key_padding_mask rank", "stub", kpm_rank3, MHA_STATUS_SHAPE_MISMATCH,
     "key_padding_mask.rank is 3 but must be 2"},
    {"key_padding_mask f16", "stub", kpm_f16, MHA_STATUS_INVALID_DTYPE,
     "key_padding_mask.dtype is float16"},
    {"key_padding_mask no dtype", "stub", kpm_no_dtype, MHA_STATUS_INVALID_DTYPE,
     "key_padding_mask.dtype is none"},
    {"attn_mask 2-D shape", "stub", mask2d_shape, MHA_STATUS_SHAPE_MISMATCH,
     "attn_mask: shape (3, 4) but expected (3, 5) (L, S)"},
    {"attn_mask 3-D shape", "stub", mask3d_shape, MHA_STATUS_SHAPE_MISMATCH,
     "attn_mask: shape (2, 3, 5) but expected (4, 3, 5) (N*num_heads, L, S)"},
    {"attn_mask rank 1", "stub", mask_rank1, MHA_STATUS_SHAPE_MISMATCH, "attn_mask.rank is 1"},
    {"causal value", "stub", causal_bad, MHA_STATUS_INVALID_VALUE, "causal is 7"},
    {"attn_weights NULL", "stub", weights_out_null, MHA_STATUS_NULL_ARGUMENT,
     "attn_weights.data is NULL"},
    {"attn_weights shape", "stub", weights_out_shape, MHA_STATUS_SHAPE_MISMATCH,
     "attn_weights: shape (2, 3, 4) but expected (2, 3, 5) (averaged over heads)"},
    {"attn_weights per head", "stub", weights_out_per_head, MHA_STATUS_SHAPE_MISMATCH,
     "attn_weights: shape (2, 3, 5) but expected (2, 2, 3, 5) (per head)"},
    {"attn_output shape", "stub", output_shape, MHA_STATUS_SHAPE_MISMATCH,
     "attn_output: shape (3, 2, 7) but expected (3, 2, 8)"},
    {"attn_output bool", "stub", output_bool, MHA_STATUS_INVALID_DTYPE, "attn_output.dtype is bool"},
    {"attn_output NULL", "stub", output_null, MHA_STATUS_NULL_ARGUMENT, "attn_output.data is NULL"},
    {"host offset", "stub", host_offset, MHA_STATUS_INVALID_VALUE,
     "query.offset is 4 but must be 0 for host memory"},
    {"device memory", "stub", device_memory, MHA_STATUS_UNSUPPORTED, "key.memory is 1"},
    {"unknown extension", "stub", unknown_extension, MHA_STATUS_UNSUPPORTED,
     "args.next: extension type 0x1234 is not supported"},
    {"query overflow", "stub", query_overflow, MHA_STATUS_SIZE_OVERFLOW, "query: shape"},
    {"score overflow", "stub", score_overflow, MHA_STATUS_SIZE_OVERFLOW, "N*H*L*S'"},
    {"config.struct_size 0", "stub", config_size_zero, MHA_STATUS_INVALID_STRUCT_SIZE,
     "config.struct_size is 0"},
    {"embed_dim 0", "stub", embed_zero, MHA_STATUS_INVALID_VALUE, "config.embed_dim is 0 but must be > 0"},
    {"num_heads -1", "stub", heads_negative, MHA_STATUS_INVALID_VALUE, "config.num_heads is -1"},
    {"E % H", "stub", heads_not_divisor, MHA_STATUS_INVALID_VALUE,
     "config.embed_dim 10 is not divisible by config.num_heads 3"},
    {"kdim -2", "stub", kdim_negative, MHA_STATUS_INVALID_VALUE, "config.kdim is -2"},
    {"dropout 1", "stub", dropout_one, MHA_STATUS_INVALID_VALUE, "config.dropout is 1 but must be in [0, 1)"},
    {"dropout -0.1", "stub", dropout_negative, MHA_STATUS_INVALID_VALUE, "config.dropout is -0.1"},
    {"dropout NaN", "stub", dropout_nan, MHA_STATUS_INVALID_VALUE, "config.dropout is nan"},
    {"embed_dim huge", "stub", embed_huge, MHA_STATUS_SIZE_OVERFLOW, "config.embed_dim 1099511627776"},
    {"weights.struct_size 0", "stub", weights_size_zero, MHA_STATUS_INVALID_STRUCT_SIZE,
     "weights.struct_size is 0"},
    {"in_proj_weight missing", "stub", in_proj_missing, MHA_STATUS_NULL_ARGUMENT,
     "weights.in_proj_weight is NULL"},
    {"in_proj_bias missing", "stub", in_bias_missing, MHA_STATUS_NULL_ARGUMENT,
     "weights.in_proj_bias is NULL but config.bias is true"},
    {"out_proj_weight missing", "stub", out_weight_missing, MHA_STATUS_NULL_ARGUMENT,
     "weights.out_proj_weight is NULL"},
    {"bias without config.bias", "stub", bias_given_without_bias, MHA_STATUS_INVALID_VALUE,
     "weights.in_proj_bias is given but config.bias is false"},
    {"bias_k missing", "stub", bias_k_missing, MHA_STATUS_NULL_ARGUMENT,
     "weights.bias_k is NULL but config.add_bias_kv is true"},
    {"bias_k unwanted", "stub", bias_k_unwanted, MHA_STATUS_INVALID_VALUE,
     "weights.bias_k is given but config.add_bias_kv is false"},
    {"in_proj_weight with kdim", "stub", packed_with_kdim, MHA_STATUS_INVALID_VALUE,
     "weights.in_proj_weight is given but kdim or vdim differs from embed_dim"},
    {"in_proj and q_proj", "stub", packed_and_separate, MHA_STATUS_INVALID_VALUE,
     "weights.q_proj_weight is given but in_proj_weight is used"},
    {"minimal: add_bias_kv", "stub:minimal", minimal_bias_kv, MHA_STATUS_UNSUPPORTED,
     "config.add_bias_kv: not supported"},
    {"minimal: dropout", "stub:minimal", minimal_dropout, MHA_STATUS_UNSUPPORTED,
     "dropout is not supported"},
    {"minimal: kdim", "stub:minimal", minimal_kdim, MHA_STATUS_UNSUPPORTED, "config.kdim/vdim"},
    {"minimal: embed_dim", "stub:minimal", minimal_embed, MHA_STATUS_UNSUPPORTED,
     "config.embed_dim is 128 but this backend allows at most 64"},
    {"minimal: need_weights", "stub:minimal", minimal_weights, MHA_STATUS_UNSUPPORTED,
     "need_weights"},
    {"minimal: float mask", "stub:minimal", minimal_float_mask, MHA_STATUS_UNSUPPORTED,
     "attn_mask: 2-D float32 masks are not supported"},
    {"minimal: causal", "stub:minimal", minimal_causal, MHA_STATUS_UNSUPPORTED, "causal"},
    {"minimal: long", "stub:minimal", minimal_long, MHA_STATUS_UNSUPPORTED,
     "sequence length 17 but this backend allows at most 16"},
    {"attn_output is query", "stub", output_is_query, MHA_STATUS_INVALID_VALUE,
     "attn_output overlaps query"},
    {"attn_output overlaps attn_weights", "stub", output_over_weights, MHA_STATUS_INVALID_VALUE,
     "attn_output overlaps attn_weights"},
    {"attn_weights overlaps attn_mask", "stub", weights_over_mask, MHA_STATUS_INVALID_VALUE,
     "attn_weights overlaps attn_mask"},
    {"plugin failure", "stub:fail", nothing, MHA_STATUS_DEVICE_ERROR,
     "stub: forward failed on purpose"},
    {"plugin failure without message", "stub:mute", nothing, MHA_STATUS_DEVICE_ERROR,
     "plugin 'stub' failed in attention_forward"},
};

static void each_bad_argument_gets_its_status(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; ++i) {
        const bad_case *bad = &bad_cases[i];
        make_valid_call(&the_call);
        bad->mutate(&the_call);
        mha_status status = run_call(bad->spec, &the_call);
        const char *message = mha_last_error();
        if (status != bad->expected || !strstr(message, bad->message)) {
            print_error("case '%s': got %s \"%s\", expected %s \"%s\"\n", bad->name,
                        mha_status_name(status), message, mha_status_name(bad->expected),
                        bad->message);
            failures++;
        }
        /* Invalid calls never reach the plugin. */
        if (bad->expected != MHA_STATUS_DEVICE_ERROR && the_call.output[0] != UNTOUCHED) {
            print_error("case '%s': the plugin ran\n", bad->name);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void null_handles(void **state)
{
    (void)state;
    make_valid_call(&the_call);
    mha_backend *backend = NULL;
    mha_attention *attention = NULL;
    assert_status(mha_attention_create(NULL, &the_call.config, &the_call.weights, &attention),
                  MHA_STATUS_NULL_ARGUMENT);
    assert_error_contains("backend is NULL");
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    assert_status(mha_attention_create(backend, NULL, &the_call.weights, &attention),
                  MHA_STATUS_NULL_ARGUMENT);
    assert_error_contains("config is NULL");
    assert_status(mha_attention_create(backend, &the_call.config, NULL, &attention),
                  MHA_STATUS_NULL_ARGUMENT);
    assert_error_contains("weights is NULL");
    assert_status(mha_attention_create(backend, &the_call.config, &the_call.weights, NULL),
                  MHA_STATUS_NULL_ARGUMENT);
    assert_status(mha_attention_forward(NULL, &the_call.args), MHA_STATUS_NULL_ARGUMENT);
    assert_error_contains("attention is NULL");
    assert_status(mha_attention_create(backend, &the_call.config, &the_call.weights, &attention),
                  MHA_STATUS_OK);
    assert_status(mha_attention_forward(attention, NULL), MHA_STATUS_NULL_ARGUMENT);
    assert_error_contains("args is NULL");
    mha_attention_destroy(attention);
    mha_attention_destroy(NULL);
    mha_backend_close(backend);
}

/* Runs a valid call on the stub and returns what the plugin was told. */
static const float *problem_of(call *c)
{
    assert_status(run_call("stub", c), MHA_STATUS_OK);
    return c->output;
}

static void host_derives_the_problem(void **state)
{
    (void)state;
    make_valid_call(&the_call);
    const float *p = problem_of(&the_call);
    assert_int_equal(p[STUB_BATCH], N);
    assert_int_equal(p[STUB_TGT_LEN], L);
    assert_int_equal(p[STUB_SRC_LEN], S);
    assert_int_equal(p[STUB_SRC_LEN_TOTAL], S);
    assert_int_equal(p[STUB_HEAD_DIM], E / H);
    assert_int_equal(p[STUB_KDIM], E);
    assert_int_equal(p[STUB_FLAGS], 1); /* batched only */
    assert_float_equal(p[STUB_SCALE], 0.5f, 1e-7f);

    /* batch_first, self-attention, bias_kv + zero_attn, 3-D mask, dropout. */
    make_valid_call(&the_call);
    the_call.config.batch_first = true;
    the_call.config.add_bias_kv = true;
    the_call.config.add_zero_attn = true;
    the_call.config.dropout = 0.25f;
    the_call.weights.bias_k = the_call.weights.bias_v = the_call.weight_data;
    the_call.args.query = mha_tensor_f32(the_call.query, 3, (int64_t[]){N, L, E});
    the_call.args.key = the_call.args.value = the_call.args.query;
    the_call.args.attn_output = mha_tensor_f32(the_call.output, 3, (int64_t[]){N, L, E});
    the_call.args.attn_mask = mha_tensor_bool((const uint8_t *)the_call.mask, 3,
                                              (int64_t[]){N * H, L, L});
    the_call.args.training = true;
    p = problem_of(&the_call);
    assert_int_equal(p[STUB_SRC_LEN], L);
    assert_int_equal(p[STUB_SRC_LEN_TOTAL], L + 2);
    assert_int_equal(p[STUB_FLAGS], 1 | 2 | 4 | 8 | 16 | 32);

    /* Unbatched, separate kdim/vdim; dropout configured but not training. */
    make_valid_call(&the_call);
    the_call.config.kdim = 3;
    the_call.config.vdim = 5;
    the_call.config.dropout = 0.5f;
    the_call.weights.in_proj_weight = NULL;
    the_call.weights.q_proj_weight = the_call.weights.k_proj_weight =
        the_call.weights.v_proj_weight = the_call.weight_data;
    the_call.args.query = mha_tensor_f32(the_call.query, 2, (int64_t[]){L, E});
    the_call.args.key = mha_tensor_f32(the_call.key, 2, (int64_t[]){S, 3});
    the_call.args.value = mha_tensor_f32(the_call.value, 2, (int64_t[]){S, 5});
    the_call.args.attn_output = mha_tensor_f32(the_call.output, 2, (int64_t[]){L, E});
    the_call.args.key_padding_mask = mha_tensor_bool((const uint8_t *)the_call.mask, 1,
                                                     (int64_t[]){S});
    p = problem_of(&the_call);
    assert_int_equal(p[STUB_BATCH], 1);
    assert_int_equal(p[STUB_KDIM], 3);
    assert_int_equal(p[STUB_VDIM], 5);
    assert_int_equal(p[STUB_FLAGS], 0);

    /* An extension the stub lists is passed through. */
    make_valid_call(&the_call);
    static const mha_extension ext = {sizeof ext, STUB_EXTENSION_TYPE, NULL};
    the_call.args.next = &ext;
    problem_of(&the_call);
}

static void output_shapes_are_reported(void **state)
{
    (void)state;
    make_valid_call(&the_call);
    mha_backend *backend = NULL;
    mha_attention *attention = NULL;
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    assert_status(mha_attention_create(backend, &the_call.config, &the_call.weights, &attention),
                  MHA_STATUS_OK);
    mha_tensor output, weights;
    the_call.args.need_weights = true;
    the_call.args.average_attn_weights = false;
    assert_status(mha_attention_output_shapes(attention, &the_call.args, &output, &weights),
                  MHA_STATUS_OK);
    assert_int_equal(output.rank, 3);
    assert_int_equal(output.shape[0], L);
    assert_int_equal(output.shape[2], E);
    assert_int_equal(weights.rank, 4);
    assert_int_equal(weights.shape[1], H);
    assert_int_equal(weights.shape[3], S);
    the_call.args.need_weights = false;
    assert_status(mha_attention_output_shapes(attention, &the_call.args, NULL, &weights),
                  MHA_STATUS_OK);
    assert_int_equal(weights.dtype, MHA_DTYPE_NONE);
    assert_status(mha_attention_output_shapes(attention, &the_call.args, NULL, NULL),
                  MHA_STATUS_NULL_ARGUMENT);
    /* The stub keeps no statistics: the host says so instead of failing. */
    mha_attention_stats stats = {.struct_size = sizeof stats, .stats_supported = true};
    assert_status(mha_attention_get_stats(attention, &stats), MHA_STATUS_OK);
    assert_false(stats.stats_supported);
    assert_int_equal(stats.stage_count, 0);
    stats.struct_size = 1;
    assert_status(mha_attention_get_stats(attention, &stats), MHA_STATUS_INVALID_STRUCT_SIZE);
    assert_status(mha_attention_get_stats(NULL, &stats), MHA_STATUS_NULL_ARGUMENT);
    mha_attention_destroy(attention);
    mha_backend_close(backend);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_bad_argument_gets_its_status),
        cmocka_unit_test(null_handles),
        cmocka_unit_test(host_derives_the_problem),
        cmocka_unit_test(output_shapes_are_reported),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    mha_shutdown();
    return failed;
}
