/* services.c - the service table libmha hands to plugins (its allocator is
 * the one of mha_set_allocator), and the log hook. */
#define _GNU_SOURCE /* secure_getenv */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* At most one of the two callbacks is set. */
static mha_log_fn log_callback;
static mha_log_level_fn log_level_callback;
static void *log_user;

void mha_set_log_callback(mha_log_fn callback, void *user)
{
    pthread_mutex_lock(&log_lock);
    log_callback = callback;
    log_level_callback = NULL;
    log_user = user;
    pthread_mutex_unlock(&log_lock);
}

void mha_set_log_level_callback(mha_log_level_fn callback, void *user)
{
    pthread_mutex_lock(&log_lock);
    log_level_callback = callback;
    log_callback = NULL;
    log_user = user;
    pthread_mutex_unlock(&log_lock);
}

/* MHA_TRACE set, non-empty and not "0": messages go to stderr when no
 * callback is installed, as OCL_ICD_DEBUG does for the ICD loader. Read at
 * every message (cheap next to formatting one), so a host may set it late. */
static int trace_to_stderr(void)
{
    const char *value = secure_getenv("MHA_TRACE");
    return value && *value && strcmp(value, "0") != 0;
}

static const char *level_name(mha_log_level level)
{
    switch (level) {
    case MHA_LOG_DEBUG: return "debug";
    case MHA_LOG_INFO: return "info";
    case MHA_LOG_WARNING: return "warning";
    }
    return "log";
}

__attribute__((format(printf, 2, 0))) static void log_v(mha_log_level level, const char *format,
                                                       va_list args)
{
    pthread_mutex_lock(&log_lock);
    int to_stderr = !log_callback && !log_level_callback && trace_to_stderr();
    if (log_callback || log_level_callback || to_stderr) {
        char message[1024];
        vsnprintf(message, sizeof message, format, args);
        if (log_level_callback)
            log_level_callback(level, message, log_user);
        else if (log_callback)
            log_callback(message, log_user);
        else
            fprintf(stderr, "[mha %s] %s\n", level_name(level), message);
    }
    pthread_mutex_unlock(&log_lock);
}

void mha_log(mha_log_level level, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    log_v(level, format, args);
    va_end(args);
}

void mha_trace(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    log_v(MHA_LOG_DEBUG, format, args);
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
    .log = mha_log,
};

const mha_host_services *mha_host_services_table(void)
{
    return &services;
}
