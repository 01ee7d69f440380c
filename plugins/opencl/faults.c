/* faults.c - the fault points of the test hook (faults.h). */
#include "internal.h"

cl_int ocl_fault_at(mha_opencl_faults *f, const char *what)
{
    if (!f || ++f->points != f->fail_at)
        return CL_SUCCESS;
    f->injected++;
    ocl_host->trace("opencl: injected fault at point %llu: %s", (unsigned long long)f->points,
                    what);
    return CL_OUT_OF_RESOURCES;
}
