/*
 * bench_json_check.c - a strict JSON reader (RFC 8259) for the tests of
 * `mha bench --json`; no JSON library is needed to run them.
 *
 *   bench_json_check FILE               exit 0 if FILE is one JSON array of
 *                                       objects, no object repeating a key
 *   bench_json_check FILE count         prints the number of records
 *   bench_json_check FILE INDEX KEY     prints the value of KEY in record INDEX
 *                                       as its JSON text (null, 2, "a", {...});
 *                                       exit 3 if there is no such key
 * Exit 1 with a message on stderr if the file is malformed, 2 on usage errors.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *text;
    size_t pos, len;
    const char *error;
    /* lookup: the value of key `want_key` in top-level record `want_index` */
    long want_index;
    const char *want_key;
    size_t found_start, found_end;
    bool found;
} parser;

static bool fail(parser *p, const char *message)
{
    if (p->error == NULL)
        p->error = message;
    return false;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->text[p->pos]) != NULL && p->text[p->pos])
        p->pos++;
}

static bool literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return fail(p, "bad literal");
    p->pos += n;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool number(parser *p)
{
    const char *s = p->text;
    if (p->pos < p->len && s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !is_digit(s[p->pos]))
        return fail(p, "bad number");
    if (s[p->pos] == '0')
        p->pos++;
    else
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos]))
            return fail(p, "bad fraction");
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos]))
            return fail(p, "bad exponent");
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    }
    return true;
}

/* A string; its raw text (between the quotes) in [*start, *end). */
static bool string(parser *p, size_t *start, size_t *end)
{
    if (p->pos >= p->len || p->text[p->pos] != '"')
        return fail(p, "expected a string");
    p->pos++;
    *start = p->pos;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            *end = p->pos++;
            return true;
        }
        if (c < 0x20)
            return fail(p, "control character in a string");
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->len)
                break;
            char e = p->text[p->pos];
            if (e == 'u') {
                for (int i = 1; i <= 4; ++i)
                    if (p->pos + (size_t)i >= p->len ||
                        strchr("0123456789abcdefABCDEF", p->text[p->pos + (size_t)i]) == NULL ||
                        p->text[p->pos + (size_t)i] == '\0')
                        return fail(p, "bad \\u escape");
                p->pos += 4;
            } else if (strchr("\"\\/bfnrt", e) == NULL || e == '\0') {
                return fail(p, "bad escape");
            }
        }
        p->pos++;
    }
    return fail(p, "unterminated string");
}

static bool value(parser *p, int depth, long record);

#define MAX_KEYS 128

static bool object(parser *p, int depth, long record)
{
    size_t key_start[MAX_KEYS], key_end[MAX_KEYS];
    int keys = 0;
    p->pos++; /* '{' */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
        return true;
    }
    for (;;) {
        skip_ws(p);
        size_t ks, ke;
        if (!string(p, &ks, &ke))
            return false;
        for (int i = 0; i < keys; ++i)
            if (key_end[i] - key_start[i] == ke - ks &&
                memcmp(p->text + key_start[i], p->text + ks, ke - ks) == 0)
                return fail(p, "an object repeats a key");
        if (keys >= MAX_KEYS)
            return fail(p, "too many keys");
        key_start[keys] = ks;
        key_end[keys++] = ke;
        skip_ws(p);
        if (p->pos >= p->len || p->text[p->pos] != ':')
            return fail(p, "expected ':'");
        p->pos++;
        skip_ws(p);
        size_t vs = p->pos;
        if (!value(p, depth + 1, -1))
            return false;
        if (depth == 1 && record == p->want_index && p->want_key != NULL &&
            strlen(p->want_key) == ke - ks && memcmp(p->want_key, p->text + ks, ke - ks) == 0) {
            p->found = true;
            p->found_start = vs;
            p->found_end = p->pos;
        }
        skip_ws(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == '}') {
            p->pos++;
            return true;
        }
        return fail(p, "expected ',' or '}'");
    }
}

static long g_records;

static bool array(parser *p, int depth)
{
    p->pos++; /* '[' */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
        return true;
    }
    for (long i = 0;; ++i) {
        skip_ws(p);
        if (depth == 0) {
            if (p->pos >= p->len || p->text[p->pos] != '{')
                return fail(p, "a record is not an object");
            g_records = i + 1;
        }
        if (!value(p, depth + 1, depth == 0 ? i : -1))
            return false;
        skip_ws(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == ']') {
            p->pos++;
            return true;
        }
        return fail(p, "expected ',' or ']'");
    }
}

static bool value(parser *p, int depth, long record)
{
    if (depth > 64)
        return fail(p, "nested too deep");
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end");
    char c = p->text[p->pos];
    size_t s, e;
    switch (c) {
    case '{':
        return object(p, depth, record);
    case '[':
        return array(p, depth);
    case '"':
        return string(p, &s, &e);
    case 't':
        return literal(p, "true");
    case 'f':
        return literal(p, "false");
    case 'n':
        return literal(p, "null");
    default:
        return number(p);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3 && argc != 4) {
        fprintf(stderr, "usage: bench_json_check FILE [count | INDEX KEY]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        fprintf(stderr, "bench_json_check: cannot open %s\n", argv[1]);
        return 1;
    }
    static char buf[1 << 22];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        fprintf(stderr, "bench_json_check: %s: NUL byte\n", argv[1]);
        return 1;
    }
    parser p;
    memset(&p, 0, sizeof p);
    p.text = buf;
    p.len = len;
    p.want_index = -1;
    if (argc == 4) {
        char *end;
        p.want_index = strtol(argv[2], &end, 10);
        if (*end != '\0' || p.want_index < 0) {
            fprintf(stderr, "bench_json_check: bad index '%s'\n", argv[2]);
            return 2;
        }
        p.want_key = argv[3];
    }
    skip_ws(&p);
    bool ok = p.pos < p.len && p.text[p.pos] == '[';
    if (!ok)
        fail(&p, "the top level is not an array");
    else
        ok = array(&p, 0);
    if (ok) {
        skip_ws(&p);
        if (p.pos != p.len)
            ok = fail(&p, "text after the array");
    }
    if (!ok) {
        fprintf(stderr, "bench_json_check: %s: %s at byte %zu\n", argv[1], p.error, p.pos);
        return 1;
    }
    if (argc == 3) {
        if (strcmp(argv[2], "count") != 0) {
            fprintf(stderr, "bench_json_check: unknown mode '%s'\n", argv[2]);
            return 2;
        }
        printf("%ld\n", g_records);
    } else if (argc == 4) {
        if (!p.found) {
            fprintf(stderr, "bench_json_check: record %s has no key '%s'\n", argv[2], argv[3]);
            return 3;
        }
        printf("%.*s\n", (int)(p.found_end - p.found_start), buf + p.found_start);
    }
    return 0;
}
