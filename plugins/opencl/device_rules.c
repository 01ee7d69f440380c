/* device_rules.c - the device rules (device_rules.h). No OpenCL calls;
 * tests/opencl/test_device_rules.c links this file alone. */
#include <string.h>

#include "device_rules.h"

ocl_device_kind ocl_device_kind_of(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_CPU)
        return OCL_DEVICE_CPU;
    if (type & CL_DEVICE_TYPE_GPU)
        return OCL_DEVICE_GPU;
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return OCL_DEVICE_ACCELERATOR;
    return OCL_DEVICE_OTHER;
}

const char *ocl_device_kind_name(ocl_device_kind kind)
{
    switch (kind) {
    case OCL_DEVICE_CPU:
        return "cpu";
    case OCL_DEVICE_GPU:
        return "gpu";
    case OCL_DEVICE_ACCELERATOR:
        return "accelerator";
    default:
        return "other";
    }
}

/* A run of decimal digits at *s (at most 4: a version number), advancing
 * *s past it. */
static bool parse_number(const char **s, unsigned *out)
{
    unsigned value = 0;
    int digits = 0;
    while (**s >= '0' && **s <= '9' && digits < 5) {
        value = value * 10u + (unsigned)(**s - '0');
        ++*s, ++digits;
    }
    *out = value;
    return digits > 0 && digits < 5;
}

bool ocl_device_version_parse(const char *text, unsigned *major, unsigned *minor)
{
    static const char prefix[] = "OpenCL ";
    *major = *minor = 0;
    if (!text || strncmp(text, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *s = text + sizeof prefix - 1;
    unsigned a = 0, b = 0;
    if (!parse_number(&s, &a) || *s++ != '.' || !parse_number(&s, &b))
        return false;
    if (*s != '\0' && *s != ' ')
        return false;
    *major = a, *minor = b;
    return true;
}

bool ocl_device_version_enough(const char *text)
{
    unsigned major = 0, minor = 0;
    if (!ocl_device_version_parse(text, &major, &minor))
        return true;
    return major > OCL_DEVICE_MIN_MAJOR ||
           (major == OCL_DEVICE_MIN_MAJOR && minor >= OCL_DEVICE_MIN_MINOR);
}

size_t ocl_device_default(const ocl_device_choice *devices, size_t count)
{
    for (size_t i = 0; i < count; ++i)
        if (devices[i].usable && devices[i].kind == OCL_DEVICE_GPU)
            return i;
    for (size_t i = 0; i < count; ++i)
        if (devices[i].usable)
            return i;
    return count;
}

uint32_t ocl_device_loop_cap(const char *device_name)
{
    /* llvmpipe names itself "llvmpipe (LLVM 15.0.6, 256 bits)" */
    return device_name && strncmp(device_name, "llvmpipe", 8) == 0 ? OCL_LLVMPIPE_LOOP_CAP : 0;
}
