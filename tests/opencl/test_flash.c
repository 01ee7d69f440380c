/*
 * test_flash.c - the flash path's own concerns (cl/flash.cl,
 * plugins/opencl/flash.c), beyond the forward suite that runs under
 * MHA_OPENCL_ATTENTION=flash: tiles forced by MHA_OPENCL_FLASH (one query
 * per work-group, partial tiles, split-K into many pieces) against the
 * reference; a bad MHA_OPENCL_FLASH refused; the stages the path reports;
 * and the kernels built with -cl-fast-relaxed-math, where fully masked rows
 * must still be zeros (the finite sentinel, no -inf arithmetic).
 * Tolerance: the forward suite's (forward_fixture.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "forward_fixture.h"
#include "forward_grid.h"

/* The path grid's cases and the edge cases (causal both ways with L < S and
 * L > S, bias_kv / zero_attn rows, a 601-key row), weights averaged, per
 * head or none (the weights pass reads each row's max and 1/sum, from
 * mha_flash_combine under split-K). small: only those with head_dim <= 16 and L <= 16,
 * which run one flash kernel (mha_flash_16) at one local size (16): PoCL
 * compiles a kernel for each local size it meets, seconds each on a cold
 * cache. */
static void check_flash_grids(fixture *f, bool small)
{
    for (uint32_t id = GRID_PATH_FIRST; id < GRID_PATH_FIRST + GRID_PATH_CASES; ++id) {
        tk_case c;
        grid_path(&c, id);
        if (!small || (c.E / c.H <= 16 && c.L <= 16))
            check_case(f, &c, id);
        tk_case_free(&c);
    }
    for (uint32_t id = GRID_EDGE_FIRST; id < GRID_EDGE_FIRST + GRID_EDGE_CASES; ++id) {
        tk_case c;
        grid_edge(&c, id);
        check_case(f, &c, id);
        tk_case_free(&c);
    }
}

/* Forced tiles, all with work-groups of 16 queries (a local size the
 * forward suite's small cases use too, so the cache-warming fixture has
 * PoCL's builds of it): tiles of one key step with split-K into 3 pieces;
 * split-K into as many pieces as there are tiles (splits=256 is cut down to
 * them); a tile of 3 key steps, most of it past S' in small cases, no
 * split. Queries past 16 take several work-groups. */
static void test_flash_tiles(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    static const char *const tiles[] = {
        "block_q=16,block_k=16,splits=3",
        "block_q=16,block_k=16,splits=256",
        "block_q=16,block_k=48,splits=1",
    };
    char *saved_path = env_set("MHA_OPENCL_ATTENTION", "flash");
    char *saved = env_set("MHA_OPENCL_FLASH", NULL);
    for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; ++t) {
        print_message("MHA_OPENCL_FLASH=%s\n", tiles[t]);
        setenv("MHA_OPENCL_FLASH", tiles[t], 1);
        check_flash_grids(f, false);
    }
    env_restore("MHA_OPENCL_FLASH", saved);
    env_restore("MHA_OPENCL_ATTENTION", saved_path);
}

/* A bad MHA_OPENCL_FLASH fails the attention object's creation, naming the
 * item. */
static void test_flash_bad_setting(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 8, c.H = 2, c.kdim = c.vdim = 8, c.N = 1, c.batched = true, c.L = 3, c.S = 5;
    assert_true(tk_case_fill(&c, 3));
    char *saved = env_set("MHA_OPENCL_FLASH", "block_k=16,block_q=3");
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_INVALID_VALUE);
    assert_null(att);
    assert_non_null(strstr(mha_last_error(), "MHA_OPENCL_FLASH"));
    assert_non_null(strstr(mha_last_error(), "block_q=3"));
    env_restore("MHA_OPENCL_FLASH", saved);
    tk_case_free(&c);
}

/* The stages: one, "flash", from the heads to the merged heads; with
 * weights asked for "flash_average" or "flash_weights" (the products and
 * the weights pass). */
static void test_flash_stages(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 16, c.H = 4, c.kdim = c.vdim = 16, c.N = 2, c.batched = true;
    c.L = 6, c.S = 9, c.bias = true;
    assert_true(tk_case_fill(&c, 31));
    char *saved = env_set("MHA_OPENCL_ATTENTION", "flash");
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    env_restore("MHA_OPENCL_ATTENTION", saved);
    float *out = calloc(c.out_count, sizeof(float));
    mha_attention_stats st = {.struct_size = sizeof st};
    assert_int_equal(tk_case_run(&c, f->ocl, att, out, NULL, NULL), MHA_STATUS_OK);
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_int_equal(st.stage_count, 5);
    assert_true(has_stage(&st, "projections", true));
    assert_true(has_stage(&st, "heads", false));
    assert_true(has_stage(&st, "flash", false));
    assert_true(has_stage(&st, "output", true));
    assert_true(has_stage(&st, "output_bias", false));
    for (int average = 0; average < 2; ++average) {
        c.need_weights = true, c.average = average;
        float *wh = calloc((size_t)(c.N * c.H * c.L * c.S), sizeof(float));
        assert_int_equal(tk_case_run(&c, f->ocl, att, out, wh, NULL), MHA_STATUS_OK);
        assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
        assert_int_equal(st.stage_count, 5);
        assert_true(has_stage(&st, average ? "flash_average" : "flash_weights", false));
        assert_false(has_stage(&st, "scores", true));
        free(wh);
    }
    mha_attention_destroy(att);
    free(out);
    tk_case_free(&c);
}

/* Built with -cl-fast-relaxed-math (a backend of its own: build options are
 * read when a context is created), on finite inputs: every mask kind, -inf
 * in float masks, causal both ways with rows that see no key (L > S,
 * bottom-right), bool masks that hide every key of a row. Those rows must
 * be zeros, as the reference gives them, not NaN. The small cases only
 * (check_flash_grids): every program and kernel is built anew here. */
static void test_flash_fast_math(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    char *saved_options = env_set("MHA_OPENCL_BUILD_OPTIONS", "-cl-fast-relaxed-math");
    char *saved_path = env_set("MHA_OPENCL_ATTENTION", "flash");
    fixture fast = {NULL, f->ref};
    assert_int_equal(mha_backend_open("opencl", &fast.ocl), MHA_STATUS_OK);
    env_restore("MHA_OPENCL_BUILD_OPTIONS", saved_options);
    check_flash_grids(&fast, true);
    /* every key of batch entry 1 masked by key_padding_mask (kpm_tail = S) */
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 12, c.H = 3, c.kdim = c.vdim = 12, c.N = 3, c.batched = true, c.L = 5, c.S = 7;
    c.bias = true, c.kpm_tail = 7, c.causal = MHA_CAUSAL_BOTTOM_RIGHT;
    assert_true(tk_case_fill(&c, 77));
    check_case(&fast, &c, 77);
    tk_case_free(&c);
    env_restore("MHA_OPENCL_ATTENTION", saved_path);
    mha_backend_close(fast.ocl);
}

/* Tiles that fill the local memory exactly, twice on one attention object:
 * with MHA_OPENCL_LIMITS=local_mem=8K, 2 x 64 keys x 16 floats take all of
 * it. The second call must not count the first call's tiles (its __local
 * arguments, which CL_KERNEL_LOCAL_MEM_SIZE includes) as the kernel's own
 * local memory: it found none left and refused the call. */
static void test_flash_local_memory(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    char *saved_limits = env_set("MHA_OPENCL_LIMITS", "local_mem=8K");
    char *saved_path = env_set("MHA_OPENCL_ATTENTION", "flash");
    fixture small = {NULL, f->ref};
    assert_int_equal(mha_backend_open("opencl", &small.ocl), MHA_STATUS_OK);
    env_restore("MHA_OPENCL_LIMITS", saved_limits);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 16, c.H = 2, c.kdim = c.vdim = 16, c.N = 2, c.batched = true, c.L = 9, c.S = 150;
    c.bias = true, c.kpm = TK_MASK_BOOL;
    assert_true(tk_case_fill(&c, 5));
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(&c, small.ocl, &att), MHA_STATUS_OK);
    float *out = calloc(c.out_count, sizeof(float)), *expect = calloc(c.out_count, sizeof(float));
    assert_int_equal(tk_case_run(&c, f->ref, NULL, expect, NULL, NULL), MHA_STATUS_OK);
    for (int call = 0; call < 2; ++call) {
        mha_status st = tk_case_run(&c, small.ocl, att, out, NULL, NULL);
        if (st != MHA_STATUS_OK)
            fail_msg("call %d: %s: %s", call, mha_status_name(st), mha_last_error());
        assert_true(tk_first_bad(out, expect, c.out_count, OCL_TOL) < 0);
    }
    mha_attention_destroy(att);
    env_restore("MHA_OPENCL_ATTENTION", saved_path);
    mha_backend_close(small.ocl);
    free(out), free(expect);
    tk_case_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flash_tiles),
        cmocka_unit_test(test_flash_bad_setting),
        cmocka_unit_test(test_flash_stages),
        cmocka_unit_test(test_flash_fast_math),
        cmocka_unit_test(test_flash_local_memory),
    };
    return cmocka_run_group_tests(tests, forward_group_setup, forward_group_teardown);
}
