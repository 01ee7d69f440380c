/* Status codes, names, messages and the per-thread error message. */
#include <pthread.h>

#include "test_common.h"

static void names_and_strings_cover_every_code(void **state)
{
    (void)state;
#define CHECK_CODE(name, code, message)                                    \
    assert_int_equal(MHA_STATUS_##name, code);                             \
    assert_string_equal(mha_status_name(MHA_STATUS_##name), "MHA_STATUS_" #name); \
    assert_string_equal(mha_status_string(MHA_STATUS_##name), message);
    MHA_STATUS_MAP(CHECK_CODE)
#undef CHECK_CODE
    assert_string_equal(mha_status_name((mha_status)9999), "MHA_STATUS_UNKNOWN");
    assert_string_equal(mha_status_string((mha_status)-1), "unknown status code");
}

static void dtype_helpers(void **state)
{
    (void)state;
    assert_string_equal(mha_dtype_name(MHA_DTYPE_F32), "float32");
    assert_string_equal(mha_dtype_name(MHA_DTYPE_BOOL), "bool");
    assert_string_equal(mha_dtype_name((mha_dtype)77), "unknown");
    assert_int_equal(mha_dtype_size(MHA_DTYPE_F32), 4);
    assert_int_equal(mha_dtype_size(MHA_DTYPE_BOOL), 1);
    assert_int_equal(mha_dtype_size(MHA_DTYPE_NONE), 0);
}

static void initialisers_set_sizes_and_defaults(void **state)
{
    (void)state;
    mha_config config;
    mha_config_init(&config, 16, 4);
    assert_int_equal(config.struct_size, sizeof config);
    assert_int_equal(config.embed_dim, 16);
    assert_int_equal(config.num_heads, 4);
    assert_true(config.bias);
    assert_false(config.add_bias_kv || config.add_zero_attn || config.batch_first);
    mha_forward_args args;
    mha_forward_args_init(&args);
    assert_int_equal(args.struct_size, sizeof args);
    assert_true(args.average_attn_weights);
    assert_false(args.need_weights || args.training);
    mha_weights weights;
    mha_weights_init(&weights);
    assert_int_equal(weights.struct_size, sizeof weights);
    assert_null(weights.in_proj_weight);
    /* NULL is accepted and ignored. */
    mha_config_init(NULL, 1, 1);
    mha_forward_args_init(NULL);
    mha_weights_init(NULL);
    int64_t shape[3] = {2, 3, 4};
    float data[24];
    mha_tensor tensor = mha_tensor_f32(data, 3, shape);
    assert_ptr_equal(tensor.data, data);
    assert_int_equal(tensor.rank, 3);
    assert_int_equal(tensor.shape[2], 4);
    assert_int_equal(tensor.dtype, MHA_DTYPE_F32);
    assert_string_not_equal(mha_version_string(), "");
}

static void *fail_on_other_thread(void *unused)
{
    (void)unused;
    mha_backend *backend = NULL;
    mha_backend_open("no_such_plugin_on_thread", &backend);
    return NULL;
}

static void error_message_is_per_thread(void **state)
{
    (void)state;
    assert_status(mha_backend_open("no_such_plugin_here", NULL), MHA_STATUS_NULL_ARGUMENT);
    assert_error_contains("out is NULL");
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, fail_on_other_thread, NULL), 0);
    pthread_join(thread, NULL);
    /* The other thread's failure did not overwrite ours. */
    assert_error_contains("out is NULL");
    /* A successful call clears it. */
    size_t count;
    assert_status(mha_plugin_count(&count), MHA_STATUS_OK);
    assert_string_equal(mha_last_error(), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_and_strings_cover_every_code),
        cmocka_unit_test(dtype_helpers),
        cmocka_unit_test(initialisers_set_sizes_and_defaults),
        cmocka_unit_test(error_message_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
