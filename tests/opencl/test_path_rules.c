/*
 * test_path_rules.c - the OpenCL plugin's path rules (plugins/opencl/path.c),
 * which choose per call between the fused, absorbed and GEMM paths and among
 * the softmax kernels. Links path.c alone: no OpenCL device, no plugin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "path.h"

static const ocl_path_rules cpu = {true, false, OCL_PATH_AUTO, OCL_SOFTMAX_AUTO};
static const ocl_path_rules gpu = {false, false, OCL_PATH_AUTO, OCL_SOFTMAX_AUTO};

/* N batch, L queries, S keys (S' = S + extra), E, H heads, kdim = vdim = E. */
static mha_problem problem(int64_t N, int64_t L, int64_t S, int64_t extra, int64_t E, int64_t H)
{
    mha_problem p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.batch = N, p.tgt_len = L, p.src_len = S, p.src_len_total = S + extra;
    p.embed_dim = E, p.num_heads = H, p.head_dim = E / H, p.kdim = p.vdim = E;
    p.batched = true;
    return p;
}

static ocl_path_rules forced(ocl_path_rules r, ocl_path path)
{
    r.path = path;
    return r;
}

static void test_cpu_fused_up_to_head_dim_max(void **state)
{
    (void)state;
    mha_problem p = problem(2, 64, 64, 0, 8 * OCL_FUSED_HEAD_DIM_MAX, 8); /* D = max */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_FUSED);
    p = problem(2, 64, 64, 0, 8 * (OCL_FUSED_HEAD_DIM_MAX + 1), 8); /* D = max + 1 */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_GEMM);
    p = problem(1, 5, 7, 1, 12, 3); /* bias_kv row: no absorbed, fused */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_FUSED);
}

static void test_gpu_gemm(void **state)
{
    (void)state;
    mha_problem p = problem(2, 64, 64, 0, 512, 8);
    assert_int_equal(ocl_path_choose(&gpu, &p), OCL_PATH_GEMM);
    p = problem(8, 1, 2048, 0, 512, 8); /* decoding: absorbed only on CPUs */
    assert_int_equal(ocl_path_choose(&gpu, &p), OCL_PATH_GEMM);
}

/* Absorbed when it needs at most 1/OCL_ABSORBED_MIN_GAIN of the flops:
 * with kdim = vdim = E, H L S 2E + 2 L E^2 against 2 S E^2 + 2 L S E. */
static void test_cpu_absorbed_by_gain(void **state)
{
    (void)state;
    mha_problem p = problem(8, 1, 2048, 0, 512, 8); /* decoding: 62x fewer flops */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_ABSORBED);
    p = problem(8, 16, 2048, 0, 512, 8); /* about 4x fewer */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_ABSORBED);
    p = problem(8, 32, 2048, 0, 512, 8); /* about 2x: under the gain */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_FUSED);
    p = problem(1, 512, 512, 0, 512, 8); /* L = S */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_FUSED);
    p = problem(8, 1, 2048, 1, 512, 8); /* bias_kv / zero_attn rows: never */
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_FUSED);

    /* the boundary: absorbed * GAIN <= projected, exactly. E = 8, H = 1,
     * kdim = vdim = 8, S = 64: projected = 64*8*16 + 2*L*64*8 = 8192 + 1024 L,
     * absorbed = 64*L*16 + 8*L*16 = 1152 L: 3456 L <= 8192 + 1024 L holds
     * for L <= 3 (L = 3: 10368 <= 11264), not for L = 4 (13824 > 12288). */
    p = problem(1, 3, 64, 0, 8, 1);
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_ABSORBED);
    p = problem(1, 4, 64, 0, 8, 1);
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_FUSED);
}

static void test_forced(void **state)
{
    (void)state;
    const mha_problem plain = problem(2, 64, 64, 0, 64, 4);
    const mha_problem extra = problem(2, 64, 64, 2, 64, 4);
    const mha_problem wide = problem(2, 64, 64, 0, 2 * (OCL_FUSED_HEAD_DIM_MAX + 1), 2);
    const ocl_path_rules devices[] = {cpu, gpu};
    for (size_t i = 0; i < 2; ++i) {
        ocl_path_rules r = forced(devices[i], OCL_PATH_GEMM);
        assert_int_equal(ocl_path_choose(&r, &plain), OCL_PATH_GEMM);
        r = forced(devices[i], OCL_PATH_FUSED);
        assert_int_equal(ocl_path_choose(&r, &plain), OCL_PATH_FUSED);
        assert_int_equal(ocl_path_choose(&r, &extra), OCL_PATH_FUSED);
        assert_int_equal(ocl_path_choose(&r, &wide), OCL_PATH_GEMM); /* cannot: GEMM */
        r = forced(devices[i], OCL_PATH_ABSORBED);
        assert_int_equal(ocl_path_choose(&r, &plain), OCL_PATH_ABSORBED); /* no gain needed */
        assert_int_equal(ocl_path_choose(&r, &wide), OCL_PATH_ABSORBED);
        assert_int_equal(ocl_path_choose(&r, &extra), OCL_PATH_GEMM); /* cannot: GEMM */
    }
}

/* MHA_OPENCL_GEMM_ONLY: the GEMM path whatever else is asked. */
static void test_gemm_only(void **state)
{
    (void)state;
    const mha_problem decoding = problem(8, 1, 2048, 0, 512, 8);
    ocl_path_rules r = cpu;
    r.gemm_only = true;
    assert_int_equal(ocl_path_choose(&r, &decoding), OCL_PATH_GEMM);
    r.path = OCL_PATH_FUSED;
    assert_int_equal(ocl_path_choose(&r, &decoding), OCL_PATH_GEMM);
    r.path = OCL_PATH_ABSORBED;
    assert_int_equal(ocl_path_choose(&r, &decoding), OCL_PATH_GEMM);
}

/* K and V read in place by the fused kernel: one work-item takes all
 * queries (L <= OCL_FUSED_ROWS) and no extra rows follow the keys. */
static void test_kv_in_place(void **state)
{
    (void)state;
    mha_problem p = problem(2, OCL_FUSED_ROWS, 100, 0, 64, 4);
    assert_true(ocl_path_kv_in_place(&p));
    p = problem(2, OCL_FUSED_ROWS + 1, 100, 0, 64, 4);
    assert_false(ocl_path_kv_in_place(&p));
    p = problem(2, 1, 100, 1, 64, 4);
    assert_false(ocl_path_kv_in_place(&p));
}

/* items on CPUs; elsewhere columns from OCL_SOFTMAX_COLUMNS_MIN rows (N*H*L)
 * on, else group; a forced kernel anywhere. */
static void test_softmax_choice(void **state)
{
    (void)state;
    const mha_problem few = problem(1, 1, 2048, 0, 512, 8); /* 8 rows */
    const mha_problem at = problem(2, OCL_SOFTMAX_COLUMNS_MIN / 16, 64, 0, 64, 8); /* N*H*L = MIN */
    const mha_problem under = problem(2, OCL_SOFTMAX_COLUMNS_MIN / 16 - 1, 64, 0, 64, 8);
    assert_int_equal(ocl_softmax_choose(&cpu, &few), OCL_SOFTMAX_ITEMS);
    assert_int_equal(ocl_softmax_choose(&cpu, &at), OCL_SOFTMAX_ITEMS);
    assert_int_equal(ocl_softmax_choose(&gpu, &few), OCL_SOFTMAX_GROUP);
    assert_int_equal(ocl_softmax_choose(&gpu, &under), OCL_SOFTMAX_GROUP);
    assert_int_equal(ocl_softmax_choose(&gpu, &at), OCL_SOFTMAX_COLUMNS);
    static const ocl_softmax kinds[] = {OCL_SOFTMAX_GROUP, OCL_SOFTMAX_ITEMS,
                                        OCL_SOFTMAX_COLUMNS};
    for (size_t i = 0; i < 3; ++i) {
        ocl_path_rules r = gpu;
        r.softmax = kinds[i];
        assert_int_equal(ocl_softmax_choose(&r, &at), kinds[i]);
        r = cpu;
        r.softmax = kinds[i];
        assert_int_equal(ocl_softmax_choose(&r, &few), kinds[i]);
    }
}

/* The values of MHA_OPENCL_ATTENTION and MHA_OPENCL_SOFTMAX. */
static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(ocl_path_parse("gemm"), OCL_PATH_GEMM);
    assert_int_equal(ocl_path_parse("fused"), OCL_PATH_FUSED);
    assert_int_equal(ocl_path_parse("absorbed"), OCL_PATH_ABSORBED);
    assert_int_equal(ocl_path_parse(NULL), OCL_PATH_AUTO);
    assert_int_equal(ocl_path_parse(""), OCL_PATH_AUTO);
    assert_int_equal(ocl_path_parse("GEMM"), OCL_PATH_AUTO);
    assert_int_equal(ocl_softmax_parse("items"), OCL_SOFTMAX_ITEMS);
    assert_int_equal(ocl_softmax_parse("columns"), OCL_SOFTMAX_COLUMNS);
    assert_int_equal(ocl_softmax_parse("group"), OCL_SOFTMAX_GROUP);
    assert_int_equal(ocl_softmax_parse(NULL), OCL_SOFTMAX_AUTO);
    assert_int_equal(ocl_softmax_parse("fused"), OCL_SOFTMAX_AUTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_fused_up_to_head_dim_max),
        cmocka_unit_test(test_gpu_gemm),
        cmocka_unit_test(test_cpu_absorbed_by_gain),
        cmocka_unit_test(test_forced),
        cmocka_unit_test(test_gemm_only),
        cmocka_unit_test(test_kv_in_place),
        cmocka_unit_test(test_softmax_choice),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
