/*
 * test_torch_cases.c - replays the PyTorch-checked cases of tests/data/torch
 * (made by tests/torch/gen_expected.py) through run_job_execute on one plugin
 * and compares with the float64 expected values.
 *
 * Usage: test_torch_cases [--data DIR] [--atol A] [--rtol R]
 * Environment: MHA_TEST_PLUGIN (backend spec, default "reference"),
 *              MHA_TEST_ATOL / MHA_TEST_RTOL (override the tolerance; argv wins).
 * Exit status: cmocka's count of failed cases; 77 (CTest SKIP_RETURN_CODE) when
 * a plugin other than "reference" cannot be opened (no device here).
 *
 * Every case folder is one cmocka test named after the folder, so a failure
 * names its case. An element passes iff |got - expected| <= atol + rtol*|expected|
 * and got is finite.
 *
 * Tolerances: the reference plugin accumulates in double, so its only error is
 * the float32 rounding of its output (relative 6e-8) plus the float32 weights it
 * returns; atol = 1e-5, rtol = 1e-4 leaves two orders of magnitude of margin and
 * still catches any semantic slip (those move values by 1e-2 or more). Other
 * plugins accumulate in float32 (errors grow with E, S and with logits of ~80 in
 * large_logits): atol = 1e-4, rtol = 1e-3 for them.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mha/mha.h"
#include "npy.h"
#include "run_job.h"

#ifndef MHA_TORCH_DATA_DIR
#define MHA_TORCH_DATA_DIR "tests/data/torch"
#endif

#define MAX_WORDS 128
#define PATH_SIZE 4096
#define ERR_SIZE 512

typedef struct torch_case {
    char name[256];
    char dir[PATH_SIZE];
} torch_case;

/* Shared by every case (set in main and the group setup). */
static struct {
    const char *plugin;
    double atol, rtol;
    mha_backend *backend;
} g_env;

/* ---- float64 .npy reader (npy.h reads only '<f4' and '|b1') --------------- */

typedef struct f64_array {
    int32_t rank;
    int64_t shape[MHA_MAX_RANK];
    size_t count;
    double *data;
} f64_array;

/* Reads a little-endian '<f8' C-order .npy with rank <= MHA_MAX_RANK. The files
 * are ours (written by numpy.save), so the header parse is simple but checked. */
static bool read_f64_npy(const char *path, f64_array *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    bool ok = false;
    char *header = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        snprintf(err, err_size, "%s: not a .npy file", path);
        goto done;
    }
    size_t header_len;
    if (pre[6] == 1) {
        header_len = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            snprintf(err, err_size, "%s: truncated header", path);
            goto done;
        }
        header_len = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) |
                     ((size_t)pre[11] << 24);
    } else {
        snprintf(err, err_size, "%s: unknown .npy version %d", path, pre[6]);
        goto done;
    }
    if (header_len > 65536) {
        snprintf(err, err_size, "%s: header too long", path);
        goto done;
    }
    header = malloc(header_len + 1);
    if (header == NULL || fread(header, 1, header_len, f) != header_len) {
        snprintf(err, err_size, "%s: truncated header", path);
        goto done;
    }
    header[header_len] = '\0';
    if (strstr(header, "'descr': '<f8'") == NULL ||
        strstr(header, "'fortran_order': False") == NULL) {
        snprintf(err, err_size, "%s: expected a C-order '<f8' array: %s", path, header);
        goto done;
    }
    const char *p = strstr(header, "'shape': (");
    if (p == NULL) {
        snprintf(err, err_size, "%s: no shape in header", path);
        goto done;
    }
    p += strlen("'shape': (");
    out->count = 1;
    while (*p != ')') {
        char *end;
        long long dim = strtoll(p, &end, 10);
        if (end == p || dim < 0 || out->rank == MHA_MAX_RANK) {
            snprintf(err, err_size, "%s: bad shape in header", path);
            goto done;
        }
        out->shape[out->rank++] = dim;
        out->count *= (size_t)dim;
        p = end;
        while (*p == ',' || *p == ' ')
            ++p;
    }
    out->data = malloc(out->count ? out->count * sizeof(double) : 1);
    if (out->data == NULL) {
        snprintf(err, err_size, "%s: out of memory", path);
        goto done;
    }
    if (fread(out->data, sizeof(double), out->count, f) != out->count || fgetc(f) != EOF) {
        snprintf(err, err_size, "%s: data size does not match the shape", path);
        goto done;
    }
    ok = true; /* host is little-endian on every platform this test runs on */
done:
    free(header);
    fclose(f);
    if (!ok) {
        free(out->data);
        memset(out, 0, sizeof *out);
    }
    return ok;
}

/* ---- comparison --------------------------------------------------------- */

/* Compares a float32 result with float64 expected values; prints the worst
 * error and up to 5 failing elements. Returns the number of failing elements. */
static size_t compare(const char *case_name, const char *what, const npy_array *got,
                      const f64_array *want)
{
    if (got->dtype != MHA_DTYPE_F32) {
        print_error("%s: %s has dtype %s, expected f32\n", case_name, what,
                    mha_dtype_name(got->dtype));
        return 1;
    }
    bool same_shape = got->rank == want->rank && got->count == want->count;
    for (int32_t i = 0; same_shape && i < got->rank; ++i)
        same_shape = got->shape[i] == want->shape[i];
    if (!same_shape) {
        print_error("%s: %s has rank %d and %zu elements, expected rank %d and %zu\n", case_name,
                    what, (int)got->rank, got->count, (int)want->rank, want->count);
        return 1;
    }
    const float *g = got->data;
    size_t bad = 0, worst_i = 0;
    double worst = 0.0, worst_ratio = 0.0;
    for (size_t i = 0; i < want->count; ++i) {
        double x = (double)g[i], y = want->data[i];
        double diff = fabs(x - y), bound = g_env.atol + g_env.rtol * fabs(y);
        if (!isfinite(x) || !(diff <= bound)) {
            if (bad < 5)
                print_error("%s: %s[%zu] = %.9g, expected %.17g (|err| %.3g > %.3g)\n", case_name,
                            what, i, x, y, diff, bound);
            ++bad;
            continue;
        }
        if (diff / bound > worst_ratio) {
            worst_ratio = diff / bound;
            worst = diff;
            worst_i = i;
        }
    }
    print_message("    %-34s %-7s max|err| %.3g at [%zu] (%.2g of tolerance)%s\n", case_name, what,
                  worst, worst_i, worst_ratio, bad ? ", FAILED" : "");
    if (bad > 0)
        print_error("%s: %zu of %zu %s elements out of tolerance (atol %g, rtol %g)\n", case_name,
                    bad, want->count, what, g_env.atol, g_env.rtol);
    return bad;
}

/* ---- one case ----------------------------------------------------------- */

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads args.txt and splits it at whitespace; the words point into *buffer. */
static int read_words(const char *path, char **buffer, char **words, int max_words)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL)
        return -1;
    buf[len] = '\0';
    int count = 0;
    for (char *p = buf; *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (count == max_words) {
            free(buf);
            return -1;
        }
        words[count++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            ++p;
    }
    *buffer = buf;
    return count;
}

static void test_case(void **state)
{
    const torch_case *tc = *state;
    char path[PATH_SIZE + 64], err[ERR_SIZE] = "";
    char *buffer = NULL, *words[MAX_WORDS + 2];
    snprintf(path, sizeof path, "%s/args.txt", tc->dir);
    int argc = read_words(path, &buffer, words, MAX_WORDS);
    if (argc <= 0)
        fail_msg("%s: cannot read or split %s", tc->name, path);
    /* args.txt leaves out --out, which the parser requires; run_job_execute
     * writes nothing, so any absolute path does. */
    static char out_option[] = "--out", out_path[] = "/dev/null";
    words[argc++] = out_option;
    words[argc++] = out_path;

    run_options options;
    memset(&options, 0, sizeof options);
    mha_status st = run_options_parse(argc, words, tc->dir, &options, err, sizeof err);
    if (st != MHA_STATUS_OK) {
        free(buffer);
        fail_msg("%s: run_options_parse: %s: %s", tc->name, mha_status_name(st), err);
    }

    run_result result;
    memset(&result, 0, sizeof result);
    st = run_job_execute(&options, g_env.backend, &result, err, sizeof err);
    bool need_weights = options.need_weights;
    run_options_free(&options);
    free(buffer);
    if (st != MHA_STATUS_OK)
        fail_msg("%s: run_job_execute: %s: %s", tc->name, mha_status_name(st), err);

    size_t bad = 0;
    f64_array want;
    snprintf(path, sizeof path, "%s/expected_output.npy", tc->dir);
    if (!read_f64_npy(path, &want, err, sizeof err)) {
        run_result_free(&result);
        fail_msg("%s: %s", tc->name, err);
    }
    bad += compare(tc->name, "output", &result.output, &want);
    free(want.data);

    snprintf(path, sizeof path, "%s/expected_weights.npy", tc->dir);
    if (need_weights != file_exists(path)) {
        run_result_free(&result);
        fail_msg("%s: args.txt %s --need-weights but expected_weights.npy is %s", tc->name,
                 need_weights ? "has" : "lacks", need_weights ? "missing" : "present");
    }
    if (need_weights) {
        if (!read_f64_npy(path, &want, err, sizeof err)) {
            run_result_free(&result);
            fail_msg("%s: %s", tc->name, err);
        }
        bad += compare(tc->name, "weights", &result.weights, &want);
        free(want.data);
    }
    run_result_free(&result);
    if (bad > 0)
        fail_msg("%s: %zu elements out of tolerance", tc->name, bad);
}

/* ---- enumeration, main ---------------------------------------------------- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const torch_case *)a)->name, ((const torch_case *)b)->name);
}

/* Every subfolder of `root` holding an args.txt, sorted by name. */
static size_t list_cases(const char *root, torch_case **out)
{
    *out = NULL;
    DIR *d = opendir(root);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", root, strerror(errno));
        return 0;
    }
    size_t count = 0, cap = 0;
    torch_case *cases = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof cases->name)
            continue;
        char args[PATH_SIZE + 300];
        snprintf(args, sizeof args, "%s/%s/args.txt", root, e->d_name);
        if (!file_exists(args))
            continue;
        if (count == cap) {
            size_t new_cap = cap ? 2 * cap : 64;
            torch_case *grown = realloc(cases, new_cap * sizeof *cases);
            if (grown == NULL)
                break;
            cases = grown;
            cap = new_cap;
        }
        snprintf(cases[count].name, sizeof cases[count].name, "%s", e->d_name);
        int n = snprintf(cases[count].dir, sizeof cases[count].dir, "%s/%s", root, e->d_name);
        if (n < 0 || (size_t)n >= sizeof cases[count].dir)
            continue;
        ++count;
    }
    closedir(d);
    if (count > 1)
        qsort(cases, count, sizeof *cases, compare_names);
    *out = cases;
    return count;
}

static double env_double(const char *name, double fallback)
{
    const char *s = getenv(name);
    return (s != NULL && *s != '\0') ? strtod(s, NULL) : fallback;
}

int main(int argc, char **argv)
{
    const char *data_dir = MHA_TORCH_DATA_DIR;
    g_env.plugin = getenv("MHA_TEST_PLUGIN");
    if (g_env.plugin == NULL || *g_env.plugin == '\0')
        g_env.plugin = "reference";
    bool reference = strcmp(g_env.plugin, "reference") == 0;
    g_env.atol = env_double("MHA_TEST_ATOL", reference ? 1e-5 : 1e-4);
    g_env.rtol = env_double("MHA_TEST_RTOL", reference ? 1e-4 : 1e-3);
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (strcmp(argv[i], "--atol") == 0 && i + 1 < argc) {
            g_env.atol = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc) {
            g_env.rtol = strtod(argv[++i], NULL);
        } else {
            fprintf(stderr, "usage: %s [--data DIR] [--atol A] [--rtol R]\n", argv[0]);
            return 2;
        }
    }
    if (!(g_env.atol >= 0.0) || !(g_env.rtol >= 0.0)) {
        fprintf(stderr, "tolerances must be >= 0\n");
        return 2;
    }

    torch_case *cases;
    size_t count = list_cases(data_dir, &cases);
    if (count == 0) {
        fprintf(stderr, "no case folders (with args.txt) under %s\n", data_dir);
        free(cases);
        return 1;
    }
    struct CMUnitTest *tests = calloc(count, sizeof *tests);
    if (tests == NULL) {
        free(cases);
        return 1;
    }
    for (size_t i = 0; i < count; ++i) {
        tests[i].name = cases[i].name;
        tests[i].test_func = test_case;
        tests[i].initial_state = &cases[i];
    }
    printf("torch cases: %zu from %s, plugin %s, atol %g, rtol %g\n", count, data_dir,
           g_env.plugin, g_env.atol, g_env.rtol);
    fflush(stdout);
    int failed;
    mha_status st = mha_backend_open(g_env.plugin, &g_env.backend);
    if (st != MHA_STATUS_OK) {
        /* The reference plugin is built with the tests: missing it is a failure. Another
         * plugin may lack a device here: exit 77, which CTest reports as skipped. */
        fprintf(stderr, "mha_backend_open(\"%s\"): %s: %s\n", g_env.plugin, mha_status_name(st),
                mha_last_error());
        failed = reference ? 1 : 77;
    } else {
        failed = _cmocka_run_group_tests("torch_cases", tests, count, NULL, NULL);
        mha_backend_close(g_env.backend);
    }
    free(tests);
    free(cases);
    return failed;
}
