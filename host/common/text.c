#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void text_format_error(char *err, size_t err_size, const char *format, ...)
{
    if (err == NULL || err_size == 0)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(err, err_size, format, args);
    va_end(args);
    for (char *p = err; *p != '\0'; ++p)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

bool text_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return false;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || value < min || value > max)
        return false;
    *out = (int64_t)value;
    return true;
}

bool text_parse_u64(const char *s, unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9') /* no sign, no space */
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = value;
    return true;
}

bool text_parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return false;
    char *end = NULL;
    errno = 0;
    double value = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(value))
        return false;
    *out = value;
    return true;
}
