/*
 * test_gemm_only.c - MHA_OPENCL_GEMM_ONLY=1 (a benchmarking aid, read when a
 * context is created): forwards run, enqueue only their CLBlast GEMMs, and
 * report only GEMM stages. Their results are garbage and not checked. A
 * process of its own: the variable is set before the backend is opened.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "ocl_test.h"

static bool have_device(void)
{
    size_t n = 0;
    mha_status st = mha_plugin_device_count("opencl", &n);
    return st == MHA_STATUS_OK && n > 0;
}

/* Runs `c` twice on a fresh attention object; checks the stages and that the
 * second call allocates nothing. */
static void run_gemm_only(tk_case *c)
{
    mha_backend *b = NULL;
    mha_attention *att = NULL;
    assert_int_equal(mha_backend_open("opencl", &b), MHA_STATUS_OK);
    assert_int_equal(tk_case_attention(c, b, &att), MHA_STATUS_OK);
    float *out = calloc(c->out_count, sizeof(float));
    float *w = calloc(c->weights_count + 1, sizeof(float));
    uint64_t allocations = 0;
    for (int rep = 0; rep < 2; ++rep) {
        assert_int_equal(tk_case_run(c, b, att, out, w, NULL), MHA_STATUS_OK);
        mha_attention_stats st = {.struct_size = sizeof st};
        assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
        assert_true(st.stats_supported);
        /* projections scores pv output, nothing else */
        assert_int_equal(st.stage_count, 4);
        const char *names[] = {"projections", "scores", "pv", "output"};
        for (uint32_t i = 0; i < st.stage_count; ++i) {
            assert_string_equal(st.stages[i].name, names[i]);
            assert_true(st.stages[i].is_gemm);
            assert_true(st.stages[i].milliseconds >= 0.0);
        }
        if (rep == 1)
            assert_int_equal(st.device_allocations, allocations);
        allocations = st.device_allocations;
    }
    free(out);
    free(w);
    mha_attention_destroy(att);
    mha_backend_close(b);
}

static void test_gemm_only_stages(void **state)
{
    (void)state;
    if (!have_device())
        skip();
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 16, c.H = 4, c.kdim = c.vdim = 16, c.N = 2, c.batched = true;
    c.L = 6, c.S = 9, c.bias = true, c.need_weights = true, c.average = true;
    c.add_bias_kv = true;
    tk_case_fill(&c, 41); /* cross attention, averaged weights */
    run_gemm_only(&c);
    tk_case_free(&c);

    memset(&c, 0, sizeof c);
    c.E = 32, c.H = 4, c.kdim = c.vdim = 32, c.N = 3, c.batched = true, c.batch_first = true;
    c.L = c.S = 7, c.bias = true, c.self_attention = true, c.need_weights = true;
    tk_case_fill(&c, 42); /* self-attention, per-head weights */
    run_gemm_only(&c);
    tk_case_free(&c);
}

int main(void)
{
    setenv("MHA_OPENCL_GEMM_ONLY", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_only_stages),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    mha_shutdown();
    return failed;
}
