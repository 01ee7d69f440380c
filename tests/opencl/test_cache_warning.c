/*
 * test_cache_warning.c - a program cache directory writable by group or
 * others is not used (plugins/opencl/cache.c), and the plugin says so with a
 * WARNING through the host's log, once per backend, naming the directory and
 * its mode; a private directory gets no warning. Captured with
 * mha_set_log_level_callback.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mha/mha.h"
#include "ocl_test.h"

static unsigned g_warnings;
static char g_last[1024];

static void record(mha_log_level level, const char *message, void *user)
{
    (void)user;
    if (level != MHA_LOG_WARNING)
        return;
    ++g_warnings;
    snprintf(g_last, sizeof g_last, "%s", message);
}

/* Opens a backend on `dir`, runs one forward on the fused path (a second
 * program, built or looked up after the open) and closes it. */
static void open_and_run(const char *dir)
{
    setenv("MHA_OPENCL_CACHE_DIR", dir, 1);
    mha_backend *b = NULL;
    if (mha_backend_open("opencl", &b) != MHA_STATUS_OK)
        fail_msg("open: %s", mha_last_error());
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 8, c.H = 2, c.kdim = 8, c.vdim = 8, c.N = 1, c.batched = true, c.L = 3, c.S = 3;
    c.self_attention = true;
    tk_case_fill(&c, 5);
    float out[3 * 8];
    setenv("MHA_OPENCL_ATTENTION", "fused", 1);
    mha_status st = tk_case_run(&c, b, NULL, out, NULL, NULL);
    unsetenv("MHA_OPENCL_ATTENTION");
    tk_case_free(&c);
    mha_backend_close(b);
    if (st != MHA_STATUS_OK)
        fail_msg("forward: %s", mha_last_error());
}

static void test_group_writable_directory(void **state)
{
    (void)state;
    size_t count = 0;
    if (mha_plugin_device_count("opencl", &count) != MHA_STATUS_OK || count == 0) {
        print_message("no OpenCL device: skipped\n");
        skip();
    }
    char top[] = "/tmp/ocl-cache-warning-XXXXXX", dir[64];
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof dir, "%s/cache", top);
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    mha_set_log_level_callback(record, NULL);

    /* private (created 0700 by the first open): no warning */
    g_warnings = 0;
    open_and_run(dir);
    assert_int_equal(g_warnings, 0);

    /* writable by group: one warning per backend, naming the directory and
     * the mode, however many programs the backend looks up */
    assert_int_equal(chmod(dir, 0770), 0);
    open_and_run(dir);
    assert_int_equal(g_warnings, 1);
    if (!strstr(g_last, dir) || !strstr(g_last, "mode 0770") ||
        !strstr(g_last, "program cache is off"))
        fail_msg("the warning does not name the directory, its mode and the effect: %s", g_last);
    assert_int_equal(chmod(dir, 0707), 0); /* writable by others */
    open_and_run(dir);
    assert_int_equal(g_warnings, 2);
    if (!strstr(g_last, "mode 0707"))
        fail_msg("the warning does not name mode 0707: %s", g_last);

    /* private again: no warning */
    assert_int_equal(chmod(dir, 0700), 0);
    open_and_run(dir);
    assert_int_equal(g_warnings, 2);

    mha_set_log_level_callback(NULL, NULL);
    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
    char command[160];
    snprintf(command, sizeof command, "rm -rf '%s'", top);
    assert_int_equal(system(command), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_writable_directory),
    };
    return cmocka_run_group_tests_name("opencl_cache_warning", tests, NULL, NULL);
}
