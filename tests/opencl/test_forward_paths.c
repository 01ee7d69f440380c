/*
 * test_forward_paths.c - what each path of the attention products reports:
 * memory and stages of the GEMM and fused paths (mha_attention_get_stats),
 * and the path a CPU device chooses by itself.
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

/* Statistics: memory held and its peak, and the stages of the last forward. */
void test_stats(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 16, c.H = 4, c.kdim = c.vdim = 16, c.N = 2, c.batched = true;
    c.L = 6, c.S = 9, c.bias = true, c.need_weights = true, c.average = true;
    tk_case_fill(&c, 31);
    mha_attention *att = NULL;
    char *saved = env_set("MHA_OPENCL_ATTENTION", "gemm"); /* the fused path: at the end */
    assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    mha_attention_stats st = {.struct_size = sizeof st};
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_true(st.stats_supported);
    /* the weights: Wq^T, Wk^T, Wv^T, Wo^T and the biases, a buffer each */
    assert_int_equal(st.device_allocations, 5);
    const uint64_t weight_bytes = st.device_bytes;
    /* Wq Wk Wv Wo, in_proj_bias, out_proj.bias, bias_k, bias_v */
    assert_int_equal(weight_bytes, (4 * 16 * 16 + 3 * 16 + 3 * 16) * sizeof(float));
    assert_int_equal(st.device_bytes_peak, weight_bytes);
    assert_int_equal(st.stage_count, 0); /* no forward yet */

    float *out = calloc(c.out_count, sizeof(float)), *w = calloc(c.weights_count, sizeof(float));
    for (int rep = 0; rep < 2; ++rep) {
        assert_int_equal(tk_case_run(&c, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
        assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
        assert_true(st.device_bytes > weight_bytes);
        assert_true(st.device_bytes_peak >= st.device_bytes);
        /* projections heads scores softmax_average pv merge output output_bias */
        assert_int_equal(st.stage_count, 8);
        assert_true(has_stage(&st, "projections", true));
        assert_true(has_stage(&st, "heads", false));
        assert_true(has_stage(&st, "scores", true));
        assert_true(has_stage(&st, "softmax_average", false));
        assert_true(has_stage(&st, "pv", true));
        assert_true(has_stage(&st, "merge", false));
        assert_true(has_stage(&st, "output", true));
        assert_true(has_stage(&st, "output_bias", false));
        double total = 0.0;
        for (uint32_t i = 0; i < st.stage_count; ++i)
            total += st.stages[i].milliseconds;
        assert_true(total > 0.0 && total < 60000.0);
    }
    for (uint32_t i = 0; i < st.stage_count; ++i)
        print_message("stage %-12s %s %.4f ms\n", st.stages[i].name,
                      st.stages[i].is_gemm ? "gemm  " : "kernel", st.stages[i].milliseconds);
    /* Without weights, on the GEMM path: no averaging stage; reading stats
     * twice gives the same answer. */
    c.need_weights = false;
    assert_int_equal(tk_case_run(&c, f->ocl, att, out, NULL, NULL), MHA_STATUS_OK);
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_int_equal(st.stage_count, 8);
    assert_true(has_stage(&st, "softmax", false));
    assert_false(has_stage(&st, "softmax_average", false));
    mha_attention_stats again = {.struct_size = sizeof again};
    assert_int_equal(mha_attention_get_stats(att, &again), MHA_STATUS_OK);
    assert_int_equal(again.stage_count, 8);
    assert_true(again.stages[0].milliseconds == st.stages[0].milliseconds);
    mha_attention_destroy(att);
    /* The fused path: one stage from the heads to the merged heads, named
     * after the weights it writes. */
    setenv("MHA_OPENCL_ATTENTION", "fused", 1);
    assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
    env_restore("MHA_OPENCL_ATTENTION", saved);
    static const char *fused_stage[] = {"attention", "attention_average", "attention_weights"};
    /* room for per-head weights (N, H, L, S'), S' <= S + 2 */
    float *wh = calloc((size_t)(c.N * c.H * c.L * (c.S + 2)), sizeof(float));
    for (int weights = 0; weights < 3; ++weights) {
        c.need_weights = weights > 0;
        c.average = weights == 1;
        assert_int_equal(tk_case_run(&c, f->ocl, att, out, c.need_weights ? wh : NULL, NULL),
                         MHA_STATUS_OK);
        assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
        assert_int_equal(st.stage_count, 5);
        assert_true(has_stage(&st, "projections", true));
        assert_true(has_stage(&st, "heads", false));
        assert_true(has_stage(&st, fused_stage[weights], false));
        assert_true(has_stage(&st, "output", true));
        assert_true(has_stage(&st, "output_bias", false));
    }
    free(wh);
    mha_attention_destroy(att);
    free(out), free(w);
    tk_case_free(&c);
}

/* Left to choose (no MHA_OPENCL_ATTENTION), a CPU device takes the absorbed
 * path for one query against many keys (it needs 1/18 of the flops of
 * projecting them) and not for self-attention; the absorbed path's stages. */
void test_absorbed_choice(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_device_info info = {.struct_size = sizeof info};
    assert_int_equal(mha_backend_device_info(f->ocl, &info), MHA_STATUS_OK);
    if (strcmp(info.kind, "cpu") != 0) {
        print_message("not a CPU device (%s): skipped\n", info.kind);
        skip();
    }
    char *saved = env_set("MHA_OPENCL_ATTENTION", NULL);
    for (int self = 0; self < 2; ++self)
        for (int weights = 0; weights < 2; ++weights) {
            const uint32_t id = GRID_CHOICE_FIRST + (uint32_t)(2 * self + weights);
            tk_case c;
            grid_choice(&c, id);
            check_case(f, &c, id);
            mha_attention *att = NULL;
            float *out = calloc(c.out_count, sizeof(float));
            float *w = calloc(c.weights_count + 1, sizeof(float));
            assert_int_equal(tk_case_attention(&c, f->ocl, &att), MHA_STATUS_OK);
            assert_int_equal(tk_case_run(&c, f->ocl, att, out, weights ? w : NULL, NULL),
                             MHA_STATUS_OK);
            mha_attention_stats st = {.struct_size = sizeof st};
            assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
            if (self) { /* the fused kernels */
                assert_true(has_stage(&st, "heads", false));
                assert_false(has_stage(&st, "scores", false));
            } else { /* projections (q only) scores softmax pv output output_bias */
                assert_int_equal(st.stage_count, 6);
                assert_true(has_stage(&st, "projections", true));
                assert_true(has_stage(&st, "scores", false));
                assert_true(has_stage(&st, weights ? "softmax_average" : "softmax", false));
                assert_true(has_stage(&st, "pv", false));
                assert_true(has_stage(&st, "output", true));
                assert_true(has_stage(&st, "output_bias", false));
            }
            mha_attention_destroy(att);
            free(out), free(w);
            tk_case_free(&c);
        }
    env_restore("MHA_OPENCL_ATTENTION", saved);
}
