/*
 * test_path_rules.c - the OpenCL plugin's path rules (plugins/opencl/path.c),
 * which choose per call between the fused, absorbed, flash and GEMM paths and
 * among the softmax kernels, and the flash kernels' tiles. Links path.c
 * alone: no OpenCL device, no plugin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "path.h"

static const ocl_path_rules cpu = {true, false, OCL_PATH_AUTO, OCL_SOFTMAX_AUTO, false, 0, 0};
static const ocl_path_rules gpu = {false, false, OCL_PATH_AUTO, OCL_SOFTMAX_AUTO, false, 0, 0};

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

/* Other devices (GPUs) take the flash kernels up to their head_dim limit,
 * the GEMMs past it; with weights asked for, the GEMMs while their score
 * matrix fits in one buffer (max_alloc), else the flash kernels. */
static void test_gpu_flash(void **state)
{
    (void)state;
    ocl_path_rules weights = gpu;
    weights.weights = true;
    mha_problem p = problem(2, 64, 64, 0, 512, 8);
    assert_int_equal(ocl_path_choose(&gpu, &p), OCL_PATH_FLASH);
    assert_int_equal(ocl_path_choose(&weights, &p), OCL_PATH_GEMM); /* max_alloc unknown */
    weights.max_alloc = 2 * 8 * 64 * 64 * sizeof(float); /* the scores exactly */
    assert_int_equal(ocl_path_choose(&weights, &p), OCL_PATH_GEMM);
    weights.max_alloc -= 1;
    assert_int_equal(ocl_path_choose(&weights, &p), OCL_PATH_FLASH);
    p = problem(8, 1, 2048, 0, 512, 8); /* decoding: absorbed only on CPUs */
    assert_int_equal(ocl_path_choose(&gpu, &p), OCL_PATH_FLASH);
    p = problem(1, 5, 7, 2, 12, 3); /* bias_kv / zero_attn rows */
    assert_int_equal(ocl_path_choose(&gpu, &p), OCL_PATH_FLASH);
    p = problem(2, 64, 64, 0, 4 * OCL_FLASH_HEAD_DIM_MAX, 4); /* D = max */
    assert_int_equal(ocl_path_choose(&gpu, &p), OCL_PATH_FLASH);
    p = problem(2, 64, 64, 0, 4 * (OCL_FLASH_HEAD_DIM_MAX + 1), 4); /* D = max + 1 */
    assert_int_equal(ocl_path_choose(&gpu, &p), OCL_PATH_GEMM);
    /* CPUs keep the fused kernels */
    p = problem(2, 64, 64, 0, 512, 8);
    assert_int_equal(ocl_path_choose(&cpu, &p), OCL_PATH_FUSED);
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
        r = forced(devices[i], OCL_PATH_FLASH);
        assert_int_equal(ocl_path_choose(&r, &plain), OCL_PATH_FLASH);
        assert_int_equal(ocl_path_choose(&r, &extra), OCL_PATH_FLASH);
        assert_int_equal(ocl_path_choose(&r, &wide), OCL_PATH_GEMM); /* cannot: GEMM */
        r.weights = true;
        assert_int_equal(ocl_path_choose(&r, &plain), OCL_PATH_FLASH);
        assert_int_equal(ocl_path_choose(&r, &wide), OCL_PATH_GEMM);
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
    r.path = OCL_PATH_FLASH;
    assert_int_equal(ocl_path_choose(&r, &decoding), OCL_PATH_GEMM);
    r = gpu;
    r.gemm_only = true;
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

/* K and V read in place by the flash kernels: one work-group takes all
 * queries (L <= OCL_FLASH_BLOCK_Q) and no extra rows follow the keys. */
static void test_flash_kv_in_place(void **state)
{
    (void)state;
    mha_problem p = problem(2, OCL_FLASH_BLOCK_Q, 100, 0, 64, 4);
    assert_true(ocl_flash_kv_in_place(&p));
    p = problem(2, OCL_FLASH_BLOCK_Q + 1, 100, 0, 64, 4);
    assert_false(ocl_flash_kv_in_place(&p));
    p = problem(2, 1, 100, 1, 64, 4);
    assert_false(ocl_flash_kv_in_place(&p));
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
    assert_int_equal(ocl_path_parse("flash"), OCL_PATH_FLASH);
    assert_int_equal(ocl_path_parse(NULL), OCL_PATH_AUTO);
    assert_int_equal(ocl_path_parse(""), OCL_PATH_AUTO);
    assert_int_equal(ocl_path_parse("GEMM"), OCL_PATH_AUTO);
    assert_int_equal(ocl_softmax_parse("items"), OCL_SOFTMAX_ITEMS);
    assert_int_equal(ocl_softmax_parse("columns"), OCL_SOFTMAX_COLUMNS);
    assert_int_equal(ocl_softmax_parse("group"), OCL_SOFTMAX_GROUP);
    assert_int_equal(ocl_softmax_parse(NULL), OCL_SOFTMAX_AUTO);
    assert_int_equal(ocl_softmax_parse("fused"), OCL_SOFTMAX_AUTO);
}

/* Under a loop cap (llvmpipe) the flash kernels run only while their
 * bound stays within it, forced or not: D = 64 (DM 64), 64-key tiles of
 * 256 + 4 + 4 (16 * 128 + 64) = 8708 iterations, 7 tiles and the 3 DM-long
 * loops within 65535, 8 past it. */
static void test_flash_loop_cap(void **state)
{
    (void)state;
    ocl_path_rules r = gpu;
    r.loop_cap = 65535;
    const mha_problem fits = problem(1, 16, 448, 0, 128, 2), past = problem(1, 16, 449, 0, 128, 2);
    assert_int_equal(ocl_loops_flash(&fits, false), 7 * 8708 + 192);
    assert_int_equal(ocl_path_choose(&r, &fits), OCL_PATH_FLASH);
    assert_int_equal(ocl_path_choose(&r, &past), OCL_PATH_GEMM);
    r = forced(r, OCL_PATH_FLASH);
    assert_int_equal(ocl_path_choose(&r, &past), OCL_PATH_GEMM);
    r.loop_cap = 0;
    assert_int_equal(ocl_path_choose(&r, &past), OCL_PATH_FLASH);
}

/* MHA_OPENCL_FLASH: the items, their ranges, and a bad one named. */
static void test_flash_tiles_parse(void **state)
{
    (void)state;
    ocl_flash_tiles t;
    const char *bad = "x";
    assert_true(ocl_flash_tiles_parse(NULL, &t, &bad));
    assert_null(bad);
    assert_true(t.block_q == 0 && t.block_k == 0 && t.splits == 0);
    assert_true(ocl_flash_tiles_parse("", &t, &bad));
    assert_true(ocl_flash_tiles_parse("splits=3,block_k=48,block_q=8", &t, &bad));
    assert_true(t.block_q == 8 && t.block_k == 48 && t.splits == 3);
    assert_true(ocl_flash_tiles_parse("block_q=1", &t, &bad));
    assert_true(t.block_q == 1 && t.block_k == 0 && t.splits == 0);
    static const char *const wrong[] = {
        "block_q=0",  "block_q=24", "block_q=2048", "block_k=8",   "block_k=40",
        "block_k=2048", "splits=0", "splits=257",   "split=2",     "block_q=",
        "block_q=1x", "block_q",    "block_q=-1",   "block_k=99999999999999", ",",
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; ++i) {
        assert_false(ocl_flash_tiles_parse(wrong[i], &t, &bad));
        assert_ptr_equal(bad, wrong[i]);
        assert_true(t.block_q == 0 && t.block_k == 0 && t.splits == 0);
    }
    const char *two = "block_q=4,block_k=17";
    assert_false(ocl_flash_tiles_parse(two, &t, &bad));
    assert_ptr_equal(bad, two + 10); /* the second item */
}

/* The padded head_dim of the flash kernels. */
static void test_flash_head_tier(void **state)
{
    (void)state;
    assert_int_equal(ocl_flash_head_tier(1), 16);
    assert_int_equal(ocl_flash_head_tier(16), 16);
    assert_int_equal(ocl_flash_head_tier(17), 32);
    assert_int_equal(ocl_flash_head_tier(64), 64);
    assert_int_equal(ocl_flash_head_tier(65), 128);
    assert_int_equal(ocl_flash_head_tier(OCL_FLASH_HEAD_DIM_MAX), OCL_FLASH_HEAD_DIM_MAX);
    assert_int_equal(ocl_flash_head_tier(OCL_FLASH_HEAD_DIM_MAX + 1), 0);
}

/* The core's query kernel: rows on CPUs, tiled elsewhere, forced either
 * way, and the rows whenever qk_matmul_output is asked for. */
static void test_core_kernel(void **state)
{
    (void)state;
    const int64_t few = OCL_CORE_TILED_MIN_ROWS_CPU - 1, many = OCL_CORE_TILED_MIN_ROWS_CPU;
    /* CPUs: rows below OCL_CORE_TILED_MIN_ROWS_CPU packed rows, tiled from there */
    assert_false(ocl_core_use_tiled(OCL_CORE_AUTO, true, false, 1, false));
    assert_false(ocl_core_use_tiled(OCL_CORE_AUTO, true, false, few, false));
    assert_true(ocl_core_use_tiled(OCL_CORE_AUTO, true, false, many, false));
    /* other devices: tiled whatever L */
    assert_true(ocl_core_use_tiled(OCL_CORE_AUTO, false, false, 1, false));
    assert_true(ocl_core_use_tiled(OCL_CORE_AUTO, false, false, many, false));
    /* forced, and qk_matmul_output always on the rows kernel */
    assert_true(ocl_core_use_tiled(OCL_CORE_TILED, true, false, 1, false));
    assert_false(ocl_core_use_tiled(OCL_CORE_ROWS, false, false, many, false));
    assert_false(ocl_core_use_tiled(OCL_CORE_TILED, false, true, many, false));
    assert_false(ocl_core_use_tiled(OCL_CORE_AUTO, false, true, many, false));
    assert_false(ocl_core_use_tiled(OCL_CORE_AUTO, true, true, many, false));
    /* past the loop cap the rows kernel gives way, forced or not, except to
     * qk_matmul_output (core.c refuses that call) */
    assert_true(ocl_core_use_tiled(OCL_CORE_AUTO, true, false, 1, true));
    assert_true(ocl_core_use_tiled(OCL_CORE_ROWS, true, false, 1, true));
    assert_false(ocl_core_use_tiled(OCL_CORE_AUTO, true, true, 1, true));
}

/* The tiled kernel's row width from D and Dv, its keys per tile from the
 * local memory (2*DM floats a key), 0 when not one fits. */
static void test_core_tiles(void **state)
{
    (void)state;
    assert_int_equal(ocl_core_tile_width(1, 1), 16);
    assert_int_equal(ocl_core_tile_width(8, 17), 32);
    assert_int_equal(ocl_core_tile_width(128, 64), 128);
    assert_int_equal(ocl_core_tile_width(129, 1), 256);
    assert_int_equal(ocl_core_tile_width(256, 256), 256);
    assert_int_equal(ocl_core_tile_width(257, 1), 0);
    assert_int_equal(ocl_core_tile_keys(64 * 1024, 128), OCL_CORE_TILE_KEYS);
    assert_int_equal(ocl_core_tile_keys(48 * 1024, 256), 24);
    assert_int_equal(ocl_core_tile_keys(256, 16), 2);
    assert_int_equal(ocl_core_tile_keys(127, 16), 0);
    assert_int_equal(ocl_core_tile_keys(0, 256), OCL_CORE_TILE_KEYS);
}

/* The core's tiled launch: rows per group from the packed rows (group * L)
 * within the work-group limit, keys per tile from local memory, split-K
 * pieces for decoding on a device with many compute units, forced, and
 * under a loop cap. */
static void test_core_plan(void **state)
{
    (void)state;
    ocl_core_plan p;
    /* a GPU-like device, decoding B=1, Hkv=8, 4 query heads per KV head, L=1
     * against 4096 keys, D=Dv=128: 8 groups of 4 rows, 528 groups wanted
     * (132 units x 4): 66 pieces asked, 64 of 2 tiles of 32 keys made */
    const ocl_core_device gpu_like = {256, 48 * 1024, 132, 0};
    assert_int_equal(ocl_core_plan_choose(&gpu_like, 0, 8, 4, 4096, 128, 128, &p), OCL_CORE_PLAN_OK);
    assert_true(p.dm == 128 && p.rows == 4 && p.block_k == 32);
    assert_true(p.splits == 64 && p.split_keys == 64);
    /* prefill there: 8 x 128 groups of 64 rows, no pieces */
    assert_int_equal(ocl_core_plan_choose(&gpu_like, 0, 8, 4 * 2048, 2048, 128, 128, &p),
                     OCL_CORE_PLAN_OK);
    assert_true(p.rows == 64 && p.splits == 1 && p.split_keys == 2048);
    /* a 2-unit CPU decoding B=4: 32 groups, no pieces; forced 3: 3 pieces */
    const ocl_core_device two_units = {4096, 256 * 1024, 2, 0};
    assert_int_equal(ocl_core_plan_choose(&two_units, 0, 32, 4, 4096, 128, 128, &p), OCL_CORE_PLAN_OK);
    assert_true(p.splits == 1 && p.split_keys == 4096);
    assert_int_equal(ocl_core_plan_choose(&two_units, 3, 32, 4, 4096, 128, 128, &p), OCL_CORE_PLAN_OK);
    assert_true(p.splits == 3 && p.split_keys == 43 * 32);
    /* never more pieces than key tiles; no keys: one piece */
    assert_int_equal(ocl_core_plan_choose(&two_units, 1000, 1, 1, 70, 16, 16, &p), OCL_CORE_PLAN_OK);
    assert_true(p.splits == 3 && p.split_keys == 32);
    assert_int_equal(ocl_core_plan_choose(&two_units, 5, 1, 1, 0, 16, 16, &p), OCL_CORE_PLAN_OK);
    assert_int_equal(p.splits, 1);
    /* rows: a power of two, what the packed rows need, within the limit */
    const ocl_core_device narrow = {6, 256 * 1024, 2, 0};
    assert_int_equal(ocl_core_plan_choose(&narrow, 0, 1, 1000, 64, 16, 16, &p), OCL_CORE_PLAN_OK);
    assert_int_equal(p.rows, 4);
    assert_int_equal(ocl_core_plan_choose(&two_units, 0, 1, 3, 64, 16, 16, &p), OCL_CORE_PLAN_OK);
    assert_int_equal(p.rows, 4);
    /* no key tile fits */
    const ocl_core_device tiny = {64, 100, 2, 0};
    assert_int_equal(ocl_core_plan_choose(&tiny, 0, 1, 1, 64, 16, 16, &p), OCL_CORE_PLAN_NO_TILE);
    /* llvmpipe's loop cap: every piece within it, none empty, all keys
     * covered, whatever the shape; too many keys refused */
    const ocl_core_device capped = {256, 64 * 1024, 2, 65535};
    const int64_t lengths[] = {1, 31, 32, 33, 700, 1201, 4096, 65536, 200000};
    const int64_t dims[] = {8, 64, 128, 256};
    const int64_t packs[] = {1, 4, 64, 1000};
    for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; ++t)
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; ++d)
            for (size_t r = 0; r < sizeof packs / sizeof packs[0]; ++r) {
                const int64_t T = lengths[t];
                ocl_core_plan_result result =
                    ocl_core_plan_choose(&capped, 0, 2, packs[r], T, dims[d], dims[d], &p);
                if (result == OCL_CORE_PLAN_LOOP_CAP) {
                    assert_true(T >= 65536); /* only the longest are refused */
                    continue;
                }
                assert_int_equal(result, OCL_CORE_PLAN_OK);
                assert_true(ocl_loops_core_tiled(&p, p.split_keys / p.block_k) <= 65535);
                assert_true(p.split_keys % p.block_k == 0);
                assert_true((int64_t)p.splits * p.split_keys >= T);
                assert_true(T == 0 || (int64_t)(p.splits - 1) * p.split_keys < T);
            }
    assert_int_equal(ocl_core_plan_choose(&capped, 0, 2, 4, 1201, 64, 64, &p), OCL_CORE_PLAN_OK);
    assert_true(p.splits >= 5); /* 38 tiles, at most 9 a piece */
    assert_int_equal(ocl_core_plan_choose(&capped, 0, 1, 1, 10000000, 256, 256, &p),
                     OCL_CORE_PLAN_LOOP_CAP);
    /* the rows kernel's bound: past the cap from a few hundred keys */
    assert_true(ocl_loops_core_rows(300, 64, 64, false) <= 65535);
    assert_true(ocl_loops_core_rows(400, 64, 64, false) > 65535);
    assert_true(ocl_loops_core_rows(300, 64, 64, true) > ocl_loops_core_rows(300, 64, 64, false));
}

/* Tiles from the device's limits: block_q from L within the work-group
 * limit, block_k from the local memory, split-K when few work-groups. */
static void test_flash_plan(void **state)
{
    (void)state;
    const ocl_flash_tiles none = {0, 0, 0};
    ocl_flash_device big = {1024, 65536, 100};
    ocl_flash_plan p;
    /* prefill: 8 heads x 32 blocks of 64 queries = 256 groups, 64 KB: block_k 64 */
    assert_true(ocl_flash_plan_choose(&big, &none, 8, 2048, 2048, 64, &p));
    assert_true(p.dm == 64 && p.block_q == 64 && p.block_k == 64);
    assert_true(p.splits == 2 && p.split_keys == 1024); /* 256 < 400 groups wanted */
    big.compute_units = 16;
    assert_true(ocl_flash_plan_choose(&big, &none, 8, 2048, 2048, 64, &p));
    assert_true(p.splits == 1 && p.split_keys == 64 * 32);
    /* decoding: 8 groups of 16 work-items, cut into pieces of whole tiles */
    assert_true(ocl_flash_plan_choose(&big, &none, 8, 1, 4096, 64, &p));
    assert_true(p.block_q == 16 && p.splits == 8 && p.split_keys == 512);
    /* a piece is a tile at least: 3 tiles, 3 pieces */
    assert_true(ocl_flash_plan_choose(&big, &none, 1, 1, 150, 64, &p));
    assert_true(p.splits == 3 && p.split_keys == 64);
    /* 32 KB and D = 128: 2 x 64 x 128 floats do not fit, 2 x 32 x 128 do */
    ocl_flash_device small = {256, 32768, 1};
    assert_true(ocl_flash_plan_choose(&small, &none, 64, 512, 512, 128, &p));
    assert_true(p.dm == 128 && p.block_k == 32 && p.block_q == 64 && p.splits == 1);
    /* a work-group limit of 48: block_q 32 */
    small.work_group = 48;
    assert_true(ocl_flash_plan_choose(&small, &none, 64, 512, 512, 128, &p));
    assert_true(p.block_q == 32);
    /* too little local memory for 2 x 16 x 128 floats: refused */
    small.local_mem = 2 * 16 * 128 * 4 - 1;
    assert_false(ocl_flash_plan_choose(&small, &none, 64, 512, 512, 128, &p));
    assert_false(ocl_flash_plan_choose(&big, &none, 1, 1, 1, OCL_FLASH_HEAD_DIM_MAX + 1, &p));
    /* forced tiles: kept within the limits; splits never leave a piece empty */
    const ocl_flash_tiles forced = {8, 48, 5};
    assert_true(ocl_flash_plan_choose(&big, &forced, 2, 10, 100, 8, &p));
    assert_true(p.dm == 16 && p.block_q == 8 && p.block_k == 48);
    assert_true(p.splits == 3 && p.split_keys == 48); /* 3 tiles of 48 for 100 keys */
    const ocl_flash_tiles huge = {1024, 1024, 1};
    small.local_mem = 32768, small.work_group = 256;
    assert_true(ocl_flash_plan_choose(&small, &huge, 2, 10, 100, 8, &p));
    /* 2 x 256 x 16 floats fill the 32 KB */
    assert_true(p.block_q == 256 && p.block_k == 256 && p.splits == 1);
    assert_true(ocl_flash_plan_choose(&small, &huge, 2, 10, 100, 128, &p));
    assert_true(p.block_k == 32);
}

/* A device with a loop cap (llvmpipe: 65535 iterations per work-item in
 * all) takes the fused kernels and mha_softmax_items only where their
 * bounds stay within it, forced or not: the GEMM path and columns past it,
 * group past columns; without a cap nothing changes. The shapes that ran
 * wrong on rusticl before the rule (the forward suite's edges and softmax
 * grids, docs/portability.md) are past it. */
static void test_loop_cap(void **state)
{
    (void)state;
    ocl_path_rules capped = cpu;
    capped.loop_cap = 65535;
    mha_problem small = problem(2, 12, 9, 0, 16, 4);     /* the suite's usual sizes */
    mha_problem edge = problem(1, 3, 601, 0, 8, 2);      /* S = 601 (test_edges) */
    mha_problem rows = problem(3, 301, 301, 0, 7, 1);    /* L = S = 301 (softmax grid) */
    mha_problem long_keys = problem(1, 4, 20000, 0, 8, 2); /* past columns too */
    assert_int_equal(ocl_path_choose(&capped, &small), OCL_PATH_FUSED);
    assert_int_equal(ocl_softmax_choose(&capped, &small), OCL_SOFTMAX_ITEMS);
    ocl_path_rules weights = capped;
    weights.weights = true;
    assert_true(ocl_loops_fused(&edge, false) <= 65535); /* one pass: fits */
    assert_int_equal(ocl_path_choose(&capped, &edge), OCL_PATH_FUSED);
    assert_true(ocl_loops_fused(&edge, true) > 65535); /* weights: two passes per head */
    assert_int_equal(ocl_path_choose(&weights, &edge), OCL_PATH_GEMM);
    assert_int_equal(ocl_path_choose(&cpu, &edge), OCL_PATH_FUSED); /* no cap */
    ocl_path_rules forced_fused = forced(weights, OCL_PATH_FUSED);
    ocl_path_rules forced_absorbed = forced(capped, OCL_PATH_ABSORBED);
    assert_int_equal(ocl_path_choose(&forced_fused, &edge), OCL_PATH_GEMM);
    assert_true(ocl_loops_absorbed(&rows) > 65535); /* forced absorbed: the GEMMs */
    assert_int_equal(ocl_path_choose(&forced_absorbed, &rows), OCL_PATH_GEMM);
    assert_int_equal(ocl_path_choose(&forced_absorbed, &small), OCL_PATH_ABSORBED);
    assert_true(ocl_loops_items(&rows) > 65535);
    assert_int_equal(ocl_softmax_choose(&capped, &rows), OCL_SOFTMAX_COLUMNS);
    ocl_path_rules items = capped;
    items.softmax = OCL_SOFTMAX_ITEMS;
    assert_int_equal(ocl_softmax_choose(&items, &rows), OCL_SOFTMAX_COLUMNS);
    assert_int_equal(ocl_softmax_choose(&cpu, &rows), OCL_SOFTMAX_ITEMS);
    assert_true(ocl_loops_columns(&long_keys) > 65535);
    assert_int_equal(ocl_softmax_choose(&capped, &long_keys), OCL_SOFTMAX_GROUP);
    ocl_path_rules gpu_capped = gpu;
    gpu_capped.loop_cap = 65535;
    assert_int_equal(ocl_softmax_choose(&gpu_capped, &long_keys), OCL_SOFTMAX_GROUP);
    /* where llvmpipe's limit was reached (H = 2, L = 24, forced fused
     * kernels): past the bound; the shape before it fits for D = 64 */
    const int64_t limit_reached[][2] = {{8, 588}, {16, 304}, {32, 140}, {64, 64}, {128, 4}};
    for (int i = 0; i < 5; ++i) {
        mha_problem at = problem(1, 24, limit_reached[i][1], 0, 2 * limit_reached[i][0], 2);
        assert_true(ocl_loops_fused(&at, false) > 65535);
    }
    mha_problem weights_at = problem(1, 24, 184, 0, 16, 2);
    assert_true(ocl_loops_fused(&weights_at, true) > 65535);
    mha_problem d64 = problem(1, 24, 20, 0, 128, 2);
    assert_true(ocl_loops_fused(&d64, false) <= 65535);
    /* the bounds grow with the keys and head_dim */
    mha_problem more = problem(1, 3, 1201, 0, 8, 2);
    assert_true(ocl_loops_fused(&more, false) > ocl_loops_fused(&edge, false));
    assert_true(ocl_loops_items(&more) > ocl_loops_items(&edge));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_fused_up_to_head_dim_max),
        cmocka_unit_test(test_gpu_flash),
        cmocka_unit_test(test_cpu_absorbed_by_gain),
        cmocka_unit_test(test_forced),
        cmocka_unit_test(test_gemm_only),
        cmocka_unit_test(test_kv_in_place),
        cmocka_unit_test(test_flash_kv_in_place),
        cmocka_unit_test(test_softmax_choice),
        cmocka_unit_test(test_loop_cap),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_flash_loop_cap),
        cmocka_unit_test(test_flash_tiles_parse),
        cmocka_unit_test(test_flash_head_tier),
        cmocka_unit_test(test_flash_plan),
        cmocka_unit_test(test_core_kernel),
        cmocka_unit_test(test_core_tiles),
        cmocka_unit_test(test_core_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
