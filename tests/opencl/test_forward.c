/*
 * test_forward.c - the OpenCL plugin against the reference plugin, through
 * the public API: the forward suite (ctests opencl_forward and one per path,
 * tests/opencl/CMakeLists.txt). The tests live in test_forward_*.c by concern,
 * sharing forward_fixture.h (backends, tolerance, case check) and
 * forward_grid.h (the case grids, which the cache-warming fixture runs too).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "forward_fixture.h"

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_bad_device_spec),
        cmocka_unit_test(test_device_env),
        cmocka_unit_test(test_device_out_of_memory),
        cmocka_unit_test(test_program_cache),
        cmocka_unit_test(test_program_cache_private),
        cmocka_unit_test(test_build_failure),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_softmax_kernels),
        cmocka_unit_test(test_attention_paths),
        cmocka_unit_test(test_projection_padding),
        cmocka_unit_test(test_nan_only_unmasked),
        cmocka_unit_test(test_dropout_mask),
        cmocka_unit_test(test_steady_state_allocations),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_absorbed_choice),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("opencl_forward", tests, forward_group_setup,
                                       forward_group_teardown);
}
