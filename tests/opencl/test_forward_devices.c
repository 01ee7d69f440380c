/*
 * test_forward_devices.c - the plugin's devices through the public API:
 * listing, bad specs, MHA_OPENCL_DEVICE, and a call too large for the device.
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

void test_devices(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    size_t count = 0;
    assert_int_equal(mha_plugin_device_count("opencl", &count), MHA_STATUS_OK);
    for (size_t i = 0; i < count; ++i) {
        mha_device_info info = {.struct_size = sizeof info};
        assert_int_equal(mha_plugin_device_info("opencl", i, &info), MHA_STATUS_OK);
        assert_true(strchr(info.spec, '.') != NULL);
        assert_true(info.name[0] != '\0');
        assert_true(!strcmp(info.kind, "cpu") || !strcmp(info.kind, "gpu") ||
                    !strcmp(info.kind, "accelerator") || !strcmp(info.kind, "other"));
        assert_true(info.compute_units > 0);
    }
    mha_device_info info = {.struct_size = sizeof info};
    assert_int_equal(mha_backend_device_info(f->ocl, &info), MHA_STATUS_OK);
    assert_string_equal(mha_backend_plugin_name(f->ocl), "opencl");
}

void test_bad_device_spec(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    static const char *specs[] = {"opencl:no-such-device-xyzzy", "opencl:999", "opencl:7.7"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; ++i) {
        mha_backend *b = NULL;
        assert_int_equal(mha_backend_open(specs[i], &b), MHA_STATUS_NOT_FOUND);
        assert_null(b);
        const char *spec = strchr(specs[i], ':') + 1;
        if (!strstr(mha_last_error(), spec))
            fail_msg("message \"%s\" does not name \"%s\"", mha_last_error(), spec);
    }
}

/* "" picks the device named by MHA_OPENCL_DEVICE when it is set. */
void test_device_env(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_backend *b = NULL;
    setenv("MHA_OPENCL_DEVICE", "no-such-device-from-env", 1);
    assert_int_equal(mha_backend_open("opencl", &b), MHA_STATUS_NOT_FOUND);
    assert_non_null(strstr(mha_last_error(), "no-such-device-from-env"));
    setenv("MHA_OPENCL_DEVICE", "0", 1);
    assert_int_equal(mha_backend_open("opencl", &b), MHA_STATUS_OK);
    mha_device_info a = {.struct_size = sizeof a}, z = {.struct_size = sizeof z};
    assert_int_equal(mha_backend_device_info(b, &a), MHA_STATUS_OK);
    assert_int_equal(mha_plugin_device_info("opencl", 0, &z), MHA_STATUS_OK);
    assert_string_equal(a.spec, z.spec);
    mha_backend_close(b);
    unsetenv("MHA_OPENCL_DEVICE");
}

/* A call too large for the device fails with a named OpenCL error, and the
 * same attention object then works again. */
void test_device_out_of_memory(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case huge, ok;
    memset(&huge, 0, sizeof huge);
    huge.E = 2, huge.H = 1, huge.kdim = huge.vdim = 2, huge.N = 1, huge.batched = true;
    huge.L = huge.S = 300000; /* scores: 9e10 floats */
    huge.self_attention = true;
    ok = huge;
    ok.L = ok.S = 5;
    tk_case_fill(&huge, 11);
    tk_case_fill(&ok, 11); /* same seed: the same weights as `huge` */
    mha_attention *att = NULL;
    /* the GEMM path, whose L x S' matrix cannot fit (the fused kernel
     * holds no such matrix, and would run this to the end) */
    char *saved = env_set("MHA_OPENCL_ATTENTION", "gemm");
    assert_int_equal(tk_case_attention(&huge, f->ocl, &att), MHA_STATUS_OK);
    env_restore("MHA_OPENCL_ATTENTION", saved);
    float *out = calloc(huge.out_count, sizeof(float));
    mha_status st = tk_case_run(&huge, f->ocl, att, out, NULL, NULL);
    assert_int_equal(st, MHA_STATUS_OUT_OF_MEMORY);
    if (!strstr(mha_last_error(), "CL_"))
        fail_msg("message does not name the OpenCL error: %s", mha_last_error());
    float expect[10], got[10];
    assert_int_equal(tk_case_run(&ok, f->ocl, att, got, NULL, NULL), MHA_STATUS_OK);
    assert_int_equal(tk_case_run(&ok, f->ref, NULL, expect, NULL, NULL), MHA_STATUS_OK);
    assert_true(tk_first_bad(got, expect, ok.out_count, OCL_TOL) < 0);
    mha_attention_destroy(att);
    free(out);
    tk_case_free(&huge);
    tk_case_free(&ok);
}
