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
#include "mha/opencl.h" /* CL/cl.h: the device's own clock, below */
#include "forward_fixture.h"
#include "forward_grid.h"

/* Whether the profiling clock of the OpenCL device named `name` moves: two
 * commands one after the other on a profiling queue, the second ending after
 * the first. Asked of OpenCL directly, not of the plugin. rusticl in Mesa 22.3
 * stamps every command 0, 1, 2, 3 ns; PoCL's clock must move (the stage times
 * are always checked there). */
static bool device_clock_moves(const char *name)
{
    cl_platform_id platforms[8];
    cl_uint np = 0;
    assert_int_equal(clGetPlatformIDs(8, platforms, &np), CL_SUCCESS);
    for (cl_uint p = 0; p < np && p < 8; ++p) {
        cl_device_id devices[8];
        cl_uint nd = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 8, devices, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < 8; ++d) {
            char dev_name[256] = "", platform[256] = "";
            clGetDeviceInfo(devices[d], CL_DEVICE_NAME, sizeof dev_name - 1, dev_name, NULL);
            if (strcmp(dev_name, name) != 0)
                continue;
            clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
            cl_int err = CL_SUCCESS;
            cl_context cl = clCreateContext(NULL, 1, &devices[d], NULL, NULL, &err);
            assert_int_equal(err, CL_SUCCESS);
            cl_command_queue q = clCreateCommandQueue(cl, devices[d], CL_QUEUE_PROFILING_ENABLE, &err);
            assert_int_equal(err, CL_SUCCESS);
            enum { BYTES = 1 << 20 };
            cl_mem buf = clCreateBuffer(cl, CL_MEM_READ_WRITE, BYTES, NULL, &err);
            assert_int_equal(err, CL_SUCCESS);
            float *host = calloc(BYTES / sizeof(float), sizeof(float));
            cl_event ev[2];
            for (int i = 0; i < 2; ++i)
                assert_int_equal(clEnqueueWriteBuffer(q, buf, CL_FALSE, 0, BYTES, host, 0, NULL,
                                                      &ev[i]),
                                 CL_SUCCESS);
            assert_int_equal(clFinish(q), CL_SUCCESS);
            cl_ulong end[2] = {0, 0};
            for (int i = 0; i < 2; ++i)
                assert_int_equal(clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_END,
                                                         sizeof end[i], &end[i], NULL),
                                 CL_SUCCESS);
            clReleaseEvent(ev[0]), clReleaseEvent(ev[1]);
            clReleaseMemObject(buf), clReleaseCommandQueue(q), clReleaseContext(cl);
            free(host);
            const bool moves = end[1] > end[0];
            print_message("%s (%s): profiling clock %s (ends %llu, %llu ns)\n", name, platform,
                          moves ? "moves" : "does not move", (unsigned long long)end[0],
                          (unsigned long long)end[1]);
            if (strstr(platform, "Portable Computing Language"))
                assert_true(moves);
            return moves;
        }
    }
    fail_msg("no OpenCL device is named \"%s\"", name);
    return false;
}

/* The stage times of the last forward: more than nothing in all when the
 * device's clock moves, else exactly 0 each ("not measured", docs/opencl.md). */
static void expect_stage_times(const mha_attention_stats *st, bool clock_moves)
{
    double total = 0.0;
    for (uint32_t i = 0; i < st->stage_count; ++i) {
        total += st->stages[i].milliseconds;
        if (!clock_moves)
            assert_true(st->stages[i].milliseconds == 0.0);
    }
    if (clock_moves)
        assert_true(total > 0.0 && total < 60000.0);
}

/* Statistics: memory held and its peak, and the stages of the last forward. */
void test_stats(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_device_info info = {.struct_size = sizeof info};
    assert_int_equal(mha_backend_device_info(f->ocl, &info), MHA_STATUS_OK);
    const bool clock_moves = device_clock_moves(info.name);
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
        expect_stage_times(&st, clock_moves);
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
        expect_stage_times(&st, clock_moves);
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
