/* live_blocks.c - the counting allocator of live_blocks.h. */
#include "live_blocks.h"

#include <stdio.h>
#include <stdlib.h>

#include "mha/mha.h"

static long g_live;

static void *t_malloc(size_t n, void *u)
{
    (void)u;
    void *p = malloc(n);
    g_live += p != NULL;
    return p;
}
static void *t_calloc(size_t c, size_t n, void *u)
{
    (void)u;
    void *p = calloc(c, n);
    g_live += p != NULL;
    return p;
}
static void *t_realloc(void *old, size_t n, void *u)
{
    (void)u;
    return realloc(old, n);
}
static void t_free(void *p, void *u)
{
    (void)u;
    g_live -= p != NULL;
    free(p);
}

int live_blocks_install(void)
{
    mha_allocator a = {sizeof a, t_malloc, t_calloc, t_realloc, t_free, NULL};
    if (mha_set_allocator(&a) != MHA_STATUS_OK) {
        fprintf(stderr, "mha_set_allocator: %s\n", mha_last_error());
        return -1;
    }
    return 0;
}

long live_blocks(void) { return g_live; }
