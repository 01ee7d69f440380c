/* set_allocator.c - mha_set_allocator: checks the caller's table and that no
 * memory of the old allocator is alive (the registry is empty), then swaps
 * the allocator behind mha_malloc (alloc.c). Kept apart from alloc.c so that
 * the allocator does not depend on the registry, which allocates through it. */
#include <string.h>

#include "error.h"
#include "internal.h"

mha_status mha_set_allocator(const mha_allocator *allocator)
{
    mha_error_clear();
    if (allocator) {
        if (allocator->struct_size < MHA_ALLOCATOR_SIZE_V1)
            return mha_error_set(MHA_STATUS_INVALID_STRUCT_SIZE,
                                 "allocator.struct_size is %zu but must be at least %zu",
                                 allocator->struct_size, (size_t)MHA_ALLOCATOR_SIZE_V1);
        const char *missing = !allocator->malloc    ? "malloc"
                              : !allocator->calloc  ? "calloc"
                              : !allocator->realloc ? "realloc"
                              : !allocator->free    ? "free"
                                                    : NULL;
        if (missing)
            return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "allocator.%s is NULL", missing);
    }
    /* Memory from the old allocator must not reach the new one's free. */
    if (!registry_lock_if_empty())
        return mha_error_set(MHA_STATUS_BUSY,
                             "plugins are loaded or objects are alive; call mha_set_allocator "
                             "before any other mha call, or after mha_shutdown");
    alloc_replace(allocator);
    registry_unlock();
    return MHA_STATUS_OK;
}
