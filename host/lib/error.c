#include "error.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* One buffer per thread: the message stays valid until the next mha call on
 * the same thread, and threads never see each other's messages. */
static _Thread_local char last_message[1024];
static _Thread_local int message_set;

mha_status mha_error_setv(mha_status status, const char *format, va_list args)
{
    vsnprintf(last_message, sizeof last_message, format, args);
    message_set = 1;
    return status;
}

mha_status mha_error_set(mha_status status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    mha_error_setv(status, format, args);
    va_end(args);
    return status;
}

void mha_error_clear(void)
{
    last_message[0] = '\0';
    message_set = 0;
}

int mha_error_is_set(void)
{
    return message_set;
}

const char *mha_last_error(void)
{
    return last_message;
}

const char *mha_shape_string(int32_t rank, const int64_t *shape, char *buf, size_t size)
{
    size_t used = 0;
    int written = snprintf(buf, size, "(");
    used = written > 0 ? (size_t)written : 0;
    for (int32_t i = 0; i < rank && used < size; ++i) {
        written = snprintf(buf + used, size - used, i == 0 ? "%lld" : ", %lld",
                           (long long)shape[i]);
        if (written < 0)
            break;
        used += (size_t)written;
    }
    if (used < size)
        snprintf(buf + used, size - used, rank == 1 ? ",)" : ")");
    return buf;
}
