/*
 * ocl_test.h - what the OpenCL plugin's tests share besides the test kit
 * (host/common/testkit_*.h: cases, comparator, tolerance table).
 */
#ifndef MHA_TEST_OCL_TEST_H
#define MHA_TEST_OCL_TEST_H

#include "testkit_case.h"
#include "testkit_compare.h"

/* The OpenCL plugin against the reference plugin (or PyTorch): float32
 * accumulation, |opencl - reference| <= 1e-4 + 1e-3 * |reference|. */
#define OCL_TOL tk_tolerance_for(TK_ACCUMULATE_F32)

/* In a cmocka test: skip it when the fixture has no OpenCL backend (no device). */
#define OCL_NEED_DEVICE(f)                                \
    do {                                                  \
        if (!(f)->ocl) {                                  \
            print_message("no OpenCL device: skipped\n"); \
            skip();                                       \
        }                                                 \
    } while (0)

#endif
