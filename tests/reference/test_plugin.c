/*
 * test_plugin.c - the built plugin module as the host sees it: loaded with
 * dlopen (path in argv[1]), only mha_plugin_entry exported, the handshake,
 * describe, its one device, device specs, capabilities, a forward through the
 * table, and out-of-memory in context creation. No libmha involved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "fake_host.h"
#include "ref_case.h"

static const char *g_path;
static void *g_library;
static const mha_plugin_i *g_plugin;

static int load_plugin(void **state)
{
    (void)state;
    g_library = dlopen(g_path, RTLD_NOW | RTLD_LOCAL);
    if (g_library == NULL) {
        fprintf(stderr, "dlopen(%s): %s\n", g_path, dlerror());
        return -1;
    }
    void *symbol = dlsym(g_library, MHA_PLUGIN_ENTRY_SYMBOL);
    if (symbol == NULL)
        return -1;
    mha_plugin_entry_fn entry;
    memcpy(&entry, &symbol, sizeof entry); /* object to function pointer, POSIX-style */

    /* Refused: no host, or a host of another ABI major. */
    if (entry(NULL) != NULL)
        return -1;
    mha_host_services other = fake_host;
    other.abi_major = MHA_PLUGIN_ABI_MAJOR + 1;
    if (entry(&other) != NULL)
        return -1;

    fake_host_reset();
    g_plugin = entry(&fake_host);
    return g_plugin != NULL ? 0 : -1;
}

static int unload_plugin(void **state)
{
    (void)state;
    if (g_plugin != NULL && g_plugin->shutdown != NULL)
        g_plugin->shutdown();
    if (g_library != NULL)
        dlclose(g_library);
    return 0;
}

static void test_exports_only_entry(void **state)
{
    (void)state;
    assert_non_null(dlsym(g_library, "mha_plugin_entry"));
    assert_null(dlsym(g_library, "mha_ref_attention_create"));
    assert_null(dlsym(g_library, "mha_ref_attention_forward"));
}

static void test_table_and_describe(void **state)
{
    (void)state;
    assert_int_equal(g_plugin->struct_size, sizeof(mha_plugin_i));
    assert_int_equal(g_plugin->abi_major, MHA_PLUGIN_ABI_MAJOR);
    assert_int_equal(g_plugin->abi_minor, MHA_PLUGIN_ABI_MINOR);
    assert_non_null(g_plugin->describe);
    assert_non_null(g_plugin->device_count);
    assert_non_null(g_plugin->device_info);
    assert_non_null(g_plugin->context_create);
    assert_non_null(g_plugin->context_destroy);
    assert_non_null(g_plugin->context_capabilities);
    assert_non_null(g_plugin->context_device_info);
    assert_non_null(g_plugin->attention_create);
    assert_non_null(g_plugin->attention_destroy);
    assert_non_null(g_plugin->attention_forward);
    mha_plugin_about about = {.struct_size = sizeof about};
    g_plugin->describe(&about);
    assert_string_equal(about.name, "reference");
    assert_non_null(about.version);
    assert_non_null(about.description);
    assert_non_null(g_plugin->score);
    assert_int_equal(g_plugin->score(), 1);
}

static void test_devices(void **state)
{
    (void)state;
    size_t count = 0;
    assert_int_equal(g_plugin->device_count(&count), MHA_STATUS_OK);
    assert_int_equal(count, 1);
    mha_device_info info;
    memset(&info, 0xab, sizeof info);
    info.struct_size = sizeof info;
    assert_int_equal(g_plugin->device_info(0, &info), MHA_STATUS_OK);
    assert_int_equal(info.struct_size, sizeof info);
    assert_string_equal(info.spec, "0");
    assert_string_equal(info.name, "reference CPU (double accumulation)");
    assert_string_equal(info.kind, "cpu");
    assert_int_equal(g_plugin->device_info(1, &info), MHA_STATUS_NOT_FOUND);
    assert_int_equal(fake_host_status(), MHA_STATUS_NOT_FOUND);

    /* An older, shorter struct: nothing past its struct_size is written. */
    unsigned char buffer[sizeof(mha_device_info)];
    memset(buffer, 0xcd, sizeof buffer);
    size_t short_size = offsetof(mha_device_info, name);
    memcpy(buffer, &short_size, sizeof short_size);
    assert_int_equal(g_plugin->device_info(0, (mha_device_info *)buffer), MHA_STATUS_OK);
    assert_int_equal(buffer[short_size], 0xcd);
    assert_int_equal(buffer[sizeof buffer - 1], 0xcd);
}

static void test_context_specs(void **state)
{
    (void)state;
    const char *good[3] = {"", "0", "cpu"};
    for (int i = 0; i < 3; ++i) {
        void *context = NULL;
        assert_int_equal(g_plugin->context_create(good[i], &context), MHA_STATUS_OK);
        assert_non_null(context);
        mha_device_info info = {.struct_size = sizeof info};
        assert_int_equal(g_plugin->context_device_info(context, &info), MHA_STATUS_OK);
        assert_string_equal(info.kind, "cpu");
        g_plugin->context_destroy(context);
    }
    const char *bad[3] = {"1", "gpu", "cpu0"};
    for (int i = 0; i < 3; ++i) {
        void *context = &context;
        assert_int_equal(g_plugin->context_create(bad[i], &context), MHA_STATUS_NOT_FOUND);
        assert_null(context);
        assert_non_null(strstr(fake_host_message(), bad[i]));
    }
    g_plugin->context_destroy(NULL);
}

static void test_capabilities(void **state)
{
    (void)state;
    void *context = NULL;
    assert_int_equal(g_plugin->context_create("", &context), MHA_STATUS_OK);
    mha_capabilities caps;
    memset(&caps, 0xab, sizeof caps);
    caps.struct_size = sizeof caps;
    assert_int_equal(g_plugin->context_capabilities(context, &caps), MHA_STATUS_OK);
    assert_int_equal(caps.struct_size, sizeof caps);
    assert_null(caps.next);
    assert_int_equal(caps.dtypes, 1u << MHA_DTYPE_F32);
    assert_int_equal(caps.memory_kinds, 1u << MHA_MEMORY_HOST);
    assert_int_equal(caps.mask_kinds, MHA_MASK_ALL);
    assert_true(caps.dropout && caps.need_weights && caps.add_bias_kv && caps.add_zero_attn &&
                caps.separate_kv_dims);
    assert_int_equal(caps.max_embed_dim, 0);
    assert_int_equal(caps.max_sequence, 0);
    assert_int_equal(caps.extension_type_count, 0);
    g_plugin->context_destroy(context);
}

static void test_context_out_of_memory(void **state)
{
    (void)state;
    fake_host_fail_at(1);
    void *context = &context;
    assert_int_equal(g_plugin->context_create("cpu", &context), MHA_STATUS_OUT_OF_MEMORY);
    assert_null(context);
    fake_host_fail_at(0);
}

/* A forward through the table: E = 2, one head, identity weights, two keys
 * with equal scores (so weights 1/2 each). */
static void test_forward_through_table(void **state)
{
    (void)state;
    void *context = NULL;
    assert_int_equal(g_plugin->context_create("cpu", &context), MHA_STATUS_OK);
    mha_config config = ref_config(2, 1);
    config.bias = false;
    float in_proj[12], out_proj[4];
    ref_identity_weights(2, in_proj, out_proj);
    mha_weights weights = {.struct_size = sizeof weights};
    weights.in_proj_weight = in_proj;
    weights.out_proj_weight = out_proj;
    void *attention = NULL;
    assert_int_equal(g_plugin->attention_create(context, &config, &weights, &attention),
                     MHA_STATUS_OK);
    in_proj[0] = 99; /* the plugin keeps its own copy */

    float query[2] = {1, 0}, key[4] = {0, 1, 0, -1}, value[4] = {2, 4, 6, 8};
    float output[2], attn[2];
    mha_problem problem = ref_problem(&config, 1, 1, 2, false);
    mha_forward_args args = ref_args();
    args.query = ref_f32(query, 2, 1, 2, 0, 0);
    args.key = ref_f32(key, 2, 2, 2, 0, 0);
    args.value = ref_f32(value, 2, 2, 2, 0, 0);
    args.attn_output = ref_f32(output, 2, 1, 2, 0, 0);
    args.attn_weights = ref_f32(attn, 2, 1, 2, 0, 0);
    args.need_weights = true;
    assert_int_equal(g_plugin->attention_forward(attention, &problem, &args), MHA_STATUS_OK);
    assert_float_equal(attn[0], 0.5f, 1e-7f);
    assert_float_equal(attn[1], 0.5f, 1e-7f);
    assert_float_equal(output[0], 4.0f, 1e-6f);
    assert_float_equal(output[1], 6.0f, 1e-6f);
    g_plugin->attention_destroy(attention);
    g_plugin->attention_destroy(NULL);
    g_plugin->context_destroy(context);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/libmha_plugin_reference.so\n", argv[0]);
        return 2;
    }
    g_path = argv[1];
#define T(fn) cmocka_unit_test_teardown(fn, fake_host_check_no_leak)
    const struct CMUnitTest tests[] = {
        T(test_exports_only_entry),
        T(test_table_and_describe),
        T(test_devices),
        T(test_context_specs),
        T(test_capabilities),
        T(test_context_out_of_memory),
        T(test_forward_through_table),
    };
#undef T
    return cmocka_run_group_tests(tests, load_plugin, unload_plugin);
}
