/* text.h - one-line error messages and strict number parsing, shared by the
 * command line and the helpers under host/common. */
#ifndef MHA_TEXT_H
#define MHA_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* printf into err (if non-NULL), with line breaks turned into spaces so that
 * every message stays one line. */
void text_format_error(char *err, size_t err_size, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Whole-string decimal parses: no leading space, no trailing characters, no
 * overflow. The integer must lie in [min, max]; the double must be finite;
 * the unsigned parse takes no sign. */
bool text_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
bool text_parse_u64(const char *s, unsigned long long *out);
bool text_parse_double(const char *s, double *out);

#endif
