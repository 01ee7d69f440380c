/*
 * test_philox.c - cl/philox.cl must reproduce include/mha/philox.h bit for
 * bit: the same 4 words for the same counter and key, the same uniform and
 * the same keep decision for the same (seed, idx). Runs the embedded kernel
 * source on the first OpenCL device; skipped when there is none.
 */
#define CL_TARGET_OPENCL_VERSION 120
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/philox.h"

extern const unsigned char mha_cl_philox[];
extern const size_t mha_cl_philox_len;
extern const unsigned char mha_test_philox_kernels[];
extern const size_t mha_test_philox_kernels_len;

typedef struct cl_env {
    cl_context ctx;
    cl_command_queue queue;
    cl_program program;
    cl_device_id dev;
} cl_env;

static int setup(void **state)
{
    static cl_env env;
    memset(&env, 0, sizeof env);
    *state = &env;
    cl_platform_id plats[8];
    cl_uint np = 0;
    if (clGetPlatformIDs(8, plats, &np) != CL_SUCCESS || np == 0)
        return 0;
    cl_int err = CL_DEVICE_NOT_FOUND;
    for (cl_uint p = 0; p < np && err != CL_SUCCESS; ++p)
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 1, &env.dev, NULL);
    if (err != CL_SUCCESS)
        return 0;
    env.ctx = clCreateContext(NULL, 1, &env.dev, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return -1;
    env.queue = clCreateCommandQueue(env.ctx, env.dev, 0, &err);
    if (err != CL_SUCCESS)
        return -1;
    const char *src[2] = {(const char *)mha_cl_philox, (const char *)mha_test_philox_kernels};
    size_t len[2] = {mha_cl_philox_len, mha_test_philox_kernels_len};
    env.program = clCreateProgramWithSource(env.ctx, 2, src, len, &err);
    if (err != CL_SUCCESS)
        return -1;
    err = clBuildProgram(env.program, 1, &env.dev, "-cl-std=CL1.2", NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[4096] = "";
        clGetProgramBuildInfo(env.program, env.dev, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        fprintf(stderr, "build failed (%d):\n%s\n", (int)err, log);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    cl_env *env = *state;
    if (env->program)
        clReleaseProgram(env->program);
    if (env->queue)
        clReleaseCommandQueue(env->queue);
    if (env->ctx)
        clReleaseContext(env->ctx);
    return 0;
}

static cl_mem buffer(cl_env *env, size_t bytes, void *init)
{
    cl_int err;
    cl_mem m = clCreateBuffer(env->ctx, CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes, init, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void run(cl_env *env, cl_kernel k, size_t n)
{
    assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clFinish(env->queue), CL_SUCCESS);
}

static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

#define WORD_CASES 1024
static void test_words(void **state)
{
    cl_env *env = *state;
    if (!env->ctx)
        skip();
    static uint32_t in[WORD_CASES * 6], out[WORD_CASES * 4];
    uint64_t s = 1;
    for (size_t i = 0; i < WORD_CASES * 6; ++i)
        in[i] = lcg(&s);
    /* edge values */
    memset(in, 0, 6 * sizeof(uint32_t));
    for (int j = 0; j < 6; ++j)
        in[6 + j] = 0xffffffffu;
    cl_mem bin = buffer(env, sizeof in, in), bout = buffer(env, sizeof out, NULL);
    cl_int err;
    cl_kernel k = clCreateKernel(env->program, "philox_words", &err);
    assert_int_equal(err, CL_SUCCESS);
    clSetKernelArg(k, 0, sizeof bin, &bin);
    clSetKernelArg(k, 1, sizeof bout, &bout);
    run(env, k, WORD_CASES);
    assert_int_equal(clEnqueueReadBuffer(env->queue, bout, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    for (size_t i = 0; i < WORD_CASES; ++i) {
        uint32_t expect[4];
        mha_philox4x32_10(&in[6 * i], &in[6 * i + 4], expect);
        for (int w = 0; w < 4; ++w)
            if (expect[w] != out[4 * i + w])
                fail_msg("case %zu word %d: opencl 0x%08x, philox.h 0x%08x", i, w, out[4 * i + w],
                         expect[w]);
    }
    clReleaseKernel(k);
    clReleaseMemObject(bin);
    clReleaseMemObject(bout);
}

/* Random123's published known answer for Philox4x32-10 (counter = key = 0,
 * and all ones), checked on the C side so both streams are anchored. */
static void test_known_answers(void **state)
{
    (void)state;
    uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0}, r[4];
    mha_philox4x32_10(c0, k0, r);
    assert_int_equal(r[0], 0x6627e8d5u);
    assert_int_equal(r[1], 0xe169c58du);
    assert_int_equal(r[2], 0xbc57ac4cu);
    assert_int_equal(r[3], 0x9b00dbd8u);
    uint32_t c1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    uint32_t k1[2] = {0xffffffffu, 0xffffffffu};
    mha_philox4x32_10(c1, k1, r);
    assert_int_equal(r[0], 0x408f276du);
    assert_int_equal(r[1], 0x41c83b0eu);
    assert_int_equal(r[2], 0xa20bc7c6u);
    assert_int_equal(r[3], 0x6d5451fdu);
}

#define U_CASES 4096
static void test_uniform_and_keep(void **state)
{
    cl_env *env = *state;
    if (!env->ctx)
        skip();
    static cl_ulong seeds[U_CASES], idx[U_CASES];
    static float u[U_CASES];
    static cl_int keep[U_CASES];
    uint64_t s = 7;
    for (size_t i = 0; i < U_CASES; ++i) {
        seeds[i] = i < 8 ? (cl_ulong)i : ((cl_ulong)lcg(&s) << 32 | lcg(&s));
        /* small indices, consecutive runs, and indices past 2^32 and 2^34 */
        idx[i] = i < U_CASES / 2 ? (cl_ulong)i : ((cl_ulong)lcg(&s) << (i % 3 ? 2 : 20)) + i % 4;
    }
    const float p = 0.3f;
    cl_mem bs = buffer(env, sizeof seeds, seeds), bi = buffer(env, sizeof idx, idx);
    cl_mem bu = buffer(env, sizeof u, NULL), bk = buffer(env, sizeof keep, NULL);
    cl_int err;
    cl_kernel k = clCreateKernel(env->program, "philox_uniform", &err);
    assert_int_equal(err, CL_SUCCESS);
    clSetKernelArg(k, 0, sizeof bs, &bs);
    clSetKernelArg(k, 1, sizeof bi, &bi);
    clSetKernelArg(k, 2, sizeof p, &p);
    clSetKernelArg(k, 3, sizeof bu, &bu);
    clSetKernelArg(k, 4, sizeof bk, &bk);
    run(env, k, U_CASES);
    clEnqueueReadBuffer(env->queue, bu, CL_TRUE, 0, sizeof u, u, 0, NULL, NULL);
    clEnqueueReadBuffer(env->queue, bk, CL_TRUE, 0, sizeof keep, keep, 0, NULL, NULL);
    for (size_t i = 0; i < U_CASES; ++i) {
        float e = mha_dropout_uniform(seeds[i], idx[i]);
        if (memcmp(&e, &u[i], sizeof e) != 0)
            fail_msg("seed %llu idx %llu: opencl u %.9g, philox.h %.9g", (unsigned long long)seeds[i],
                     (unsigned long long)idx[i], (double)u[i], (double)e);
        assert_int_equal(keep[i], mha_dropout_keep(seeds[i], idx[i], p));
    }
    clReleaseKernel(k);
    clReleaseMemObject(bs);
    clReleaseMemObject(bi);
    clReleaseMemObject(bu);
    clReleaseMemObject(bk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_uniform_and_keep),
    };
    return cmocka_run_group_tests_name("opencl_philox", tests, setup, teardown);
}
