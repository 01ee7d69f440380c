/* errors.c - OpenCL and CLBlast status codes to mha_status, with their names. */
#include "internal.h"

/* X(name, code, mha status) for every OpenCL 1.2 error code (plus the ICD
 * loader's "no platform"). A work-group or work-item size the device refuses
 * is the device's limit (a driver that takes less than it reported, or a
 * CLBlast tuning beyond it), not a bug of ours: DEVICE_ERROR, and launch.c
 * names the sizes. */
#define OCL_CL_ERROR_MAP(X)                                           \
    X(CL_SUCCESS, 0, OK)                                              \
    X(CL_DEVICE_NOT_FOUND, -1, NOT_FOUND)                             \
    X(CL_DEVICE_NOT_AVAILABLE, -2, DEVICE_ERROR)                      \
    X(CL_COMPILER_NOT_AVAILABLE, -3, BUILD_ERROR)                     \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE, -4, OUT_OF_MEMORY)            \
    X(CL_OUT_OF_RESOURCES, -5, OUT_OF_MEMORY)                         \
    X(CL_OUT_OF_HOST_MEMORY, -6, OUT_OF_MEMORY)                       \
    X(CL_PROFILING_INFO_NOT_AVAILABLE, -7, DEVICE_ERROR)              \
    X(CL_MEM_COPY_OVERLAP, -8, INTERNAL)                              \
    X(CL_IMAGE_FORMAT_MISMATCH, -9, INTERNAL)                         \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED, -10, UNSUPPORTED)                \
    X(CL_BUILD_PROGRAM_FAILURE, -11, BUILD_ERROR)                     \
    X(CL_MAP_FAILURE, -12, DEVICE_ERROR)                              \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET, -13, INVALID_VALUE)            \
    X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, -14, DEVICE_ERROR) \
    X(CL_COMPILE_PROGRAM_FAILURE, -15, BUILD_ERROR)                   \
    X(CL_LINKER_NOT_AVAILABLE, -16, BUILD_ERROR)                      \
    X(CL_LINK_PROGRAM_FAILURE, -17, BUILD_ERROR)                      \
    X(CL_DEVICE_PARTITION_FAILED, -18, DEVICE_ERROR)                  \
    X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE, -19, DEVICE_ERROR)            \
    X(CL_INVALID_VALUE, -30, INTERNAL)                                \
    X(CL_INVALID_DEVICE_TYPE, -31, INTERNAL)                          \
    X(CL_INVALID_PLATFORM, -32, INTERNAL)                             \
    X(CL_INVALID_DEVICE, -33, INTERNAL)                               \
    X(CL_INVALID_CONTEXT, -34, INVALID_VALUE)                         \
    X(CL_INVALID_QUEUE_PROPERTIES, -35, INTERNAL)                     \
    X(CL_INVALID_COMMAND_QUEUE, -36, INVALID_VALUE)                   \
    X(CL_INVALID_HOST_PTR, -37, INTERNAL)                             \
    X(CL_INVALID_MEM_OBJECT, -38, INVALID_VALUE)                      \
    X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, -39, INTERNAL)              \
    X(CL_INVALID_IMAGE_SIZE, -40, INTERNAL)                           \
    X(CL_INVALID_SAMPLER, -41, INTERNAL)                              \
    X(CL_INVALID_BINARY, -42, BUILD_ERROR)                            \
    X(CL_INVALID_BUILD_OPTIONS, -43, BUILD_ERROR)                     \
    X(CL_INVALID_PROGRAM, -44, BUILD_ERROR)                           \
    X(CL_INVALID_PROGRAM_EXECUTABLE, -45, BUILD_ERROR)                \
    X(CL_INVALID_KERNEL_NAME, -46, BUILD_ERROR)                       \
    X(CL_INVALID_KERNEL_DEFINITION, -47, BUILD_ERROR)                 \
    X(CL_INVALID_KERNEL, -48, INTERNAL)                               \
    X(CL_INVALID_ARG_INDEX, -49, INTERNAL)                            \
    X(CL_INVALID_ARG_VALUE, -50, INTERNAL)                            \
    X(CL_INVALID_ARG_SIZE, -51, INTERNAL)                             \
    X(CL_INVALID_KERNEL_ARGS, -52, INTERNAL)                          \
    X(CL_INVALID_WORK_DIMENSION, -53, INTERNAL)                       \
    X(CL_INVALID_WORK_GROUP_SIZE, -54, DEVICE_ERROR)                  \
    X(CL_INVALID_WORK_ITEM_SIZE, -55, DEVICE_ERROR)                   \
    X(CL_INVALID_GLOBAL_OFFSET, -56, INTERNAL)                        \
    X(CL_INVALID_EVENT_WAIT_LIST, -57, INTERNAL)                      \
    X(CL_INVALID_EVENT, -58, INVALID_VALUE)                           \
    X(CL_INVALID_OPERATION, -59, INTERNAL)                            \
    X(CL_INVALID_GL_OBJECT, -60, INTERNAL)                            \
    X(CL_INVALID_BUFFER_SIZE, -61, OUT_OF_MEMORY)                     \
    X(CL_INVALID_MIP_LEVEL, -62, INTERNAL)                            \
    X(CL_INVALID_GLOBAL_WORK_SIZE, -63, SIZE_OVERFLOW)                \
    X(CL_INVALID_PROPERTY, -64, INTERNAL)                             \
    X(CL_INVALID_IMAGE_DESCRIPTOR, -65, INTERNAL)                     \
    X(CL_INVALID_COMPILER_OPTIONS, -66, BUILD_ERROR)                  \
    X(CL_INVALID_LINKER_OPTIONS, -67, BUILD_ERROR)                    \
    X(CL_INVALID_DEVICE_PARTITION_COUNT, -68, INTERNAL)               \
    X(CL_PLATFORM_NOT_FOUND_KHR, -1001, NOT_FOUND)

/* CLBlast's own codes (those shared with OpenCL use the table above). */
#define OCL_CLBLAST_ERROR_MAP(X)                                      \
    X(CLBlastNotImplemented, -1024, UNSUPPORTED)                      \
    X(CLBlastInvalidMatrixA, -1022, INTERNAL)                         \
    X(CLBlastInvalidMatrixB, -1021, INTERNAL)                         \
    X(CLBlastInvalidMatrixC, -1020, INTERNAL)                         \
    X(CLBlastInvalidVectorX, -1019, INTERNAL)                         \
    X(CLBlastInvalidVectorY, -1018, INTERNAL)                         \
    X(CLBlastInvalidDimension, -1017, INTERNAL)                       \
    X(CLBlastInvalidLeadDimA, -1016, INTERNAL)                        \
    X(CLBlastInvalidLeadDimB, -1015, INTERNAL)                        \
    X(CLBlastInvalidLeadDimC, -1014, INTERNAL)                        \
    X(CLBlastInvalidIncrementX, -1013, INTERNAL)                      \
    X(CLBlastInvalidIncrementY, -1012, INTERNAL)                      \
    X(CLBlastInsufficientMemoryA, -1011, INTERNAL)                    \
    X(CLBlastInsufficientMemoryB, -1010, INTERNAL)                    \
    X(CLBlastInsufficientMemoryC, -1009, INTERNAL)                    \
    X(CLBlastInsufficientMemoryX, -1008, INTERNAL)                    \
    X(CLBlastInsufficientMemoryY, -1007, INTERNAL)                    \
    X(CLBlastInsufficientMemoryTemp, -2050, INTERNAL)                 \
    X(CLBlastInvalidBatchCount, -2049, INTERNAL)                      \
    X(CLBlastInvalidOverrideKernel, -2048, INTERNAL)                  \
    X(CLBlastMissingOverrideParameter, -2047, INTERNAL)               \
    X(CLBlastInvalidLocalMemUsage, -2046, DEVICE_ERROR)               \
    X(CLBlastNoHalfPrecision, -2045, UNSUPPORTED)                     \
    X(CLBlastNoDoublePrecision, -2044, UNSUPPORTED)                   \
    X(CLBlastInvalidVectorScalar, -2043, INTERNAL)                    \
    X(CLBlastInsufficientMemoryScalar, -2042, INTERNAL)               \
    X(CLBlastDatabaseError, -2041, DEVICE_ERROR)                      \
    X(CLBlastUnknownError, -2040, DEVICE_ERROR)                       \
    X(CLBlastUnexpectedError, -2039, DEVICE_ERROR)

const char *ocl_cl_error_name(cl_int err)
{
    switch (err) {
#define OCL_NAME_(name, code, status) \
    case code:                        \
        return #name;
        OCL_CL_ERROR_MAP(OCL_NAME_)
#undef OCL_NAME_
    default:
        return "CL_UNKNOWN_ERROR";
    }
}

mha_status ocl_cl_status(cl_int err)
{
    switch (err) {
#define OCL_STATUS_(name, code, status) \
    case code:                          \
        return MHA_STATUS_##status;
        OCL_CL_ERROR_MAP(OCL_STATUS_)
#undef OCL_STATUS_
    default:
        return MHA_STATUS_DEVICE_ERROR;
    }
}

const char *ocl_clblast_error_name(CLBlastStatusCode status)
{
    switch ((int)status) {
#define OCL_NAME_(name, code, st) \
    case code:                    \
        return #name;
        OCL_CLBLAST_ERROR_MAP(OCL_NAME_)
#undef OCL_NAME_
    default:
        /* codes shared with OpenCL */
        return ocl_cl_error_name((cl_int)status);
    }
}

static mha_status clblast_status(CLBlastStatusCode status)
{
    switch ((int)status) {
#define OCL_STATUS_(name, code, st) \
    case code:                      \
        return MHA_STATUS_##st;
        OCL_CLBLAST_ERROR_MAP(OCL_STATUS_)
#undef OCL_STATUS_
    default:
        return ocl_cl_status((cl_int)status);
    }
}

mha_status ocl_cl_fail(cl_int err, const char *what)
{
    return ocl_host->set_error(ocl_cl_status(err), "opencl: %s: %s (%d)", what,
                               ocl_cl_error_name(err), (int)err);
}

mha_status ocl_clblast_fail(CLBlastStatusCode status, const char *what)
{
    return ocl_host->set_error(clblast_status(status), "opencl: %s: %s (%d)", what,
                               ocl_clblast_error_name(status), (int)status);
}

mha_status ocl_out_of_host_memory(const char *what)
{
    return ocl_host->set_error(MHA_STATUS_OUT_OF_MEMORY, "opencl: %s: out of host memory", what);
}
