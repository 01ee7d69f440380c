/*
 * cli_util.c - error printing and strict number parsing for the mha command line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "text.h"
#include "mha/mha.h"

void cli_error(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p != '\0'; ++p) /* one line, whatever the message holds */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fflush(stdout);
    fprintf(stderr, "mha: %s\n", msg);
}

bool cli_parse_int(const char *s, long long min, long long max, long long *out)
{
    int64_t value;
    if (!text_parse_int64(s, min, max, &value))
        return false;
    *out = value;
    return true;
}

bool cli_parse_u64(const char *s, unsigned long long *out)
{
    return text_parse_u64(s, out);
}

bool cli_parse_double(const char *s, double *out)
{
    return text_parse_double(s, out);
}

bool cli_is_help(const char *arg)
{
    return arg != NULL && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

const char *cli_last_error(void)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", mha_last_error());
    return buf;
}

char *cli_backend_spec(const char *plugin, const char *device)
{
    if (plugin == NULL)
        return NULL;
    size_t len = strlen(plugin) + (device ? strlen(device) + 1 : 0) + 1;
    char *spec = malloc(len);
    if (spec != NULL)
        snprintf(spec, len, "%s%s%s", plugin, device ? ":" : "", device ? device : "");
    return spec;
}
