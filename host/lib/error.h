/* error.h - the per-thread error message behind mha_last_error(). */
#ifndef MHA_HOST_ERROR_H
#define MHA_HOST_ERROR_H

#include <stdarg.h>

#include "mha/mha.h"

/* Records a printf-style message for this thread and returns `status`. */
mha_status mha_error_set(mha_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
mha_status mha_error_setv(mha_status status, const char *format, va_list args)
    __attribute__((format(printf, 2, 0)));
/* Clears the message at the start of every public call. */
void mha_error_clear(void);
/* True if a message was recorded since the last clear. */
int mha_error_is_set(void);

/* Formats a shape as "(2, 3, 4)" into buf; returns buf. */
const char *mha_shape_string(int32_t rank, const int64_t *shape, char *buf, size_t size);

#endif
