/*
 * The ABI rules of docs/abi.md, against the stub fixture: caller structs
 * reach the plugin as the host's full-size copies (older, shorter callers and
 * newer, longer ones), backends live as long as their attention objects,
 * views are checked one way, dtypes and log levels.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, fileno */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stub_layout.h"
#include "test_common.h"

enum { E = 8, H = 2, N = 2, L = 3, S = 5, BIG = 4096 };

static float query[BIG], key[BIG], value[BIG], output[BIG], weight_data[BIG];

static void valid_structs(mha_config *config, mha_weights *weights, mha_forward_args *args)
{
    mha_config_init(config, E, H);
    mha_weights_init(weights);
    weights->in_proj_weight = weights->in_proj_bias = weight_data;
    weights->out_proj_weight = weights->out_proj_bias = weight_data;
    mha_forward_args_init(args);
    args->query = mha_tensor_f32(query, 3, (int64_t[]){L, N, E});
    args->key = mha_tensor_f32(key, 3, (int64_t[]){S, N, E});
    args->value = mha_tensor_f32(value, 3, (int64_t[]){S, N, E});
    args->attn_output = mha_tensor_f32(output, 3, (int64_t[]){L, N, E});
}

/* A copy of `full` in a heap block of exactly `size` bytes with struct_size
 * = size, as a caller built against the header of that size would pass it:
 * a read past it is a heap overflow under AddressSanitizer. */
static void *caller_copy(const void *full, size_t full_size, size_t size)
{
    unsigned char *copy = calloc(1, size);
    assert_non_null(copy);
    memcpy(copy, full, size < full_size ? size : full_size);
    memcpy(copy, &size, sizeof size);
    return copy;
}

/* Runs create + forward on the stub with the given structs; returns the
 * first failing status. */
static mha_status run(const mha_config *config, const mha_weights *weights,
                      const mha_forward_args *args)
{
    mha_backend *backend = NULL;
    mha_attention *attention = NULL;
    mha_status status = mha_backend_open("stub", &backend);
    if (status == MHA_STATUS_OK)
        status = mha_attention_create(backend, config, weights, &attention);
    if (status == MHA_STATUS_OK)
        status = mha_attention_forward(attention, args);
    char message[1024];
    snprintf(message, sizeof message, "%s", mha_last_error());
    mha_attention_destroy(attention);
    mha_backend_close(backend);
    if (status != MHA_STATUS_OK && !strstr(mha_last_error(), message))
        fail_msg("message changed during cleanup");
    return status;
}

static void first_version_callers_reach_the_plugin_as_full_copies(void **state)
{
    (void)state;
    mha_config config;
    mha_weights weights;
    mha_forward_args args;
    valid_structs(&config, &weights, &args);
    /* The caller's args pointer rides along so the stub can compare. */
    stub_caller_args marker = {{sizeof marker, STUB_CALLER_ARGS_TYPE, NULL}, NULL};
    args.next = &marker.header;
    mha_config *old_config = caller_copy(&config, sizeof config, MHA_CONFIG_SIZE_V1);
    mha_weights *old_weights = caller_copy(&weights, sizeof weights, MHA_WEIGHTS_SIZE_V1);
    mha_forward_args *old_args = caller_copy(&args, sizeof args, MHA_FORWARD_ARGS_SIZE_V1);
    marker.caller = old_args;
    assert_status(run(old_config, old_weights, old_args), MHA_STATUS_OK);
    assert_int_equal(output[STUB_ARGS_SIZE], sizeof(mha_forward_args));
    assert_int_equal(output[STUB_ARGS_IS_CALLER], 0);
    assert_int_equal(output[STUB_CONFIG_SIZE], sizeof(mha_config));
    assert_int_equal(output[STUB_WEIGHTS_SIZE], sizeof(mha_weights));
    /* The caller's struct is left as it was. */
    assert_int_equal(old_args->struct_size, MHA_FORWARD_ARGS_SIZE_V1);
    free(old_config);
    free(old_weights);
    free(old_args);
}

static void struct_sizes_outside_the_rules_are_refused(void **state)
{
    (void)state;
    mha_config config;
    mha_weights weights;
    mha_forward_args args;
    valid_structs(&config, &weights, &args);

    /* Shorter than the first published version. */
    mha_forward_args *short_args =
        caller_copy(&args, sizeof args, MHA_FORWARD_ARGS_SIZE_V1 - sizeof(mha_tensor));
    assert_status(run(&config, &weights, short_args), MHA_STATUS_INVALID_STRUCT_SIZE);
    assert_error_contains("args.struct_size is");
    assert_error_contains("(use mha_forward_args_init)");
    free(short_args);
    mha_weights short_weights = weights;
    short_weights.struct_size = sizeof(size_t);
    assert_status(run(&config, &short_weights, &args), MHA_STATUS_INVALID_STRUCT_SIZE);
    assert_error_contains("weights.struct_size");

    /* A newer caller whose extra fields are all zero (their defaults) works... */
    const size_t newer = sizeof(mha_forward_args) + 40;
    mha_forward_args *new_args = caller_copy(&args, sizeof args, newer);
    mha_config *new_config = caller_copy(&config, sizeof config, sizeof config + 8);
    assert_status(run(new_config, &weights, new_args), MHA_STATUS_OK);
    assert_int_equal(output[STUB_ARGS_SIZE], sizeof(mha_forward_args));
    /* ...one that sets a field this libmha does not know is refused, not
     * silently ignored. */
    ((unsigned char *)new_args)[newer - 3] = 1;
    assert_status(run(&config, &weights, new_args), MHA_STATUS_UNSUPPORTED);
    assert_error_contains("a field of a newer mha version");
    ((unsigned char *)new_config)[sizeof config + 1] = 7;
    assert_status(run(new_config, &weights, &args), MHA_STATUS_UNSUPPORTED);
    assert_error_contains("config.struct_size");
    free(new_args);
    free(new_config);

    /* Nonsense sizes (an uninitialised struct). */
    mha_forward_args garbage = args;
    garbage.struct_size = (size_t)1 << 40;
    assert_status(run(&config, &weights, &garbage), MHA_STATUS_INVALID_STRUCT_SIZE);
}

static void backends_live_as_long_as_their_attention_objects(void **state)
{
    (void)state;
    mha_config config;
    mha_weights weights;
    mha_forward_args args;
    valid_structs(&config, &weights, &args);
    mha_backend *backend = NULL;
    mha_attention *first = NULL, *second = NULL;
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    assert_status(mha_attention_create(backend, &config, &weights, &first), MHA_STATUS_OK);
    assert_status(mha_attention_create(backend, &config, &weights, &second), MHA_STATUS_OK);

    /* Closed first (twice, as a careless host might): the objects still run. */
    mha_backend_close(backend);
    mha_backend_close(backend);
    assert_status(mha_attention_forward(first, &args), MHA_STATUS_OK);
    assert_int_equal(output[STUB_BATCH], N);
    /* The backend is still open for mha_shutdown. */
    assert_status(mha_shutdown(), MHA_STATUS_BUSY);
    assert_error_contains("1 backends are still open");
    mha_attention_destroy(first);
    output[STUB_BATCH] = 0;
    assert_status(mha_attention_forward(second, &args), MHA_STATUS_OK);
    assert_int_equal(output[STUB_BATCH], N);
    mha_attention_destroy(second); /* the last reference: the backend goes */
    assert_status(mha_shutdown(), MHA_STATUS_OK);

    /* A backend without objects goes at close. */
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    mha_backend_close(backend);
    assert_status(mha_shutdown(), MHA_STATUS_OK);
}

static void views_are_checked_one_way(void **state)
{
    (void)state;
    static float data[64];
    int64_t elements = -1, extent = -1;

    mha_view dense = mha_view_host(data, MHA_DTYPE_F32, 3, (int64_t[]){2, 3, 4});
    assert_int_equal(dense.struct_size, sizeof(mha_view));
    assert_status(mha_view_check("q", &dense, &elements, &extent), MHA_STATUS_OK);
    assert_int_equal(elements, 24);
    assert_int_equal(extent, 24);

    /* (B, S, H, D) read as (B, H, S, D): strides of the transposed layout. */
    mha_view strided = mha_view_host(data, MHA_DTYPE_F16, 4, (int64_t[]){1, 2, 3, 4});
    strided.strides[0] = 24;
    strided.strides[1] = 4;
    strided.strides[2] = 8;
    strided.strides[3] = 1;
    assert_status(mha_view_check("k", &strided, &elements, &extent), MHA_STATUS_OK);
    assert_int_equal(elements, 24);
    assert_int_equal(extent, 1 * 4 + 2 * 8 + 3 + 1);
    /* A broadcast dimension (stride 0 in a strided view). */
    strided.strides[1] = 0;
    assert_status(mha_view_check("k", &strided, &elements, &extent), MHA_STATUS_OK);
    assert_int_equal(extent, 2 * 8 + 3 + 1);

    /* Empty views are valid: an empty past. */
    mha_view empty = mha_view_host(data, MHA_DTYPE_F32, 4, (int64_t[]){1, 2, 0, 4});
    assert_status(mha_view_check("past_key", &empty, &elements, &extent), MHA_STATUS_OK);
    assert_int_equal(elements, 0);
    assert_int_equal(extent, 0);
    /* Rank 0: a scalar. */
    mha_view scalar = mha_view_host(data, MHA_DTYPE_I64, 0, NULL);
    assert_status(mha_view_check("n", &scalar, &elements, &extent), MHA_STATUS_OK);
    assert_int_equal(elements, 1);
    assert_int_equal(extent, 1);
    mha_view eight = mha_view_host(data, MHA_DTYPE_BOOL, 8, (int64_t[]){1, 1, 1, 1, 1, 1, 2, 3});
    assert_status(mha_view_check("mask", &eight, NULL, NULL), MHA_STATUS_OK);

    mha_view bad = dense;
    bad.struct_size = 0;
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_INVALID_STRUCT_SIZE);
    assert_error_contains("q.struct_size is 0");
    bad = dense;
    bad.rank = MHA_VIEW_MAX_RANK + 1;
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_SHAPE_MISMATCH);
    assert_error_contains("q.rank is 9 but must be 0 to 8");
    bad = dense;
    bad.shape[1] = -3;
    assert_status(mha_view_check("v", &bad, NULL, NULL), MHA_STATUS_INVALID_VALUE);
    assert_error_contains("v.shape[1] is -3");
    bad = strided;
    bad.strides[2] = -8;
    assert_status(mha_view_check("k", &bad, NULL, NULL), MHA_STATUS_INVALID_VALUE);
    assert_error_contains("k.strides[2] is -8");
    bad = dense;
    bad.dtype = (mha_dtype)99;
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_INVALID_DTYPE);
    bad = dense;
    bad.data = NULL;
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_NULL_ARGUMENT);
    bad = dense;
    bad.offset = 4;
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_INVALID_VALUE);
    assert_error_contains("q.offset is 4 but must be 0 for host memory");
    static const mha_extension ext = {sizeof ext, 1, NULL};
    bad = dense;
    bad.next = &ext;
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_UNSUPPORTED);
    bad = mha_view_host(data, MHA_DTYPE_I64, 3, (int64_t[]){INT64_MAX / 2, 4, 1});
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_SIZE_OVERFLOW);
    bad = mha_view_host(data, MHA_DTYPE_I64, 2, (int64_t[]){(int64_t)1 << 60, 2});
    assert_status(mha_view_check("q", &bad, NULL, NULL), MHA_STATUS_SIZE_OVERFLOW);
    assert_status(mha_view_check("q", NULL, NULL, NULL), MHA_STATUS_NULL_ARGUMENT);

    mha_view absent;
    mha_view_init(&absent);
    assert_null(absent.data);
    assert_int_equal(absent.struct_size, sizeof absent);
}

static void every_dtype_has_a_name_and_a_size(void **state)
{
    (void)state;
    static const struct {
        mha_dtype dtype;
        const char *name;
        size_t size;
    } expected[] = {
        {MHA_DTYPE_F32, "float32", 4}, {MHA_DTYPE_BOOL, "bool", 1},
        {MHA_DTYPE_F16, "float16", 2}, {MHA_DTYPE_BF16, "bfloat16", 2},
        {MHA_DTYPE_I32, "int32", 4},   {MHA_DTYPE_I64, "int64", 8},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; ++i) {
        assert_string_equal(mha_dtype_name(expected[i].dtype), expected[i].name);
        assert_int_equal(mha_dtype_size(expected[i].dtype), expected[i].size);
    }
    assert_int_equal(mha_dtype_size(MHA_DTYPE_NONE), 0);
    assert_string_equal(mha_dtype_name((mha_dtype)77), "unknown");
}

typedef struct log_record {
    int count;
    mha_log_level level;
    char message[256];
} log_record;

static void record_level(mha_log_level level, const char *message, void *user)
{
    log_record *record = user;
    if (!strstr(message, "stub: opened device"))
        return;
    record->count++;
    record->level = level;
    snprintf(record->message, sizeof record->message, "%s", message);
}

static void record_plain(const char *message, void *user)
{
    log_record *record = user;
    if (strstr(message, "stub: opened device"))
        record->count++;
}

static void open_and_close_stub(void)
{
    mha_backend *backend = NULL;
    assert_status(mha_backend_open("stub:full", &backend), MHA_STATUS_OK);
    mha_backend_close(backend);
}

static void log_messages_carry_their_level(void **state)
{
    (void)state;
    log_record leveled = {0}, plain = {0};
    mha_set_log_level_callback(record_level, &leveled);
    open_and_close_stub();
    assert_int_equal(leveled.count, 1);
    assert_int_equal(leveled.level, MHA_LOG_INFO);
    assert_string_equal(leveled.message, "stub: opened device 'full'");

    /* The plain callback replaces the leveled one and sees the same text. */
    mha_set_log_callback(record_plain, &plain);
    open_and_close_stub();
    assert_int_equal(plain.count, 1);
    assert_int_equal(leveled.count, 1);
    mha_set_log_callback(NULL, NULL);
}

/* Runs open_and_close_stub with stderr sent to a file; returns what was
 * written there. */
static char *stderr_of_open(char *buf, size_t size)
{
    char path[] = "/tmp/mha-test-abi-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(fileno(stderr));
    assert_true(saved >= 0);
    assert_true(dup2(fd, fileno(stderr)) >= 0);
    open_and_close_stub();
    fflush(stderr);
    assert_true(dup2(saved, fileno(stderr)) >= 0);
    close(saved);
    ssize_t got = pread(fd, buf, size - 1, 0);
    buf[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
    return buf;
}

static void mha_trace_prints_when_no_callback_is_set(void **state)
{
    (void)state;
    char text[4096];
    mha_set_log_callback(NULL, NULL);
    unsetenv("MHA_TRACE");
    assert_string_equal(stderr_of_open(text, sizeof text), "");
    setenv("MHA_TRACE", "0", 1);
    assert_string_equal(stderr_of_open(text, sizeof text), "");
    setenv("MHA_TRACE", "1", 1);
    assert_non_null(strstr(stderr_of_open(text, sizeof text), "[mha info] stub: opened device 'full'\n"));
    /* An installed callback takes the messages instead. */
    log_record plain = {0};
    mha_set_log_callback(record_plain, &plain);
    assert_string_equal(stderr_of_open(text, sizeof text), "");
    assert_int_equal(plain.count, 1);
    mha_set_log_callback(NULL, NULL);
    unsetenv("MHA_TRACE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_version_callers_reach_the_plugin_as_full_copies),
        cmocka_unit_test(struct_sizes_outside_the_rules_are_refused),
        cmocka_unit_test(backends_live_as_long_as_their_attention_objects),
        cmocka_unit_test(views_are_checked_one_way),
        cmocka_unit_test(every_dtype_has_a_name_and_a_size),
        cmocka_unit_test(log_messages_carry_their_level),
        cmocka_unit_test(mha_trace_prints_when_no_callback_is_set),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    mha_shutdown();
    return failed;
}
