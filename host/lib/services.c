/* services.c - the service table libmha hands to plugins (its allocator is
 * the one of mha_set_allocator), and the log hook. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "internal.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static mha_log_fn log_callback;
static void *log_user;

void mha_set_log_callback(mha_log_fn callback, void *user)
{
    pthread_mutex_lock(&log_lock);
    log_callback = callback;
    log_user = user;
    pthread_mutex_unlock(&log_lock);
}

__attribute__((format(printf, 1, 0))) static void trace_v(const char *format, va_list args)
{
    pthread_mutex_lock(&log_lock);
    if (log_callback) {
        char message[1024];
        vsnprintf(message, sizeof message, format, args);
        log_callback(message, log_user);
    }
    pthread_mutex_unlock(&log_lock);
}

void mha_trace(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    trace_v(format, args);
    va_end(args);
}

__attribute__((format(printf, 2, 3))) static mha_status plugin_set_error(mha_status status,
                                                                       const char *format, ...)
{
    va_list args;
    va_start(args, format);
    mha_error_setv(status, format, args);
    va_end(args);
    return status;
}

static void *host_alloc(size_t size)
{
    return mha_malloc(size);
}

static void *host_calloc(size_t count, size_t size)
{
    return mha_calloc(count, size);
}

static void *host_realloc(void *pointer, size_t size)
{
    return mha_realloc(pointer, size);
}

static void host_free(void *pointer)
{
    mha_free(pointer);
}

static const mha_host_services services = {
    .struct_size = sizeof(mha_host_services),
    .abi_major = MHA_PLUGIN_ABI_MAJOR,
    .abi_minor = MHA_PLUGIN_ABI_MINOR,
    .alloc = host_alloc,
    .calloc = host_calloc,
    .realloc = host_realloc,
    .free = host_free,
    .set_error = plugin_set_error,
    .trace = mha_trace,
    .next = NULL,
};

const mha_host_services *mha_host_services_table(void)
{
    return &services;
}
