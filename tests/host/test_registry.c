/* The plugin loader: discovery, handshake, broken candidates, selection,
 * shutdown. Runs with MHA_PLUGIN_PATH pointing at the fixture plugins. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>

#include "mha/plugin.h"
#include "test_common.h"

#define STRING_(x) #x
#define STRING(x) STRING_(x)
/* The wrong_abi fixture is built with major 99 and this header's minor. */
#define WRONG_ABI_MESSAGE                                                             \
    "plugin ABI 99." STRING(MHA_PLUGIN_ABI_MINOR) " but host ABI " STRING(             \
        MHA_PLUGIN_ABI_MAJOR) "." STRING(MHA_PLUGIN_ABI_MINOR)

static const char *fixture_path(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/libmha_plugin_fixture_%s.so", getenv("MHA_TEST_FIXTURE_DIR"), name);
    return buf;
}

/* Returns the registry's reason for skipping the candidate `name`, or NULL. */
static const char *failure_reason(const char *name)
{
    char suffix[128];
    snprintf(suffix, sizeof suffix, "libmha_plugin_fixture_%s.so", name);
    return registry_failure_for(suffix);
}

static void assert_skipped_because(const char *name, const char *needle)
{
    const char *reason = failure_reason(name);
    if (!reason)
        fail_msg("fixture %s was not reported as skipped", name);
    if (!strstr(reason, needle))
        fail_msg("fixture %s skipped for \"%s\", expected \"%s\"", name, reason, needle);
}

static void finds_the_stub_and_reports_it(void **state)
{
    (void)state;
    size_t count = 0;
    assert_status(mha_plugin_count(&count), MHA_STATUS_OK);
    int found = 0;
    for (size_t i = 0; i < count; ++i) {
        mha_plugin_info info = {.struct_size = sizeof info};
        assert_status(mha_plugin_get_info(i, &info), MHA_STATUS_OK);
        if (strcmp(info.name, "stub") == 0) {
            found++;
            assert_string_equal(info.version, "9.9.9");
            assert_int_equal(info.abi_major, 1);
            assert_non_null(strstr(info.path, "libmha_plugin_fixture_stub.so"));
        }
    }
    assert_int_equal(found, 1);
    mha_plugin_info info = {.struct_size = sizeof info};
    assert_status(mha_plugin_get_info(count, &info), MHA_STATUS_NOT_FOUND);
    info.struct_size = 3;
    assert_status(mha_plugin_get_info(0, &info), MHA_STATUS_INVALID_STRUCT_SIZE);
    assert_status(mha_plugin_get_info(0, NULL), MHA_STATUS_NULL_ARGUMENT);
    assert_status(mha_plugin_count(NULL), MHA_STATUS_NULL_ARGUMENT);
}

static void broken_candidates_are_skipped_with_a_reason(void **state)
{
    (void)state;
    assert_skipped_because("no_entry", "no entry symbol mha_plugin_entry");
    assert_skipped_because("null_entry", "mha_plugin_entry returned NULL");
    assert_skipped_because("wrong_abi", WRONG_ABI_MESSAGE);
    assert_skipped_because("incomplete", "lacks required member attention_forward");
    assert_skipped_because("bad_name", "plugin name 'Bad Name'");
    assert_skipped_because("garbage", "libmha_plugin_fixture_garbage.so");
    assert_skipped_because("twin", "a plugin named 'stub' was already loaded");
    assert_null(failure_reason("stub"));
    const char *path, *reason;
    assert_status(mha_plugin_failure(100000, &path, &reason), MHA_STATUS_NOT_FOUND);
    assert_status(mha_plugin_failure(0, NULL, &reason), MHA_STATUS_NULL_ARGUMENT);
}

/* init() runs at a plugin's first use: listing plugins initialises none, and
 * a failed init is answered to every use and recorded as a failure. */
static int initialised_lines;
static void count_initialised(const char *message, void *user)
{
    (void)user;
    if (strstr(message, "initialised plugin"))
        initialised_lines++;
}

static void plugins_are_initialised_at_first_use(void **state)
{
    (void)state;
    assert_status(mha_shutdown(), MHA_STATUS_OK);
    mha_set_log_callback(count_initialised, NULL);
    size_t count = 0;
    assert_status(mha_plugin_count(&count), MHA_STATUS_OK);
    for (size_t i = 0; i < count; ++i) {
        mha_plugin_info info = {.struct_size = sizeof info};
        assert_status(mha_plugin_get_info(i, &info), MHA_STATUS_OK);
    }
    assert_int_equal(initialised_lines, 0);
    assert_null(failure_reason("init_fails"));

    assert_status(mha_plugin_device_count("stub", &count), MHA_STATUS_OK);
    assert_int_equal(initialised_lines, 1);
    assert_status(mha_plugin_device_count("stub", &count), MHA_STATUS_OK);
    assert_int_equal(initialised_lines, 1);
    mha_set_log_callback(NULL, NULL);

    mha_backend *backend = NULL;
    for (int attempt = 0; attempt < 2; ++attempt) {
        assert_status(mha_backend_open("fixture_init_fails", &backend), MHA_STATUS_DEVICE_ERROR);
        assert_error_contains("plugin 'fixture_init_fails' could not initialise");
        assert_error_contains("fixture init refuses");
        assert_null(backend);
    }
    assert_skipped_because("init_fails", "init failed: MHA_STATUS_DEVICE_ERROR: fixture init refuses");
    /* The default backend passes over it. */
    assert_status(mha_backend_open(NULL, &backend), MHA_STATUS_OK);
    assert_string_equal(mha_backend_plugin_name(backend), "stub");
    mha_backend_close(backend);
}

static void explicit_load_returns_the_exact_status(void **state)
{
    (void)state;
    char path[1024];
    assert_status(mha_plugin_load(fixture_path("wrong_abi", path, sizeof path)),
                  MHA_STATUS_ABI_MISMATCH);
    assert_error_contains(WRONG_ABI_MESSAGE);
    assert_status(mha_plugin_load(fixture_path("no_entry", path, sizeof path)),
                  MHA_STATUS_PLUGIN_INVALID);
    assert_status(mha_plugin_load(fixture_path("garbage", path, sizeof path)),
                  MHA_STATUS_PLUGIN_INVALID);
    /* init() runs at first use, not at load. */
    assert_status(mha_plugin_load(fixture_path("init_fails", path, sizeof path)), MHA_STATUS_OK);
    assert_status(mha_plugin_load("/nonexistent/libmha_plugin_x.so"), MHA_STATUS_NOT_FOUND);
    assert_error_contains("/nonexistent/libmha_plugin_x.so");
    assert_status(mha_plugin_load(NULL), MHA_STATUS_NULL_ARGUMENT);
    /* Loading an already loaded file again is a no-op. */
    assert_status(mha_plugin_load(fixture_path("stub", path, sizeof path)), MHA_STATUS_OK);
}

static void backend_specs(void **state)
{
    (void)state;
    mha_backend *backend = NULL;
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    assert_string_equal(mha_backend_plugin_name(backend), "stub");
    mha_device_info device = {.struct_size = sizeof device};
    assert_status(mha_backend_device_info(backend, &device), MHA_STATUS_OK);
    assert_string_equal(device.name, "stub device");
    mha_capabilities caps = {.struct_size = sizeof caps};
    assert_status(mha_backend_capabilities(backend, &caps), MHA_STATUS_OK);
    assert_true(caps.dropout);
    mha_backend_close(backend);

    assert_status(mha_backend_open("stub:minimal", &backend), MHA_STATUS_OK);
    assert_status(mha_backend_capabilities(backend, &caps), MHA_STATUS_OK);
    assert_false(caps.dropout);
    mha_backend_close(backend);

    assert_status(mha_backend_open("stub:nope", &backend), MHA_STATUS_NOT_FOUND);
    assert_null(backend);
    assert_error_contains("stub: no device 'nope'");
    assert_status(mha_backend_open("no_such_plugin", &backend), MHA_STATUS_NOT_FOUND);
    assert_error_contains("no plugin named 'no_such_plugin' (found: ");
    assert_error_contains("stub");
    assert_status(mha_backend_open(":device", &backend), MHA_STATUS_INVALID_VALUE);
    mha_backend_close(NULL);
}

static void default_backend_is_the_best_scoring_plugin(void **state)
{
    (void)state;
    mha_backend *backend = NULL;
    /* The stub scores 1000, more than any real plugin. */
    assert_status(mha_backend_open(NULL, &backend), MHA_STATUS_OK);
    assert_string_equal(mha_backend_plugin_name(backend), "stub");
    mha_backend_close(backend);
    /* MHA_BACKEND names the default when no spec is given. */
    setenv("MHA_BACKEND", "stub:nope", 1);
    assert_status(mha_backend_open("", &backend), MHA_STATUS_NOT_FOUND);
    assert_error_contains("no device 'nope'");
    unsetenv("MHA_BACKEND");
}

static void shutdown_refuses_while_backends_are_open(void **state)
{
    (void)state;
    mha_backend *backend = NULL;
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    assert_status(mha_shutdown(), MHA_STATUS_BUSY);
    assert_error_contains("1 backends are still open");
    mha_backend_close(backend);
    assert_status(mha_shutdown(), MHA_STATUS_OK);
    /* The registry comes back on next use. */
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    mha_backend_close(backend);
    assert_status(mha_shutdown(), MHA_STATUS_OK);
}

static int log_lines;
static void count_log_line(const char *message, void *user)
{
    (void)user;
    if (strstr(message, "skipped plugin"))
        log_lines++;
}

static void log_callback_receives_diagnostics(void **state)
{
    (void)state;
    assert_status(mha_shutdown(), MHA_STATUS_OK);
    mha_set_log_callback(count_log_line, NULL);
    size_t count;
    assert_status(mha_plugin_count(&count), MHA_STATUS_OK);
    mha_set_log_callback(NULL, NULL);
    assert_true(log_lines >= 7); /* one per broken fixture (init_fails is not used here) */
}

static void device_queries(void **state)
{
    (void)state;
    size_t count = 0;
    assert_status(mha_plugin_device_count("stub", &count), MHA_STATUS_OK);
    assert_int_equal(count, 1);
    mha_device_info info = {.struct_size = sizeof info};
    assert_status(mha_plugin_device_info("stub", 0, &info), MHA_STATUS_OK);
    assert_string_equal(info.spec, "full");
    assert_status(mha_plugin_device_info("stub", 1, &info), MHA_STATUS_NOT_FOUND);
    assert_error_contains("index is 1 but plugin 'stub' has 1 devices");
    assert_status(mha_plugin_device_count("nothing", &count), MHA_STATUS_NOT_FOUND);
    assert_status(mha_plugin_device_count(NULL, &count), MHA_STATUS_NULL_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_stub_and_reports_it),
        cmocka_unit_test(broken_candidates_are_skipped_with_a_reason),
        cmocka_unit_test(explicit_load_returns_the_exact_status),
        cmocka_unit_test(plugins_are_initialised_at_first_use),
        cmocka_unit_test(backend_specs),
        cmocka_unit_test(default_backend_is_the_best_scoring_plugin),
        cmocka_unit_test(shutdown_refuses_while_backends_are_open),
        cmocka_unit_test(log_callback_receives_diagnostics),
        cmocka_unit_test(device_queries),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    mha_shutdown();
    return failed;
}
