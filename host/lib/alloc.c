/*
 * alloc.c - the allocator behind every host allocation of libmha and of the
 * plugins (through the services table), replaceable with mha_set_allocator.
 *
 * The wrappers normalise what the allocator sees: size is never 0, a pointer
 * given to realloc or free is never NULL, and calloc's product has been
 * checked for overflow. The current allocator is read without a lock: it may
 * only change while the registry is empty (no plugin loaded, no object alive),
 * which mha_set_allocator (set_allocator.c) checks before alloc_replace, and
 * its documented rule is that no other mha call runs at the same time. This
 * file depends on nothing else of libmha.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *default_malloc(size_t size, void *user)
{
    (void)user;
    return malloc(size);
}

static void *default_calloc(size_t count, size_t size, void *user)
{
    (void)user;
    return calloc(count, size);
}

static void *default_realloc(void *pointer, size_t size, void *user)
{
    (void)user;
    return realloc(pointer, size);
}

static void default_free(void *pointer, void *user)
{
    (void)user;
    free(pointer);
}

static const mha_allocator default_allocator = {
    .struct_size = sizeof(mha_allocator),
    .malloc = default_malloc,
    .calloc = default_calloc,
    .realloc = default_realloc,
    .free = default_free,
    .user = NULL,
};

static mha_allocator current = {
    .struct_size = sizeof(mha_allocator),
    .malloc = default_malloc,
    .calloc = default_calloc,
    .realloc = default_realloc,
    .free = default_free,
    .user = NULL,
};


void alloc_replace(const mha_allocator *allocator)
{
    const mha_allocator *chosen = allocator ? allocator : &default_allocator;
    memset(&current, 0, sizeof current);
    current.struct_size = sizeof current;
    current.malloc = chosen->malloc;
    current.calloc = chosen->calloc;
    current.realloc = chosen->realloc;
    current.free = chosen->free;
    current.user = chosen->user;
}

void *mha_malloc(size_t size)
{
    return current.malloc(size ? size : 1, current.user);
}

void *mha_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0)
        count = size = 1;
    else if (count > SIZE_MAX / size)
        return NULL;
    return current.calloc(count, size, current.user);
}

void *mha_realloc(void *pointer, size_t size)
{
    if (!pointer)
        return mha_malloc(size);
    return current.realloc(pointer, size ? size : 1, current.user);
}

void mha_free(void *pointer)
{
    if (pointer)
        current.free(pointer, current.user);
}
