/*
 * npy.c - strict .npy reader and writer (see npy.h).
 *
 * The reader parses the header dict as the Python literal it is (keys in any
 * order, either quote style, spaces, a trailing comma, space padding), accepts
 * only the dtypes of npy_dtypes[] in C order with rank <= MHA_MAX_RANK, and
 * checks every declared size against the bytes actually present.
 */
#define _POSIX_C_SOURCE 200809L

#include "npy.h"
#include "output_file.h"
#include "text.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Reverses the bytes of each of `count` elements of `size` bytes. */
static void swap_elements(unsigned char *bytes, size_t count, size_t size)
{
    for (size_t i = 0; i < count; ++i) {
        unsigned char *b = bytes + size * i;
        for (size_t j = 0; j < size / 2; ++j) {
            unsigned char t = b[j];
            b[j] = b[size - 1 - j];
            b[size - 1 - j] = t;
        }
    }
}

/* The dtypes read and written, little-endian only. bfloat16 has no code in
 * the .npy format (NumPy has no such type; ml_dtypes saves it as raw '|V2',
 * which loses the type), so it is not here: give float32 or float16. */
static const struct {
    const char *descr;
    mha_dtype dtype;
    size_t size;
} npy_dtypes[] = {
    {"<f4", MHA_DTYPE_F32, 4}, {"|b1", MHA_DTYPE_BOOL, 1}, {"<f2", MHA_DTYPE_F16, 2},
    {"<i4", MHA_DTYPE_I32, 4}, {"<i8", MHA_DTYPE_I64, 8},
};
#define NPY_DTYPE_COUNT (sizeof npy_dtypes / sizeof npy_dtypes[0])
#define NPY_DTYPE_LIST "'<f4', '|b1', '<f2', '<i4' and '<i8'"

/* Index into npy_dtypes of a descr or a dtype; NPY_DTYPE_COUNT if none. */
static size_t dtype_by_descr(const char *descr)
{
    size_t i = 0;
    while (i < NPY_DTYPE_COUNT && strcmp(npy_dtypes[i].descr, descr) != 0)
        ++i;
    return i;
}

static size_t dtype_by_value(mha_dtype dtype)
{
    size_t i = 0;
    while (i < NPY_DTYPE_COUNT && npy_dtypes[i].dtype != dtype)
        ++i;
    return i;
}

/* ---- header dict parser ------------------------------------------------ */

typedef struct hdr_parser {
    const char *p, *end;
} hdr_parser;

static void skip_ws(hdr_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool eat(hdr_parser *ps, char c)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

/* A quoted string without escapes, copied into buf (truncated to buf_size-1). */
static bool parse_string(hdr_parser *ps, char *buf, size_t buf_size)
{
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return false;
    char quote = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != quote) {
        if (*ps->p == '\\' || *ps->p == '\n')
            return false;
        if (n + 1 < buf_size)
            buf[n++] = *ps->p;
        ps->p++;
    }
    if (ps->p >= ps->end)
        return false;
    ps->p++;
    buf[n] = '\0';
    return true;
}

static bool match_word(hdr_parser *ps, const char *word)
{
    skip_ws(ps);
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return false;
    /* The word must not continue as an identifier. */
    if ((size_t)(ps->end - ps->p) > n) {
        char c = ps->p[n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return false;
    }
    ps->p += n;
    return true;
}

typedef enum shape_result { SHAPE_OK, SHAPE_SYNTAX, SHAPE_RANK, SHAPE_OVERFLOW } shape_result;

/* "(d0, d1, ...)" with an optional trailing comma; "()" is rank 0. */
static shape_result parse_shape(hdr_parser *ps, int32_t *rank, int64_t shape[MHA_MAX_RANK])
{
    if (!eat(ps, '('))
        return SHAPE_SYNTAX;
    int32_t r = 0;
    bool overflow = false, too_many = false, comma_after_last = false;
    for (;;) {
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            break;
        }
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return SHAPE_SYNTAX;
        int64_t v = 0;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            int d = *ps->p++ - '0';
            if (v > (INT64_MAX - d) / 10)
                overflow = true;
            else
                v = v * 10 + d;
        }
        /* Python 2 long suffix, as old numpy wrote it. */
        if (ps->p < ps->end && *ps->p == 'L')
            ps->p++;
        if (r < MHA_MAX_RANK)
            shape[r] = v;
        else
            too_many = true;
        r++;
        comma_after_last = eat(ps, ',');
        if (comma_after_last)
            continue;
        if (eat(ps, ')'))
            break;
        return SHAPE_SYNTAX;
    }
    /* Python: "(3)" is the int 3, not a tuple; a 1-tuple needs its comma. */
    if (r == 1 && !comma_after_last)
        return SHAPE_SYNTAX;
    *rank = r;
    if (too_many)
        return SHAPE_RANK;
    if (overflow)
        return SHAPE_OVERFLOW;
    return SHAPE_OK;
}

typedef struct npy_header {
    char descr[32];
    bool fortran_order;
    int32_t rank;
    int64_t shape[MHA_MAX_RANK];
} npy_header;

static mha_status parse_header(const char *text, size_t len, const char *name, npy_header *h,
                               char *err, size_t err_size)
{
    hdr_parser ps = {text, text + len};
    bool have_descr = false, have_fortran = false, have_shape = false;
    shape_result shape_res = SHAPE_OK;

    if (!eat(&ps, '{')) {
        text_format_error(err, err_size, "%s: header is not a dict", name);
        return MHA_STATUS_FORMAT_ERROR;
    }
    for (;;) {
        if (eat(&ps, '}'))
            break;
        char key[32];
        if (!parse_string(&ps, key, sizeof key)) {
            text_format_error(err, err_size, "%s: malformed header dict (expected a quoted key at offset %zu)",
                    name, (size_t)(ps.p - text));
            return MHA_STATUS_FORMAT_ERROR;
        }
        if (!eat(&ps, ':')) {
            text_format_error(err, err_size, "%s: malformed header dict (expected ':' after '%s')", name, key);
            return MHA_STATUS_FORMAT_ERROR;
        }
        if (strcmp(key, "descr") == 0) {
            if (have_descr)
                goto duplicate;
            have_descr = true;
            skip_ws(&ps);
            if (ps.p < ps.end && (*ps.p == '[' || *ps.p == '{')) {
                /* A structured dtype (list of fields) or a dict: never accepted. */
                text_format_error(err, err_size, "%s: structured dtype is not supported (only " NPY_DTYPE_LIST ")",
                        name);
                return MHA_STATUS_INVALID_DTYPE;
            }
            if (!parse_string(&ps, h->descr, sizeof h->descr)) {
                text_format_error(err, err_size, "%s: malformed header dict ('descr' is not a string)", name);
                return MHA_STATUS_FORMAT_ERROR;
            }
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_fortran)
                goto duplicate;
            have_fortran = true;
            if (match_word(&ps, "True"))
                h->fortran_order = true;
            else if (match_word(&ps, "False"))
                h->fortran_order = false;
            else {
                text_format_error(err, err_size, "%s: malformed header dict ('fortran_order' is not True/False)",
                        name);
                return MHA_STATUS_FORMAT_ERROR;
            }
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape)
                goto duplicate;
            have_shape = true;
            shape_res = parse_shape(&ps, &h->rank, h->shape);
            if (shape_res == SHAPE_SYNTAX) {
                text_format_error(err, err_size, "%s: malformed header dict ('shape' is not a tuple of integers)",
                        name);
                return MHA_STATUS_FORMAT_ERROR;
            }
        } else {
            text_format_error(err, err_size, "%s: unexpected key '%s' in header dict", name, key);
            return MHA_STATUS_FORMAT_ERROR;
        }
        if (eat(&ps, ','))
            continue;
        if (eat(&ps, '}'))
            break;
        text_format_error(err, err_size, "%s: malformed header dict (expected ',' or '}' at offset %zu)", name,
                (size_t)(ps.p - text));
        return MHA_STATUS_FORMAT_ERROR;
    }
    /* After the dict: only space padding and the final newline. */
    skip_ws(&ps);
    if (ps.p != ps.end) {
        text_format_error(err, err_size, "%s: unexpected bytes after the header dict", name);
        return MHA_STATUS_FORMAT_ERROR;
    }
    if (!have_descr || !have_fortran || !have_shape) {
        text_format_error(err, err_size, "%s: header dict lacks the key '%s'", name,
                !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
        return MHA_STATUS_FORMAT_ERROR;
    }
    if (dtype_by_descr(h->descr) == NPY_DTYPE_COUNT) {
        text_format_error(err, err_size, "%s: dtype '%s' is not supported (only " NPY_DTYPE_LIST ")", name,
                h->descr);
        return MHA_STATUS_INVALID_DTYPE;
    }
    if (h->fortran_order) {
        text_format_error(err, err_size, "%s: fortran_order True is not supported (C order only)", name);
        return MHA_STATUS_FORMAT_ERROR;
    }
    if (shape_res == SHAPE_RANK) {
        text_format_error(err, err_size, "%s: rank %d is more than %d", name, (int)h->rank, MHA_MAX_RANK);
        return MHA_STATUS_FORMAT_ERROR;
    }
    if (shape_res == SHAPE_OVERFLOW) {
        text_format_error(err, err_size, "%s: a dimension of the shape overflows int64", name);
        return MHA_STATUS_SIZE_OVERFLOW;
    }
    return MHA_STATUS_OK;

duplicate:
    text_format_error(err, err_size, "%s: header dict has a duplicate key", name);
    return MHA_STATUS_FORMAT_ERROR;
}

/* ---- reader ------------------------------------------------------------ */

/* What the preamble and header say: enough to know how many data bytes
 * follow and where. */
typedef struct npy_layout {
    npy_header header;
    size_t kind;        /* index into npy_dtypes */
    uint64_t count;     /* elements */
    size_t data_offset; /* bytes before the data */
    uint64_t want;      /* data bytes the header declares */
} npy_layout;

/* Headers longer than this are refused before they are read (NumPy writes
 * 64-byte-aligned headers of a few hundred bytes; format 2.0 allows 4 GiB). */
#define NPY_HEADER_MAX ((uint64_t)1 << 24)

/* Checks the preamble and header at the start of `b` (at least `size` bytes
 * of the file's start are there) and fills *layout; the data are not looked
 * at. */
static mha_status parse_layout(const unsigned char *b, size_t size, const char *name,
                               npy_layout *layout, char *err, size_t err_size)
{
    if (size < NPY_MAGIC_LEN || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        text_format_error(err, err_size, "%s: not a .npy file (bad magic)", name);
        return MHA_STATUS_FORMAT_ERROR;
    }
    if (size < 8) {
        text_format_error(err, err_size, "%s: truncated .npy preamble (%zu bytes)", name, size);
        return MHA_STATUS_FORMAT_ERROR;
    }
    unsigned major = b[6], minor = b[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        text_format_error(err, err_size, "%s: unsupported .npy format version %u.%u (1.0, 2.0, 3.0 only)",
                name, major, minor);
        return MHA_STATUS_FORMAT_ERROR;
    }
    size_t len_bytes = major == 1 ? 2 : 4;
    size_t start = 8 + len_bytes;
    if (size < start) {
        text_format_error(err, err_size, "%s: truncated .npy preamble (%zu bytes)", name, size);
        return MHA_STATUS_FORMAT_ERROR;
    }
    uint64_t header_len = major == 1
                              ? (uint64_t)b[8] | (uint64_t)b[9] << 8
                              : (uint64_t)b[8] | (uint64_t)b[9] << 8 | (uint64_t)b[10] << 16 |
                                    (uint64_t)b[11] << 24;
    if (header_len > size - start) {
        text_format_error(err, err_size, "%s: header length %llu runs past the end of the file (%zu bytes)",
                name, (unsigned long long)header_len, size);
        return MHA_STATUS_FORMAT_ERROR;
    }
    const char *text = (const char *)(b + start);
    for (size_t i = 0; i < header_len; ++i) {
        unsigned char c = (unsigned char)text[i];
        if (c == 0 || c >= 0x80) {
            text_format_error(err, err_size, "%s: header contains a non-ASCII or NUL byte at offset %zu",
                    name, start + i);
            return MHA_STATUS_FORMAT_ERROR;
        }
    }
    npy_header *h = &layout->header;
    memset(layout, 0, sizeof *layout);
    mha_status st = parse_header(text, (size_t)header_len, name, h, err, err_size);
    if (st != MHA_STATUS_OK)
        return st;

    size_t kind = dtype_by_descr(h->descr);
    size_t elem = npy_dtypes[kind].size;
    /* Element count and byte size, with overflow checks against size_t and int64. */
    uint64_t count = 1;
    bool overflow = false;
    for (int32_t i = 0; i < h->rank; ++i) {
        uint64_t d = (uint64_t)h->shape[i];
        if (d != 0 && count > UINT64_MAX / d)
            overflow = true;
        else
            count *= d;
    }
    if (count == 0)
        overflow = false; /* a zero dimension makes the product 0 whatever the others are */
    if (!overflow && (count > (uint64_t)INT64_MAX / elem || count > SIZE_MAX / elem))
        overflow = true;
    if (overflow) {
        text_format_error(err, err_size, "%s: shape product overflows the addressable size", name);
        return MHA_STATUS_SIZE_OVERFLOW;
    }
    layout->kind = kind;
    layout->count = count;
    layout->data_offset = start + (size_t)header_len;
    layout->want = count * elem;
    return MHA_STATUS_OK;
}

/* Fills *out from a checked layout and its data (taken over, already
 * `want` bytes). */
static void take_array(const npy_layout *layout, void *data, npy_array *out)
{
    size_t elem = npy_dtypes[layout->kind].size;
    if (elem > 1 && !host_is_little_endian())
        swap_elements(data, (size_t)layout->count, elem);
    out->dtype = npy_dtypes[layout->kind].dtype;
    out->rank = layout->header.rank;
    for (int32_t i = 0; i < layout->header.rank; ++i)
        out->shape[i] = layout->header.shape[i];
    out->count = (size_t)layout->count;
    out->data = data;
}

mha_status npy_parse(const void *bytes, size_t size, const char *name, npy_array *out, char *err,
                     size_t err_size)
{
    if (out == NULL)
        return MHA_STATUS_NULL_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (name == NULL)
        name = "<buffer>";
    if (bytes == NULL && size > 0) {
        text_format_error(err, err_size, "%s: no data", name);
        return MHA_STATUS_NULL_ARGUMENT;
    }
    const unsigned char *b = bytes;
    npy_layout layout;
    mha_status st = parse_layout(b, size, name, &layout, err, err_size);
    if (st != MHA_STATUS_OK)
        return st;
    size_t have = size - layout.data_offset;
    if (layout.want != have) {
        text_format_error(err, err_size, "%s: declares %llu bytes of data but has %zu", name,
                (unsigned long long)layout.want, have);
        return MHA_STATUS_FORMAT_ERROR;
    }
    void *data = malloc(have > 0 ? have : 1);
    if (data == NULL) {
        text_format_error(err, err_size, "%s: out of memory for %zu bytes", name, have);
        return MHA_STATUS_OUT_OF_MEMORY;
    }
    if (have > 0)
        memcpy(data, b + layout.data_offset, have);
    take_array(&layout, data, out);
    return MHA_STATUS_OK;
}

/* Reads up to `size` bytes; returns how many (fewer only at the end of the
 * file), or SIZE_MAX on a read error. */
static size_t read_up_to(FILE *f, void *buf, size_t size)
{
    size_t got = size > 0 ? fread(buf, 1, size, f) : 0;
    return got < size && ferror(f) ? SIZE_MAX : got;
}

/* The reader never holds more than the header says: it reads the preamble,
 * then the header, then exactly the declared data, then checks that the file
 * ends there. A regular file's size is checked against the header before
 * the data are allocated; anything else (a pipe, /dev/zero) is read in
 * bounded steps and refused at the first byte past the declared end. */
mha_status npy_read(const char *path, npy_array *out, char *err, size_t err_size)
{
    if (out == NULL)
        return MHA_STATUS_NULL_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (path == NULL) {
        text_format_error(err, err_size, "npy_read: path is NULL");
        return MHA_STATUS_NULL_ARGUMENT;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        text_format_error(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return MHA_STATUS_IO_ERROR;
    }
    unsigned char *prefix = NULL, *data = NULL;
    mha_status st = MHA_STATUS_OK;
    unsigned char preamble[12];
    size_t got = read_up_to(f, preamble, sizeof preamble);
    if (got == SIZE_MAX)
        goto read_error;
    /* Enough of the preamble to learn the header's length (a short or
     * foreign file fails here, with parse_layout's message). */
    size_t start = got >= 8 && preamble[6] != 1 ? 12 : 10;
    uint64_t header_len = 0;
    if (got >= start && memcmp(preamble, NPY_MAGIC, NPY_MAGIC_LEN) == 0)
        header_len = start == 10 ? (uint64_t)preamble[8] | (uint64_t)preamble[9] << 8
                                 : (uint64_t)preamble[8] | (uint64_t)preamble[9] << 8 |
                                       (uint64_t)preamble[10] << 16 | (uint64_t)preamble[11] << 24;
    if (header_len > NPY_HEADER_MAX) {
        text_format_error(err, err_size, "%s: header length %llu is more than %llu bytes", path,
                          (unsigned long long)header_len, (unsigned long long)NPY_HEADER_MAX);
        st = MHA_STATUS_FORMAT_ERROR;
        goto done;
    }
    size_t prefix_size = start + (size_t)header_len;
    prefix = malloc(prefix_size);
    if (prefix == NULL) {
        text_format_error(err, err_size, "%s: out of memory reading the header", path);
        st = MHA_STATUS_OUT_OF_MEMORY;
        goto done;
    }
    memcpy(prefix, preamble, got < prefix_size ? got : prefix_size);
    size_t have = got < prefix_size ? got : prefix_size;
    if (got > prefix_size) /* a header shorter than the 12 bytes read (format 1.0) */
        have = prefix_size;
    if (have < prefix_size) {
        size_t more = read_up_to(f, prefix + have, prefix_size - have);
        if (more == SIZE_MAX)
            goto read_error;
        have += more;
    }
    npy_layout layout;
    st = parse_layout(prefix, have, path, &layout, err, err_size);
    if (st != MHA_STATUS_OK)
        goto done;
    /* Bytes of the preamble buffer past the header are data already read. */
    size_t early = got > prefix_size ? got - prefix_size : 0;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
        (uint64_t)sb.st_size != (uint64_t)layout.data_offset + layout.want) {
        text_format_error(err, err_size, "%s: declares %llu bytes of data but has %lld", path,
                          (unsigned long long)layout.want,
                          (long long)sb.st_size - (long long)layout.data_offset);
        st = MHA_STATUS_FORMAT_ERROR;
        goto done;
    }
    data = malloc(layout.want > 0 ? (size_t)layout.want : 1);
    if (data == NULL) {
        text_format_error(err, err_size, "%s: out of memory for %llu bytes", path,
                          (unsigned long long)layout.want);
        st = MHA_STATUS_OUT_OF_MEMORY;
        goto done;
    }
    size_t filled = early < layout.want ? early : (size_t)layout.want;
    memcpy(data, preamble + prefix_size, filled);
    if (filled < layout.want) {
        size_t more = read_up_to(f, data + filled, (size_t)layout.want - filled);
        if (more == SIZE_MAX)
            goto read_error;
        filled += more;
    }
    unsigned char extra;
    size_t past = early > layout.want ? 1 : read_up_to(f, &extra, 1);
    if (past == SIZE_MAX)
        goto read_error;
    if (filled < layout.want || past > 0) {
        text_format_error(err, err_size, "%s: declares %llu bytes of data but has %s%zu", path,
                          (unsigned long long)layout.want, past > 0 ? "more than " : "",
                          filled);
        st = MHA_STATUS_FORMAT_ERROR;
        goto done;
    }
    take_array(&layout, data, out);
    data = NULL;
    goto done;

read_error:
    text_format_error(err, err_size, "%s: read error: %s", path, strerror(errno));
    st = MHA_STATUS_IO_ERROR;
done:
    free(prefix);
    free(data);
    fclose(f);
    return st;
}

void npy_array_free(npy_array *array)
{
    if (array == NULL)
        return;
    free(array->data);
    memset(array, 0, sizeof *array);
}

/* ---- writer ------------------------------------------------------------ */

static bool write_all(FILE *f, const void *data, size_t size)
{
    return size == 0 || fwrite(data, 1, size, f) == size;
}

mha_status npy_write_file(output_file *file, mha_dtype dtype, int32_t rank,
                          const int64_t *shape, const void *data, char *err, size_t err_size)
{
    if (file == NULL || file->stream == NULL) {
        text_format_error(err, err_size, "npy_write_file: the file is not open");
        return MHA_STATUS_NULL_ARGUMENT;
    }
    const char *path = file->target;
    size_t kind = dtype_by_value(dtype);
    if (kind == NPY_DTYPE_COUNT) {
        text_format_error(err, err_size,
                          "%s: cannot write dtype %s (only float32, bool, float16, int32 and int64)",
                          path, mha_dtype_name(dtype));
        return MHA_STATUS_INVALID_DTYPE;
    }
    if (rank < 0 || rank > MHA_MAX_RANK) {
        text_format_error(err, err_size, "%s: rank %d is outside 0..%d", path, (int)rank, MHA_MAX_RANK);
        return MHA_STATUS_INVALID_VALUE;
    }
    if (rank > 0 && shape == NULL) {
        text_format_error(err, err_size, "%s: shape is NULL", path);
        return MHA_STATUS_NULL_ARGUMENT;
    }
    size_t elem = npy_dtypes[kind].size;
    uint64_t count = 1;
    for (int32_t i = 0; i < rank; ++i) {
        if (shape[i] < 0) {
            text_format_error(err, err_size, "%s: dimension %d is negative (%lld)", path, (int)i,
                    (long long)shape[i]);
            return MHA_STATUS_INVALID_VALUE;
        }
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && count > UINT64_MAX / d) {
            text_format_error(err, err_size, "%s: shape product overflows", path);
            return MHA_STATUS_SIZE_OVERFLOW;
        }
        count *= d;
    }
    if (count > SIZE_MAX / elem) {
        text_format_error(err, err_size, "%s: shape product overflows", path);
        return MHA_STATUS_SIZE_OVERFLOW;
    }
    size_t nbytes = (size_t)count * elem;
    if (nbytes > 0 && data == NULL) {
        text_format_error(err, err_size, "%s: data is NULL", path);
        return MHA_STATUS_NULL_ARGUMENT;
    }

    /* Header: dict, space padding, '\n'; 10 + len is a multiple of 64. */
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     npy_dtypes[kind].descr);
    for (int32_t i = 0; i < rank; ++i)
        n += snprintf(header + n, sizeof header - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)shape[i]);
    n += snprintf(header + n, sizeof header - (size_t)n, "%s), }", rank == 1 ? "," : "");
    size_t hlen = (size_t)n + 1; /* + '\n' */
    size_t total = 10 + hlen;
    size_t padded = (total + 63) / 64 * 64;
    hlen += padded - total;
    memset(header + n, ' ', hlen - (size_t)n - 1);
    header[hlen - 1] = '\n';

    unsigned char preamble[10];
    memcpy(preamble, NPY_MAGIC, NPY_MAGIC_LEN);
    preamble[6] = 1;
    preamble[7] = 0;
    preamble[8] = (unsigned char)(hlen & 0xff);
    preamble[9] = (unsigned char)(hlen >> 8);

    FILE *f = file->stream;
    bool ok = write_all(f, preamble, sizeof preamble) && write_all(f, header, hlen);
    if (ok && elem > 1 && !host_is_little_endian()) {
        /* Write little-endian in chunks. */
        unsigned char chunk[4096];
        const unsigned char *src = data;
        for (size_t off = 0; ok && off < nbytes; off += sizeof chunk) {
            size_t len = nbytes - off < sizeof chunk ? nbytes - off : sizeof chunk;
            memcpy(chunk, src + off, len);
            swap_elements(chunk, len / elem, elem);
            ok = write_all(f, chunk, len);
        }
    } else if (ok) {
        ok = write_all(f, data, nbytes);
    }
    if (!ok) {
        text_format_error(err, err_size, "%s: write failed: %s", path, strerror(errno));
        return MHA_STATUS_IO_ERROR;
    }
    return MHA_STATUS_OK;
}

mha_status npy_write(const char *path, mha_dtype dtype, int32_t rank, const int64_t *shape,
                     const void *data, char *err, size_t err_size)
{
    if (path == NULL) {
        text_format_error(err, err_size, "npy_write: path is NULL");
        return MHA_STATUS_NULL_ARGUMENT;
    }
    output_file file;
    mha_status st = output_file_open(&file, path, err, err_size);
    if (st != MHA_STATUS_OK)
        return st;
    st = npy_write_file(&file, dtype, rank, shape, data, err, err_size);
    if (st == MHA_STATUS_OK)
        st = output_file_commit(&file, err, err_size);
    output_file_discard(&file);
    return st;
}
