/*
 * sources.c - the source of each program of the kernel table (kernels.h) as
 * the plugin builds it: cl/shared.h, cl/philox.cl, cl/common.cl, then the
 * program's own file (the core's: cl/core.cl then cl/core_tiled.cl), all
 * embedded at build time. Needs no OpenCL: the
 * offline compiles of tests/portability link it alone (program_source.c), so
 * that they compile exactly what program.c hands the driver.
 */
#include "kernels.h"

static const char *const g_program_names[OCL_PROGRAM_COUNT] = {
#define OCL_X(id, name, source) name,
    OCL_PROGRAMS(OCL_X)
#undef OCL_X
};
static const unsigned char *const g_program_sources[OCL_PROGRAM_COUNT] = {
#define OCL_X(id, name, source) source,
    OCL_PROGRAMS(OCL_X)
#undef OCL_X
};
static const size_t *const g_program_lengths[OCL_PROGRAM_COUNT] = {
#define OCL_X(id, name, source) &source##_len,
    OCL_PROGRAMS(OCL_X)
#undef OCL_X
};

const char *ocl_program_name(ocl_program_id id) { return g_program_names[id]; }

unsigned ocl_program_sources(ocl_program_id id, const char **sources, size_t *lengths)
{
    unsigned n = 0;
    sources[n] = (const char *)mha_cl_shared;
    lengths[n++] = mha_cl_shared_len;
    sources[n] = (const char *)mha_cl_philox;
    lengths[n++] = mha_cl_philox_len;
    sources[n] = (const char *)mha_cl_common;
    lengths[n++] = mha_cl_common_len;
    sources[n] = (const char *)g_program_sources[id];
    lengths[n++] = *g_program_lengths[id];
    if (id == OCL_PROGRAM_CORE) {
        sources[n] = (const char *)mha_cl_core_tiled;
        lengths[n++] = mha_cl_core_tiled_len;
    }
    return n;
}
