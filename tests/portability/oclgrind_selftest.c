/*
 * oclgrind_selftest.c - a kernel with a known bug (an out-of-bounds write and
 * a write-write data race), so that the ctests can show oclgrind_check.sh
 * catches what Oclgrind reports: run as `oclgrind_selftest ours` its kernel
 * is called mha_selftest, a name of ours, and the check must fail (the ctest
 * has WILL_FAIL); as `oclgrind_selftest theirs` it is called selftest, a
 * name that is not ours (like CLBlast's kernels), and the check must list
 * the reports and pass. `oclgrind_selftest uninit` runs mha_selftest_uninit,
 * which copies values nothing wrote (and has no other bug): under Oclgrind's
 * uninitialised-value checker the check must fail.
 *
 * Exit status: 0 when the kernel ran, 1 on an OpenCL error, 77 without a
 * device, 2 on a usage error.
 */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Every work-item writes its own id to a[0] (a race between work-items of
 * one group) and one past the end of the buffer of n floats. */
static const char *g_source =
    "kernel void KERNEL(global float *a, int n)\n"
    "{\n"
    "    a[0] = (float)get_global_id(0);\n"
    "    a[n + (int)get_global_id(0)] = 1.0f;\n"
    "}\n";

/* Work-item i copies a[i], which nothing wrote, to a[4 + i]: within bounds
 * (4 work-items, n = 16), no race. */
static const char *g_source_uninit =
    "kernel void KERNEL(global float *a, int n)\n"
    "{\n"
    "    const int i = (int)get_global_id(0);\n"
    "    if (i + 4 < n)\n"
    "        a[i + 4] = a[i];\n"
    "}\n";

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "ours") != 0 && strcmp(argv[1], "theirs") != 0 &&
                      strcmp(argv[1], "uninit") != 0)) {
        fprintf(stderr, "usage: oclgrind_selftest ours|theirs|uninit\n");
        return 2;
    }
    const bool uninit = strcmp(argv[1], "uninit") == 0;
    const char *name = uninit                           ? "mha_selftest_uninit"
                       : strcmp(argv[1], "ours") == 0 ? "mha_selftest"
                                                      : "selftest";
    const char *source = uninit ? g_source_uninit : g_source;
    char options[64];
    /* -cl-opt-disable as our programs are built under the checker (at -O2
     * it stops at LLVM's freeze, docs/portability.md) */
    snprintf(options, sizeof options, "-DKERNEL=%s%s", name, uninit ? " -cl-opt-disable" : "");
    cl_platform_id platform;
    cl_device_id device;
    cl_uint count = 0;
    if (clGetPlatformIDs(1, &platform, &count) != CL_SUCCESS || count == 0 ||
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL) != CL_SUCCESS) {
        fprintf(stderr, "oclgrind_selftest: no OpenCL device: skipped\n");
        return 77;
    }
    cl_int err = CL_SUCCESS;
    int rc = 1;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_command_queue queue = NULL;
    cl_program program = NULL;
    cl_kernel kernel = NULL;
    cl_mem buffer = NULL;
    if (err != CL_SUCCESS)
        goto done;
    queue = clCreateCommandQueue(context, device, 0, &err);
    if (err != CL_SUCCESS)
        goto done;
    program = clCreateProgramWithSource(context, 1, &source, NULL, &err);
    if (err != CL_SUCCESS || (err = clBuildProgram(program, 1, &device, options, NULL, NULL)) !=
                                 CL_SUCCESS)
        goto done;
    kernel = clCreateKernel(program, name, &err);
    const cl_int n = 16;
    const size_t global = 4, local = 4;
    if (err == CL_SUCCESS)
        buffer = clCreateBuffer(context, CL_MEM_READ_WRITE, (size_t)n * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 0, sizeof buffer, &buffer);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(kernel, 1, sizeof n, &n);
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clFinish(queue);
    if (err == CL_SUCCESS)
        rc = 0;
done:
    if (err != CL_SUCCESS)
        fprintf(stderr, "oclgrind_selftest: OpenCL error %d\n", (int)err);
    if (buffer)
        clReleaseMemObject(buffer);
    if (kernel)
        clReleaseKernel(kernel);
    if (program)
        clReleaseProgram(program);
    if (queue)
        clReleaseCommandQueue(queue);
    if (context)
        clReleaseContext(context);
    return rc;
}
