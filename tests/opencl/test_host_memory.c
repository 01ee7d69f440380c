/*
 * test_host_memory.c - the OpenCL plugin's host allocations go through the
 * host's allocator (mha_set_allocator), are all freed, and a failure of any
 * one of them yields a clean status and no leak. Device memory is covered by
 * the forward suite (test_forward_reuse.c, test_forward_devices.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "ocl_test.h"

static long g_live;     /* blocks allocated and not freed */
static long g_count;    /* allocations so far */
static long g_fail_at;  /* fail the allocation with this number (0 = none) */
static bool g_failed;

static bool inject(void)
{
    ++g_count;
    if (g_fail_at && g_count == g_fail_at) {
        g_failed = true;
        return true;
    }
    return false;
}
static void *t_malloc(size_t n, void *u)
{
    (void)u;
    void *p = inject() ? NULL : malloc(n);
    g_live += p != NULL;
    return p;
}
static void *t_calloc(size_t c, size_t n, void *u)
{
    (void)u;
    void *p = inject() ? NULL : calloc(c, n);
    g_live += p != NULL;
    return p;
}
static void *t_realloc(void *old, size_t n, void *u)
{
    (void)u;
    if (inject())
        return NULL;
    void *p = realloc(old, n);
    g_live += (old == NULL && p != NULL);
    return p;
}
static void t_free(void *p, void *u)
{
    (void)u;
    g_live -= p != NULL;
    free(p);
}

/* One life cycle: open, create, two forwards, destroy, close, shutdown. */
static mha_status life_cycle(void)
{
    mha_backend *b = NULL;
    mha_attention *att = NULL;
    tk_case c;
    tk_case_random(&c, 21);
    float *out = calloc(c.out_count, sizeof(float)), *w = calloc(c.weights_count + 1, sizeof(float));
    mha_status st = mha_backend_open("opencl", &b);
    if (st == MHA_STATUS_OK)
        st = tk_case_attention(&c, b, &att);
    for (int i = 0; i < 2 && st == MHA_STATUS_OK; ++i)
        st = tk_case_run(&c, b, att, out, w, NULL);
    mha_attention_destroy(att);
    mha_backend_close(b);
    mha_status down = mha_shutdown();
    if (st == MHA_STATUS_OK)
        st = down;
    free(out);
    free(w);
    tk_case_free(&c);
    return st;
}

static bool have_device(void)
{
    size_t n = 0;
    mha_status st = mha_plugin_device_count("opencl", &n);
    mha_shutdown();
    return st == MHA_STATUS_OK && n > 0;
}

static void test_no_leaks(void **state)
{
    (void)state;
    if (!have_device())
        skip();
    g_fail_at = 0;
    g_count = 0;
    assert_int_equal(life_cycle(), MHA_STATUS_OK);
    assert_int_equal(g_live, 0);
    print_message("%ld host allocations per life cycle\n", g_count);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    if (!have_device())
        skip();
    g_fail_at = 0;
    g_count = 0;
    assert_int_equal(life_cycle(), MHA_STATUS_OK);
    const long total = g_count;
    const long step = total > 80 ? total / 80 : 1; /* keep the run short */
    for (long k = 1; k <= total; k += step) {
        g_fail_at = k;
        g_count = 0;
        g_failed = false;
        mha_status st = life_cycle();
        /* OK is allowed: some allocations are optional (the program binary
         * cache falls back to building from source). NOT_FOUND: the plugin
         * failed its init and was skipped. */
        if (g_failed && st != MHA_STATUS_OUT_OF_MEMORY && st != MHA_STATUS_NOT_FOUND &&
            st != MHA_STATUS_OK)
            fail_msg("allocation %ld failed: %s (%s)", k, mha_status_name(st), mha_last_error());
        if (!g_failed && st != MHA_STATUS_OK)
            fail_msg("allocation %ld: no failure injected but %s", k, mha_status_name(st));
        if (g_live != 0)
            fail_msg("allocation %ld failed: %ld blocks leaked", k, g_live);
    }
    g_fail_at = 0;
}

int main(void)
{
    mha_allocator a = {sizeof a, t_malloc, t_calloc, t_realloc, t_free, NULL};
    if (mha_set_allocator(&a) != MHA_STATUS_OK) {
        fprintf(stderr, "mha_set_allocator: %s\n", mha_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_leaks),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests_name("opencl_host_memory", tests, NULL, NULL);
}
