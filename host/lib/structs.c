/* structs.c - caller structs across the ABI: the struct_size rules of
 * docs/abi.md for structs coming in (copied into the host's current, zeroed
 * layout before a plugin sees them) and going out (written no further than
 * the caller's struct_size). */
#include <string.h>

#include "error.h"
#include "internal.h"

/* A caller's struct_size beyond this is not a struct of ours. */
#define STRUCT_SIZE_MAX ((size_t)1 << 16)

mha_status mha_copy_in(const char *what, const void *caller, size_t minimum,
                       const char *init_function, void *full, size_t full_size)
{
    if (!caller)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s is NULL", what);
    size_t size;
    memcpy(&size, caller, sizeof size); /* every versioned struct starts with struct_size */
    if (size < minimum || size > STRUCT_SIZE_MAX)
        return mha_error_set(MHA_STATUS_INVALID_STRUCT_SIZE,
                             "%s.struct_size is %zu but must be at least %zu%s (use %s)", what,
                             size, minimum, size > STRUCT_SIZE_MAX ? " and at most 65536" : "",
                             init_function);
    /* A caller built against a newer header: what this libmha does not know
     * must be zero (a field's default), or the caller asked for something
     * that would be silently ignored. */
    const unsigned char *bytes = caller;
    for (size_t i = full_size; i < size; ++i)
        if (bytes[i] != 0)
            return mha_error_set(MHA_STATUS_UNSUPPORTED,
                                 "%s.struct_size is %zu but this libmha knows %zu bytes of it and "
                                 "byte %zu is set: a field of a newer mha version",
                                 what, size, full_size, i);
    memset(full, 0, full_size);
    memcpy(full, caller, size < full_size ? size : full_size);
    memcpy(full, &full_size, sizeof full_size);
    return MHA_STATUS_OK;
}

mha_status mha_check_out(const char *what, const void *out, size_t minimum)
{
    if (!out)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s is NULL", what);
    size_t size;
    memcpy(&size, out, sizeof size); /* every output struct starts with struct_size */
    if (size < minimum)
        return mha_error_set(MHA_STATUS_INVALID_STRUCT_SIZE,
                             "%s.struct_size is %zu but must be at least %zu", what, size, minimum);
    return MHA_STATUS_OK;
}

void mha_copy_out(void *out, const void *full, size_t full_size)
{
    size_t size;
    memcpy(&size, out, sizeof size);
    memcpy((char *)out + sizeof size, (const char *)full + sizeof size,
           (size < full_size ? size : full_size) - sizeof size);
}
