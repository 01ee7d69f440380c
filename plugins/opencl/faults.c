/* faults.c - the fault points of the test hook (faults.h). */
#include <string.h>

#include "internal.h"

cl_int ocl_fault_at(mha_opencl_faults *f, const char *what)
{
    if (!f || (f->only && strcmp(f->only, what) != 0) || ++f->points != f->fail_at)
        return CL_SUCCESS;
    f->injected++;
    ocl_host->trace("opencl: injected fault at point %llu: %s", (unsigned long long)f->points,
                    what);
    return f->error != 0 ? (cl_int)f->error : CL_OUT_OF_RESOURCES;
}
