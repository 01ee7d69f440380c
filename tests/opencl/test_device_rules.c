/*
 * test_device_rules.c - what the OpenCL plugin makes of a device's own
 * description (plugins/opencl/device_rules.c): its kind (the one "cpu-like"
 * rule of `mha devices` and the path rules), its OpenCL version, the default
 * choice among devices, llvmpipe's loop cap. Links device_rules.c alone: no
 * device, no plugin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "device_rules.h"

/* A device that sets the CPU bit is a CPU whatever else it sets: Oclgrind
 * reports all four bits (0xF) and takes the CPU paths, so `mha devices` says
 * cpu too (it said gpu). */
static void test_kind(void **state)
{
    (void)state;
    assert_int_equal(ocl_device_kind_of(CL_DEVICE_TYPE_CPU), OCL_DEVICE_CPU);
    assert_int_equal(ocl_device_kind_of(CL_DEVICE_TYPE_GPU), OCL_DEVICE_GPU);
    assert_int_equal(ocl_device_kind_of(CL_DEVICE_TYPE_ACCELERATOR), OCL_DEVICE_ACCELERATOR);
    assert_int_equal(ocl_device_kind_of(CL_DEVICE_TYPE_CUSTOM), OCL_DEVICE_OTHER);
    assert_int_equal(ocl_device_kind_of(0xF), OCL_DEVICE_CPU); /* Oclgrind */
    assert_int_equal(ocl_device_kind_of(CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_DEFAULT),
                     OCL_DEVICE_GPU);
    assert_string_equal(ocl_device_kind_name(ocl_device_kind_of(0xF)), "cpu");
    assert_string_equal(ocl_device_kind_name(OCL_DEVICE_GPU), "gpu");
    assert_string_equal(ocl_device_kind_name(OCL_DEVICE_ACCELERATOR), "accelerator");
    assert_string_equal(ocl_device_kind_name(OCL_DEVICE_OTHER), "other");
}

static void test_version(void **state)
{
    (void)state;
    unsigned major = 9, minor = 9;
    assert_true(ocl_device_version_parse("OpenCL 1.1 Mesa 22.3.6", &major, &minor)); /* Clover */
    assert_int_equal(major, 1);
    assert_int_equal(minor, 1);
    assert_true(ocl_device_version_parse("OpenCL 3.0 ", &major, &minor)); /* rusticl */
    assert_int_equal(major, 3);
    assert_int_equal(minor, 0);
    assert_true(ocl_device_version_parse("OpenCL 1.2", &major, &minor));
    assert_true(ocl_device_version_parse("OpenCL 12.10 x", &major, &minor));
    assert_int_equal(major, 12);
    assert_int_equal(minor, 10);
    assert_false(ocl_device_version_parse("OpenCL1.2", &major, &minor));
    assert_int_equal(major, 0);
    assert_false(ocl_device_version_parse("OpenCL 1", &major, &minor));
    assert_false(ocl_device_version_parse("OpenCL 1.2x", &major, &minor));
    assert_false(ocl_device_version_parse("OpenCL .2", &major, &minor));
    assert_false(ocl_device_version_parse("OpenCL 123456.1", &major, &minor));
    assert_false(ocl_device_version_parse("", &major, &minor));
    assert_false(ocl_device_version_parse(NULL, &major, &minor));

    assert_false(ocl_device_version_enough("OpenCL 1.1 Mesa 22.3.6"));
    assert_false(ocl_device_version_enough("OpenCL 1.0"));
    assert_true(ocl_device_version_enough("OpenCL 1.2 pocl 3.1"));
    assert_true(ocl_device_version_enough("OpenCL 2.0"));
    assert_true(ocl_device_version_enough("OpenCL 3.0 "));
    /* a text that does not parse is not held against the device */
    assert_true(ocl_device_version_enough("something else"));
}

/* The first usable GPU, else the first usable device: a 1.1 GPU (Clover)
 * before a 1.2 CPU is passed over; none usable gives the count. */
static void test_default(void **state)
{
    (void)state;
    const ocl_device_choice clover_then_pocl[] = {{OCL_DEVICE_GPU, false}, {OCL_DEVICE_CPU, true}};
    assert_int_equal(ocl_device_default(clover_then_pocl, 2), 1);
    const ocl_device_choice cpu_then_gpu[] = {{OCL_DEVICE_CPU, true}, {OCL_DEVICE_GPU, true}};
    assert_int_equal(ocl_device_default(cpu_then_gpu, 2), 1);
    const ocl_device_choice oclgrind_then_pocl[] = {{ocl_device_kind_of(0xF), true},
                                                    {OCL_DEVICE_CPU, true}};
    assert_int_equal(ocl_device_default(oclgrind_then_pocl, 2), 0);
    const ocl_device_choice old_only[] = {{OCL_DEVICE_GPU, false}, {OCL_DEVICE_CPU, false}};
    assert_int_equal(ocl_device_default(old_only, 2), 2);
    assert_int_equal(ocl_device_default(NULL, 0), 0);
}

static void test_loop_cap(void **state)
{
    (void)state;
    assert_int_equal(ocl_device_loop_cap("llvmpipe (LLVM 15.0.6, 256 bits)"), 65535);
    assert_int_equal(ocl_device_loop_cap("pthread-skylake-avx512-Intel(R) Xeon(R) Processor"), 0);
    assert_int_equal(ocl_device_loop_cap("Oclgrind Simulator"), 0);
    assert_int_equal(ocl_device_loop_cap(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_loop_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
