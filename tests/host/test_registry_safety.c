/*
 * The registry under a careless or hostile environment (issue 14, host
 * part): plugin records that stay put while others are loaded, mha_shutdown
 * racing calls on other threads, and plugin candidates that must not be
 * loaded (a FIFO, files writable by others, relative MHA_PLUGIN_PATH
 * entries). Runs under ASan and TSan with the other host tests
 * (scripts/sanitize.sh).
 */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdtemp */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

static void extra_path(int index, char *buf, size_t size)
{
    snprintf(buf, size, "%s/libmha_plugin_extra_%d.so", getenv("MHA_TEST_EXTRA_DIR"), index);
}

/* Before: the plugin array was grown with realloc, so a backend's pointer to
 * its record dangled after mha_plugin_load (ASan: heap-use-after-free in
 * mha_backend_plugin_name). */
static void records_stay_put_while_plugins_are_loaded(void **state)
{
    (void)state;
    assert_status(mha_shutdown(), MHA_STATUS_OK);
    mha_backend *backend = NULL;
    assert_status(mha_backend_open("stub", &backend), MHA_STATUS_OK);
    const char *name = mha_backend_plugin_name(backend);
    for (int index = 1; index <= 6; ++index) {
        char path[1024];
        extra_path(index, path, sizeof path);
        assert_status(mha_plugin_load(path), MHA_STATUS_OK);
        assert_string_equal(mha_backend_plugin_name(backend), "stub");
    }
    assert_string_equal(name, "stub");
    mha_device_info device = {.struct_size = sizeof device};
    assert_status(mha_backend_device_info(backend, &device), MHA_STATUS_OK);
    mha_backend *extra = NULL;
    assert_status(mha_backend_open("extra_6", &extra), MHA_STATUS_OK);
    assert_string_equal(mha_backend_plugin_name(extra), "extra_6");
    mha_backend_close(extra);
    mha_backend_close(backend);
    assert_status(mha_shutdown(), MHA_STATUS_OK);
}

/* Before: the lock was dropped before the plugin was called and shutdown
 * dlclosed it under the caller (SIGSEGV in 9 of 9 runs). Now every call holds
 * a use of the registry, and shutdown answers BUSY while one is in flight. */
enum { RACE_ROUNDS = 2000, RACE_THREADS = 3 };

static void *query_devices(void *unused)
{
    (void)unused;
    for (int round = 0; round < RACE_ROUNDS; ++round) {
        mha_device_info info = {.struct_size = sizeof info};
        mha_status status = mha_plugin_device_info("stub", 0, &info);
        if (status == MHA_STATUS_OK && strcmp(info.name, "stub device") != 0)
            return "wrong device name";
        mha_backend *backend = NULL;
        status = mha_backend_open("stub", &backend);
        if (status == MHA_STATUS_OK && strcmp(mha_backend_plugin_name(backend), "stub") != 0)
            return "wrong plugin name";
        mha_backend_close(backend);
        if (status != MHA_STATUS_OK && status != MHA_STATUS_NOT_FOUND)
            return "unexpected status";
    }
    return NULL;
}

static void shutdown_never_unloads_a_plugin_in_use(void **state)
{
    (void)state;
    pthread_t threads[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; ++i)
        assert_int_equal(pthread_create(&threads[i], NULL, query_devices, NULL), 0);
    int busy = 0, done = 0;
    for (int round = 0; round < RACE_ROUNDS; ++round) {
        mha_status status = mha_shutdown();
        if (status == MHA_STATUS_BUSY)
            busy++;
        else if (status == MHA_STATUS_OK)
            done++;
        else
            fail_msg("mha_shutdown: %s", mha_status_name(status));
    }
    for (int i = 0; i < RACE_THREADS; ++i) {
        void *result = NULL;
        assert_int_equal(pthread_join(threads[i], &result), 0);
        if (result)
            fail_msg("query thread: %s", (const char *)result);
    }
    assert_status(mha_shutdown(), MHA_STATUS_OK);
    print_message("shutdown: %d unloaded, %d busy\n", done, busy);
}

static char work_dir[256];

static void path_in_work(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", work_dir, name);
}

/* Copies the stub fixture to `path` with `mode`. */
static void copy_stub(const char *path, mode_t mode)
{
    char source[1024];
    snprintf(source, sizeof source, "%s/libmha_plugin_extra_1.so", getenv("MHA_TEST_EXTRA_DIR"));
    FILE *in = fopen(source, "rb");
    FILE *out = fopen(path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buffer[65536];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, in)) > 0)
        assert_int_equal(fwrite(buffer, 1, got, out), got);
    fclose(in);
    fclose(out);
    assert_int_equal(chmod(path, mode), 0);
}

static void unsafe_candidates_are_refused(void **state)
{
    (void)state;
    char path[1024], folder[512];
    snprintf(work_dir, sizeof work_dir, "/tmp/mha-registry-XXXXXX");
    assert_non_null(mkdtemp(work_dir));
    /* A FIFO would block dlopen forever. */
    path_in_work("libmha_plugin_fifo.so", path, sizeof path);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* A plugin others could have replaced. */
    path_in_work("libmha_plugin_open.so", path, sizeof path);
    copy_stub(path, 0646);
    /* One in a folder its group may write to. */
    path_in_work("shared", folder, sizeof folder);
    assert_int_equal(mkdir(folder, 0770), 0);
    assert_int_equal(chmod(folder, 0770), 0);
    snprintf(path, sizeof path, "%s/libmha_plugin_shared.so", folder);
    copy_stub(path, 0644);

    char env[1200];
    snprintf(env, sizeof env, "%s:%s:relative/plugins", work_dir, folder);
    const char *saved = getenv("MHA_PLUGIN_PATH");
    char saved_copy[1024];
    snprintf(saved_copy, sizeof saved_copy, "%s", saved ? saved : "");
    assert_status(mha_shutdown(), MHA_STATUS_OK);
    setenv("MHA_PLUGIN_PATH", env, 1);
    size_t count = 0;
    assert_status(mha_plugin_count(&count), MHA_STATUS_OK); /* returns: nothing hangs */
    const char *reason = registry_failure_for("libmha_plugin_fifo.so");
    assert_non_null(reason);
    assert_non_null(strstr(reason, "not a regular file"));
    reason = registry_failure_for("libmha_plugin_open.so");
    assert_non_null(reason);
    assert_non_null(strstr(reason, "writable by others (mode 646)"));
    reason = registry_failure_for("libmha_plugin_shared.so");
    assert_non_null(reason);
    assert_non_null(strstr(reason, "is writable by its group (mode 770)"));
    reason = registry_failure_for("relative/plugins");
    assert_non_null(reason);
    assert_non_null(strstr(reason, "not an absolute path"));
    /* An explicit load gets the same answer. */
    assert_status(mha_plugin_load(path), MHA_STATUS_PLUGIN_INVALID);
    assert_error_contains("writable by its group");
    /* Made safe, the same file loads. */
    assert_int_equal(chmod(folder, 0755), 0);
    assert_status(mha_plugin_load(path), MHA_STATUS_OK);

    assert_status(mha_shutdown(), MHA_STATUS_OK);
    setenv("MHA_PLUGIN_PATH", saved_copy, 1);
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", work_dir);
    assert_int_equal(system(command), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_stay_put_while_plugins_are_loaded),
        cmocka_unit_test(shutdown_never_unloads_a_plugin_in_use),
        cmocka_unit_test(unsafe_candidates_are_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    mha_shutdown();
    return failed;
}
