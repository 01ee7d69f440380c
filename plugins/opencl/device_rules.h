/*
 * device_rules.h - what the plugin makes of a device's own description
 * (device_rules.c): its kind, whether its OpenCL version is enough, the
 * default choice among devices, and the loop cap of Mesa's llvmpipe. Pure
 * functions of the strings and bits the driver reports: no OpenCL calls, so
 * tests/opencl/test_device_rules.c checks them without a device.
 */
#ifndef MHA_OPENCL_DEVICE_RULES_H
#define MHA_OPENCL_DEVICE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

/* The one rule for "cpu-like", which `mha devices` shows as the kind and
 * the path rules follow: a device that sets CL_DEVICE_TYPE_CPU is a CPU,
 * whatever other bits it sets (Oclgrind, a simulator on the CPU, sets all
 * four); else GPU, else accelerator, else other. */
typedef enum ocl_device_kind {
    OCL_DEVICE_CPU,
    OCL_DEVICE_GPU,
    OCL_DEVICE_ACCELERATOR,
    OCL_DEVICE_OTHER,
} ocl_device_kind;
ocl_device_kind ocl_device_kind_of(cl_device_type type);
const char *ocl_device_kind_name(ocl_device_kind kind); /* "cpu", "gpu", ... */

/* CL_DEVICE_VERSION, "OpenCL <major>.<minor> <vendor text>", into its
 * numbers; false when the text is not of that form. */
bool ocl_device_version_parse(const char *text, unsigned *major, unsigned *minor);
/* The plugin needs OpenCL 1.2 (clEnqueueMarkerWithWaitList, sub-buffer
 * offsets, the kernels' OpenCL C): true from 1.2 up, and for a version text
 * that does not parse (the plugin's own build then says what is missing). */
#define OCL_DEVICE_MIN_MAJOR 1
#define OCL_DEVICE_MIN_MINOR 2
bool ocl_device_version_enough(const char *text);

/* What the default choice knows of each device. */
typedef struct ocl_device_choice {
    ocl_device_kind kind;
    bool usable; /* OpenCL version enough */
} ocl_device_choice;
/* The default device among `count`: the first usable GPU, else the first
 * usable device; `count` when none is usable. */
size_t ocl_device_default(const ocl_device_choice *devices, size_t count);

/* The most loop iterations one work-item may run in all, 0 for no known cap.
 * Mesa's llvmpipe (under rusticl or Clover) gives each invocation one loop
 * limiter of 65535 (gallivm's LP_MAX_TGSI_LOOP_ITERATIONS), counted down at
 * every iteration of every loop, nested or one after the other, and leaves
 * every loop once it is spent: a kernel that needs more runs on silently
 * with wrong results (measured: docs/portability.md). */
#define OCL_LLVMPIPE_LOOP_CAP 65535u
uint32_t ocl_device_loop_cap(const char *device_name);

#endif /* MHA_OPENCL_DEVICE_RULES_H */
