/*
 * program_source.c - prints the OpenCL programs of the plugin's kernel table
 * exactly as the plugin hands them to the driver (plugins/opencl/sources.c:
 * cl/shared.h, cl/philox.cl, cl/common.cl, then the program's own file), for
 * the offline compiles of scripts/offline-compile.sh.
 *
 * Usage: program_source --list      the program names, one a line
 *        program_source NAME        program NAME's source on stdout
 * Exit status: 0, 1 on an unknown name or a write error, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "kernels.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: program_source --list | NAME\n");
        return 2;
    }
    if (strcmp(argv[1], "--list") == 0) {
        for (int id = 0; id < OCL_PROGRAM_COUNT; ++id)
            printf("%s\n", ocl_program_name((ocl_program_id)id));
        return fflush(stdout) == 0 ? 0 : 1;
    }
    for (int id = 0; id < OCL_PROGRAM_COUNT; ++id) {
        if (strcmp(argv[1], ocl_program_name((ocl_program_id)id)) != 0)
            continue;
        const char *sources[OCL_SOURCES_MAX];
        size_t lengths[OCL_SOURCES_MAX];
        const unsigned count = ocl_program_sources((ocl_program_id)id, sources, lengths);
        for (unsigned i = 0; i < count; ++i)
            if (fwrite(sources[i], 1, lengths[i], stdout) != lengths[i])
                return 1;
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(stderr, "program_source: no program '%s'\n", argv[1]);
    return 1;
}
