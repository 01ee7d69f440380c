/*
 * test_npy.c - the strict .npy reader on crafted buffers, and the writer.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "output_file.h"

/* Builds a .npy image: magic, version, header length, header text, then
 * `data_len` bytes of data (0x3f repeated). */
static size_t build(unsigned char *buf, size_t cap, int major, const char *header,
                    size_t data_len)
{
    size_t hl = strlen(header);
    size_t pre = major == 1 ? 10 : 12;
    assert_true(pre + hl + data_len <= cap);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    if (major == 1) {
        buf[8] = (unsigned char)(hl & 0xff);
        buf[9] = (unsigned char)(hl >> 8);
    } else {
        buf[8] = (unsigned char)(hl & 0xff);
        buf[9] = (unsigned char)(hl >> 8);
        buf[10] = (unsigned char)(hl >> 16);
        buf[11] = (unsigned char)(hl >> 24);
    }
    memcpy(buf + pre, header, hl);
    memset(buf + pre + hl, 0x3f, data_len);
    return pre + hl + data_len;
}

static unsigned char g_buf[1 << 16];
static char g_err[512];

static mha_status parse_hdr(int major, const char *header, size_t data_len, npy_array *a)
{
    size_t n = build(g_buf, sizeof g_buf, major, header, data_len);
    g_err[0] = '\0';
    return npy_parse(g_buf, n, "x.npy", a, g_err, sizeof g_err);
}

/* A failure: the exact status, a message naming the file, one line, *a zeroed. */
static void expect_fail(int major, const char *header, size_t data_len, mha_status want,
                        const char *needle)
{
    npy_array a;
    memset(&a, 0x5a, sizeof a);
    mha_status st = parse_hdr(major, header, data_len, &a);
    if (st != want)
        fail_msg("header %s: got %s (%s), want %s", header, mha_status_name(st), g_err,
                 mha_status_name(want));
    assert_non_null(strstr(g_err, "x.npy"));
    assert_null(strchr(g_err, '\n'));
    if (needle != NULL && strstr(g_err, needle) == NULL)
        fail_msg("message '%s' lacks '%s'", g_err, needle);
    assert_null(a.data);
    assert_int_equal(a.dtype, MHA_DTYPE_NONE);
}

static void test_good_v1(void **state)
{
    (void)state;
    npy_array a;
    assert_int_equal(parse_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   \n",
                               24, &a),
                     MHA_STATUS_OK);
    assert_int_equal(a.dtype, MHA_DTYPE_F32);
    assert_int_equal(a.rank, 2);
    assert_int_equal(a.shape[0], 2);
    assert_int_equal(a.shape[1], 3);
    assert_int_equal(a.count, 6);
    assert_non_null(a.data);
    npy_array_free(&a);
    assert_null(a.data);
}

static void test_good_variants(void **state)
{
    (void)state;
    npy_array a;
    /* keys in another order, double quotes, no trailing comma, v2 and v3 */
    assert_int_equal(parse_hdr(2, "{\"shape\":(4,),\"fortran_order\":False,\"descr\":\"|b1\"}\n", 4, &a),
                     MHA_STATUS_OK);
    assert_int_equal(a.dtype, MHA_DTYPE_BOOL);
    assert_int_equal(a.rank, 1);
    assert_int_equal(a.shape[0], 4);
    npy_array_free(&a);
    assert_int_equal(parse_hdr(3, "{'fortran_order': False, 'shape': (), 'descr': '<f4'}", 4, &a),
                     MHA_STATUS_OK);
    assert_int_equal(a.rank, 0);
    assert_int_equal(a.count, 1);
    npy_array_free(&a);
    /* a zero dimension: no data at all */
    assert_int_equal(parse_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }\n", 0, &a),
                     MHA_STATUS_OK);
    assert_int_equal(a.count, 0);
    npy_array_free(&a);
    /* rank 4 is the most */
    assert_int_equal(parse_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 1, 2), }\n",
                               16, &a),
                     MHA_STATUS_OK);
    assert_int_equal(a.rank, 4);
    npy_array_free(&a);
}

static void test_bad_magic(void **state)
{
    (void)state;
    npy_array a;
    size_t n = build(g_buf, sizeof g_buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 4);
    g_buf[1] = 'X';
    assert_int_equal(npy_parse(g_buf, n, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "magic"));
    /* too short for the magic */
    assert_int_equal(npy_parse("\x93NU", 3, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_int_equal(npy_parse("", 0, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
}

static void test_bad_version(void **state)
{
    (void)state;
    expect_fail(4, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 4,
                MHA_STATUS_FORMAT_ERROR, "version");
    npy_array a;
    size_t n = build(g_buf, sizeof g_buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 4);
    g_buf[7] = 1; /* 1.1 */
    assert_int_equal(npy_parse(g_buf, n, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "version"));
}

static void test_header_past_end(void **state)
{
    (void)state;
    npy_array a;
    size_t n = build(g_buf, sizeof g_buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 4);
    g_buf[8] = 0xff;
    g_buf[9] = 0xff;
    assert_int_equal(npy_parse(g_buf, n, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "past the end"));
    /* v2 with a 4 GiB header length */
    n = build(g_buf, sizeof g_buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", 4);
    g_buf[11] = 0xff;
    assert_int_equal(npy_parse(g_buf, n, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    /* preamble cut inside the length field */
    assert_int_equal(npy_parse(g_buf, 9, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
}

static void test_bad_dict(void **state)
{
    (void)state;
    const mha_status F = MHA_STATUS_FORMAT_ERROR;
    expect_fail(1, "descr: <f4\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), \n", 4, F, NULL);
    expect_fail(1, "{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,,)}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}\n", 4, F, "shape");
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}\n", 4, F, "shape");
    /* a NUL byte in the header (numpy pads with spaces) */
    npy_array a;
    size_t n = build(g_buf, sizeof g_buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}  \n", 4);
    g_buf[10 + 56] = 0;
    assert_int_equal(npy_parse(g_buf, n, "x.npy", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "NUL"));
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}\n", 4, F,
                "extra");
    expect_fail(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", 4,
                F, "duplicate");
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk\n", 4, F, NULL);
    expect_fail(1, "{'descr': 4, 'fortran_order': False, 'shape': (1,)}\n", 4, F, NULL);
    expect_fail(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}\n", 4, F, NULL);
}

static void test_missing_key(void **state)
{
    (void)state;
    const mha_status F = MHA_STATUS_FORMAT_ERROR;
    expect_fail(1, "{'fortran_order': False, 'shape': (1,), }\n", 4, F, "descr");
    expect_fail(1, "{'descr': '<f4', 'shape': (1,), }\n", 4, F, "fortran_order");
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, }\n", 4, F, "shape");
    expect_fail(1, "{}\n", 4, F, NULL);
}

static void test_fortran_order(void **state)
{
    (void)state;
    expect_fail(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16,
                MHA_STATUS_FORMAT_ERROR, "fortran");
}

static void test_dtypes(void **state)
{
    (void)state;
    const mha_status D = MHA_STATUS_INVALID_DTYPE;
    expect_fail(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", 4, D, ">f4");
    expect_fail(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", 8, D, "<f8");
    expect_fail(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", 8, D, "|O");
    expect_fail(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }\n", 8, D, ">i8");
    expect_fail(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }\n", 2, D, "<u2");
    expect_fail(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }\n", 2, D, "<i2");
    /* bfloat16 as ml_dtypes saves it: raw two-byte voids, not a number type */
    expect_fail(1, "{'descr': '|V2', 'fortran_order': False, 'shape': (1,), }\n", 2, D,
                "only '<f4', '|b1', '<f2', '<i4' and '<i8'");
    expect_fail(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", 4, D,
                "structured");
}

/* float16, int32 and int64: the element size decides the bytes expected. */
static void test_sized_dtypes(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        mha_dtype dtype;
        size_t element;
    } cases[] = {
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }\n", MHA_DTYPE_F16, 2},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }\n", MHA_DTYPE_I32, 4},
        {"{'descr': '<i8', 'fortran_order': False, 'shape': (3, 2), }\n", MHA_DTYPE_I64, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        npy_array a;
        assert_int_equal(parse_hdr(1, cases[i].header, 6 * cases[i].element, &a), MHA_STATUS_OK);
        assert_int_equal(a.dtype, cases[i].dtype);
        assert_int_equal(a.count, 6);
        assert_int_equal(mha_dtype_size(a.dtype), cases[i].element);
        npy_array_free(&a);
        expect_fail(1, cases[i].header, 6 * cases[i].element - 1, MHA_STATUS_FORMAT_ERROR,
                    "bytes of data but has");
        expect_fail(1, cases[i].header, 6 * cases[i].element + cases[i].element,
                    MHA_STATUS_FORMAT_ERROR, "bytes of data but has");
    }
}

static void test_data_size(void **state)
{
    (void)state;
    const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    /* truncated data */
    expect_fail(1, h, 23, MHA_STATUS_FORMAT_ERROR, "declares 24 bytes of data but has 23");
    /* extra data */
    expect_fail(1, h, 25, MHA_STATUS_FORMAT_ERROR, "declares 24 bytes of data but has 25");
    /* declared shape much larger than the file */
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }\n", 16,
                MHA_STATUS_FORMAT_ERROR, "declares 40000000000 bytes of data but has 16");
    /* bool: one byte per element */
    expect_fail(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", 4,
                MHA_STATUS_FORMAT_ERROR, "declares 3 bytes");
}

static void test_overflow(void **state)
{
    (void)state;
    const mha_status O = MHA_STATUS_SIZE_OVERFLOW;
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", 4,
                O, "overflow");
    /* product fits in uint64 but not times 4 bytes */
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }\n", 4,
                O, NULL);
    /* a single dimension past int64 */
    expect_fail(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", 4,
                O, NULL);
    /* a zero dimension makes any product fine */
    npy_array a;
    assert_int_equal(parse_hdr(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }\n",
                               0, &a),
                     MHA_STATUS_OK);
    npy_array_free(&a);
}

static void test_rank5(void **state)
{
    (void)state;
    expect_fail(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }\n", 4,
                MHA_STATUS_FORMAT_ERROR, "rank 5");
}

static char g_dir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/mha_test_npy_XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_round_trip(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/f.npy", g_dir);
    float data[2 * 3 * 5];
    for (int i = 0; i < 30; ++i)
        data[i] = (float)i * 0.25f - 3.0f;
    const int64_t shape[3] = {2, 3, 5};
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 3, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((sb.st_size - 30 * 4) % 64, 0); /* header padded to 64 */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(stat(tmp, &sb), 0);
    npy_array a;
    assert_int_equal(npy_read(path, &a, g_err, sizeof g_err), MHA_STATUS_OK);
    assert_int_equal(a.dtype, MHA_DTYPE_F32);
    assert_int_equal(a.rank, 3);
    assert_int_equal(a.shape[2], 5);
    assert_memory_equal(a.data, data, sizeof data);
    npy_array_free(&a);

    /* bool, rank 1 and rank 0 */
    const uint8_t b[3] = {1, 0, 1};
    const int64_t s1[1] = {3};
    assert_int_equal(npy_write(path, MHA_DTYPE_BOOL, 1, s1, b, g_err, sizeof g_err), MHA_STATUS_OK);
    assert_int_equal(npy_read(path, &a, g_err, sizeof g_err), MHA_STATUS_OK);
    assert_int_equal(a.dtype, MHA_DTYPE_BOOL);
    assert_int_equal(a.rank, 1);
    assert_memory_equal(a.data, b, 3);
    npy_array_free(&a);
    float one = 7.0f;
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 0, NULL, &one, g_err, sizeof g_err), MHA_STATUS_OK);
    assert_int_equal(npy_read(path, &a, g_err, sizeof g_err), MHA_STATUS_OK);
    assert_int_equal(a.rank, 0);
    assert_int_equal(a.count, 1);
    assert_true(((float *)a.data)[0] == 7.0f);
    npy_array_free(&a);

    /* float16, int32, int64: the bytes as given, and numpy's descr */
    const uint16_t halves[4] = {0x3c00, 0xc000, 0x7bff, 0x0001}; /* 1, -2, 65504, 2^-24 */
    const int32_t ints[2] = {-7, 2147483647};
    const int64_t longs[3] = {-1, 4096, INT64_MAX};
    const struct {
        mha_dtype dtype;
        const void *data;
        int64_t count;
        size_t bytes;
        const char *descr;
    } typed[] = {
        {MHA_DTYPE_F16, halves, 4, sizeof halves, "'<f2'"},
        {MHA_DTYPE_I32, ints, 2, sizeof ints, "'<i4'"},
        {MHA_DTYPE_I64, longs, 3, sizeof longs, "'<i8'"},
    };
    for (size_t i = 0; i < sizeof typed / sizeof typed[0]; ++i) {
        assert_int_equal(npy_write(path, typed[i].dtype, 1, &typed[i].count, typed[i].data, g_err,
                                   sizeof g_err),
                         MHA_STATUS_OK);
        assert_int_equal(npy_read(path, &a, g_err, sizeof g_err), MHA_STATUS_OK);
        assert_int_equal(a.dtype, typed[i].dtype);
        assert_int_equal(a.count, typed[i].count);
        assert_memory_equal(a.data, typed[i].data, typed[i].bytes);
        npy_array_free(&a);
        FILE *typed_file = fopen(path, "rb");
        assert_non_null(typed_file);
        char typed_head[64];
        assert_int_equal(fread(typed_head, 1, sizeof typed_head, typed_file), sizeof typed_head);
        fclose(typed_file);
        assert_memory_equal(typed_head + 10, "{'descr': ", 10);
        assert_memory_equal(typed_head + 20, typed[i].descr, 5);
    }

    /* the writer's header is what numpy writes (for the rank-0 float32) */
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 0, NULL, &one, g_err, sizeof g_err), MHA_STATUS_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char head[128];
    assert_int_equal(fread(head, 1, 128, f), 128);
    fclose(f);
    assert_memory_equal(head, "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 10 + 55);
    assert_int_equal(head[65], ' ');
    assert_int_equal(head[127], '\n');
}

static int count_hidden_files(const char *dir);

static void test_write_failure(void **state)
{
    (void)state;
    char path[512];
    const int64_t shape[1] = {2};
    const float data[2] = {1, 2};
    /* folder that does not exist */
    snprintf(path, sizeof path, "%s/no/such/dir/f.npy", g_dir);
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_IO_ERROR);
    assert_null(strchr(g_err, '\n'));
    /* the target is a directory: the rename fails, and no temp file is left */
    snprintf(path, sizeof path, "%s/adir", g_dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/x", path);
    FILE *f = fopen(inner, "w"); /* non-empty, so rename cannot replace it */
    assert_non_null(f);
    fclose(f);
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_IO_ERROR);
    assert_non_null(strstr(g_err, "is a directory"));
    /* bad arguments: refused, and no file is left behind */
    snprintf(path, sizeof path, "%s/bad-args.npy", g_dir);
    assert_int_equal(npy_write(path, MHA_DTYPE_BF16, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_INVALID_DTYPE);
    assert_non_null(strstr(g_err, "bfloat16"));
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 5, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_INVALID_VALUE);
    struct stat sb;
    assert_int_not_equal(lstat(path, &sb), 0);
    assert_int_equal(count_hidden_files(g_dir), 0);
}

/* Files whose name starts with '.': the writer's temporary files. */
static int count_hidden_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        count += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return count;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(buf, 1, size - 1, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* The writer never uses a fixed temporary name: a link planted at OUT.tmp
 * (the old name) is not followed, and a user's own OUT.tmp is left alone. */
static void test_write_temporaries(void **state)
{
    (void)state;
    char path[512], planted[600], victim[512], text[64];
    const int64_t shape[1] = {2};
    const float data[2] = {1, 2};
    snprintf(path, sizeof path, "%s/out.npy", g_dir);
    snprintf(planted, sizeof planted, "%s.tmp", path);
    snprintf(victim, sizeof victim, "%s/victim.txt", g_dir);
    write_text(victim, "precious");
    assert_int_equal(symlink(victim, planted), 0);
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    assert_string_equal(read_text(victim, text, sizeof text), "precious");
    unlink(planted);
    write_text(planted, "mine");
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    assert_string_equal(read_text(planted, text, sizeof text), "mine");
    unlink(planted);
    unlink(victim);
    assert_int_equal(count_hidden_files(g_dir), 0);

    /* A replaced file keeps its mode; a new one gets 0666 minus the umask. */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    unlink(path);
    mode_t mask = umask(027);
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    umask(mask);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    unlink(path);

    /* A device is written through, never replaced by a regular file. */
    assert_int_equal(npy_write("/dev/null", MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    assert_int_equal(stat("/dev/null", &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    /* A link to a file is written through: the link stays a link. */
    snprintf(victim, sizeof victim, "%s/real.npy", g_dir);
    write_text(victim, "old");
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, 1, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    npy_array a;
    assert_int_equal(npy_read(victim, &a, g_err, sizeof g_err), MHA_STATUS_OK);
    assert_int_equal(a.count, 2);
    npy_array_free(&a);
    unlink(path);
    unlink(victim);
}

static void test_same_file(void **state)
{
    (void)state;
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/same.npy", g_dir);
    snprintf(b, sizeof b, "%s/./same.npy", g_dir);
    assert_true(output_files_same(a, b));
    snprintf(b, sizeof b, "%s/../%s/same.npy", g_dir, strrchr(g_dir, '/') + 1);
    assert_true(output_files_same(a, b));
    snprintf(c, sizeof c, "%s/other.npy", g_dir);
    assert_false(output_files_same(a, c));
    /* A hard link is the same file under another name. */
    write_text(a, "x");
    assert_int_equal(link(a, c), 0);
    assert_true(output_files_same(a, c));
    unlink(a);
    unlink(c);
}

/* The reader holds no more than the header declares. */
static void test_read_bounded(void **state)
{
    (void)state;
    npy_array a;
    /* /dev/zero: refused at its first bytes instead of read until memory runs out */
    assert_int_equal(npy_read("/dev/zero", &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "bad magic"));
    /* a regular file with bytes past the declared data */
    char path[512];
    snprintf(path, sizeof path, "%s/long.npy", g_dir);
    size_t n = build(g_buf, sizeof g_buf, 1,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 9);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(g_buf, 1, n, f), n);
    fclose(f);
    assert_int_equal(npy_read(path, &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "declares 8 bytes of data but has 9"));
    unlink(path);
    /* a pipe that goes on past the declared data */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], g_buf, n), (ssize_t)n);
    assert_int_equal(write(fds[1], g_buf, 100), 100);
    close(fds[1]);
    char pipe_path[64];
    snprintf(pipe_path, sizeof pipe_path, "/proc/self/fd/%d", fds[0]);
    assert_int_equal(npy_read(pipe_path, &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "declares 8 bytes of data but has more than 8"));
    close(fds[0]);
    /* and one that ends early */
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], g_buf, n - 5), (ssize_t)(n - 5));
    close(fds[1]);
    snprintf(pipe_path, sizeof pipe_path, "/proc/self/fd/%d", fds[0]);
    assert_int_equal(npy_read(pipe_path, &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "declares 8 bytes of data but has 4"));
    close(fds[0]);
    /* a header longer than the reader takes (format 2.0 allows 4 GiB) */
    unsigned char big[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0, 0x40};
    snprintf(path, sizeof path, "%s/bighead.npy", g_dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(big, 1, sizeof big, f), sizeof big);
    fclose(f);
    assert_int_equal(npy_read(path, &a, g_err, sizeof g_err), MHA_STATUS_FORMAT_ERROR);
    assert_non_null(strstr(g_err, "header length 1073741824 is more than"));
    unlink(path);
}

static void test_read_missing(void **state)
{
    (void)state;
    npy_array a;
    char path[512];
    snprintf(path, sizeof path, "%s/missing.npy", g_dir);
    assert_int_equal(npy_read(path, &a, g_err, sizeof g_err), MHA_STATUS_IO_ERROR);
    assert_non_null(strstr(g_err, "missing.npy"));
    assert_null(a.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_v1),       cmocka_unit_test(test_good_variants),
        cmocka_unit_test(test_bad_magic),     cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_header_past_end), cmocka_unit_test(test_bad_dict),
        cmocka_unit_test(test_missing_key),   cmocka_unit_test(test_fortran_order),
        cmocka_unit_test(test_dtypes),        cmocka_unit_test(test_sized_dtypes),
        cmocka_unit_test(test_data_size),
        cmocka_unit_test(test_overflow),      cmocka_unit_test(test_rank5),
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_read_missing),  cmocka_unit_test(test_write_temporaries),
        cmocka_unit_test(test_same_file),     cmocka_unit_test(test_read_bounded),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
