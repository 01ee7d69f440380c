/* fake_host.c - see fake_host.h. Single-threaded, as the tests are. */
#include "fake_host.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

static long g_allocations; /* successful and failed attempts alike */
static long g_live;
static long g_fail_at;
static mha_status g_status;
static char g_message[512];

void fake_host_reset(void)
{
    g_allocations = 0;
    g_live = 0;
    g_fail_at = 0;
    g_status = MHA_STATUS_OK;
    g_message[0] = '\0';
}

void fake_host_fail_at(long n)
{
    g_fail_at = n > 0 ? g_allocations + n : 0;
}

long fake_host_allocations(void)
{
    return g_allocations;
}

long fake_host_live(void)
{
    return g_live;
}

const char *fake_host_message(void)
{
    return g_message;
}

mha_status fake_host_status(void)
{
    return g_status;
}

/* Counts one attempt; false when this one is planned to fail. */
static int allocation_allowed(void)
{
    ++g_allocations;
    return g_fail_at == 0 || g_allocations != g_fail_at;
}

static void *fake_alloc(size_t size)
{
    if (!allocation_allowed())
        return NULL;
    void *p = malloc(size != 0 ? size : 1);
    if (p != NULL)
        ++g_live;
    return p;
}

static void *fake_calloc(size_t count, size_t size)
{
    if (!allocation_allowed())
        return NULL;
    void *p = calloc(count != 0 ? count : 1, size != 0 ? size : 1);
    if (p != NULL)
        ++g_live;
    return p;
}

static void *fake_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return fake_alloc(size);
    if (!allocation_allowed())
        return NULL;
    return realloc(ptr, size != 0 ? size : 1);
}

static void fake_free(void *ptr)
{
    if (ptr != NULL)
        --g_live;
    free(ptr);
}

static mha_status fake_set_error(mha_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static mha_status fake_set_error(mha_status status, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(g_message, sizeof g_message, format, ap);
    va_end(ap);
    g_status = status;
    return status;
}

static void fake_trace(const char *format, ...)
{
    (void)format;
}

const mha_host_services fake_host = {
    .struct_size = sizeof(mha_host_services),
    .abi_major = MHA_PLUGIN_ABI_MAJOR,
    .abi_minor = MHA_PLUGIN_ABI_MINOR,
    .alloc = fake_alloc,
    .calloc = fake_calloc,
    .realloc = fake_realloc,
    .free = fake_free,
    .set_error = fake_set_error,
    .trace = fake_trace,
    .next = NULL,
};

int fake_host_setup(void **state)
{
    (void)state;
    fake_host_reset();
    return 0;
}

int fake_host_check_no_leak(void **state)
{
    (void)state;
    assert_int_equal(fake_host_live(), 0);
    return 0;
}
