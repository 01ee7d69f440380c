/*
 * cli_helper.c - inputs and checks for tests/cli/test_cli.sh.
 *
 *   cli_helper gen DIR
 *       Writes a small problem (L=5, N=2, S=7, E=8, H=2, kdim=vdim=8) to DIR:
 *       q.npy k.npy v.npy kpm.npy (bool) mask.npy (float) weights/ (packed, with
 *       bias) and, for the error tests, q_f8.npy ('<f8'), q_trunc.npy
 *       (truncated data), q_e6.npy (last dim 6), q_bool.npy (bool query),
 *       weights_badshape/ (out_proj.weight (8, 4)) and weights_missing/ (no
 *       out_proj.bias.npy).
 *   cli_helper check RUN-OPTIONS...
 *       Recomputes the job through run_job_execute on the reference plugin and
 *       compares it bit for bit with the files that `mha run` wrote at --out
 *       (and --weights-out), including dtype and shape. Exit 0 if equal.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mha/mha.h"
#include "npy.h"
#include "run_job.h"

static char g_err[1024];

static uint64_t g_lcg = 12345;

static float rnd(void)
{
    g_lcg = g_lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_lcg >> 40) / 16777216.0) * 2.0f - 1.0f;
}

static int put_f32(const char *dir, const char *name, int32_t rank, int64_t d0, int64_t d1,
                   int64_t d2)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const int64_t shape[3] = {d0, d1, d2};
    size_t n = 1;
    for (int32_t i = 0; i < rank; ++i)
        n *= (size_t)shape[i];
    float *data = malloc(n * sizeof(float) + 1);
    if (data == NULL)
        return 1;
    for (size_t i = 0; i < n; ++i)
        data[i] = rnd() * 0.5f;
    mha_status st = npy_write(path, MHA_DTYPE_F32, rank, shape, data, g_err, sizeof g_err);
    free(data);
    if (st != MHA_STATUS_OK) {
        fprintf(stderr, "cli_helper: %s\n", g_err);
        return 1;
    }
    return 0;
}

static int put_bool(const char *dir, const char *name, int32_t rank, int64_t d0, int64_t d1,
                    const uint8_t *data)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const int64_t shape[2] = {d0, d1};
    if (npy_write(path, MHA_DTYPE_BOOL, rank, shape, data, g_err, sizeof g_err) != MHA_STATUS_OK) {
        fprintf(stderr, "cli_helper: %s\n", g_err);
        return 1;
    }
    return 0;
}

static int put_raw(const char *dir, const char *name, const char *header, size_t data_len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 1;
    size_t hl = strlen(header);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                             (unsigned char)(hl >> 8)};
    fwrite(pre, 1, sizeof pre, f);
    fwrite(header, 1, hl, f);
    for (size_t i = 0; i < data_len; ++i)
        fputc(0, f);
    return fclose(f) == 0 ? 0 : 1;
}

static int weights(const char *dir, const char *sub, int64_t out_cols, bool out_bias)
{
    char w[1024];
    snprintf(w, sizeof w, "%s/%s", dir, sub);
    mkdir(w, 0755);
    int rc = put_f32(w, "in_proj_weight.npy", 2, 24, 8, 0) | put_f32(w, "in_proj_bias.npy", 1, 24, 0, 0) |
             put_f32(w, "out_proj.weight.npy", 2, 8, out_cols, 0);
    if (out_bias)
        rc |= put_f32(w, "out_proj.bias.npy", 1, 8, 0, 0);
    return rc;
}

static int gen(const char *dir)
{
    mkdir(dir, 0755);
    int rc = put_f32(dir, "q.npy", 3, 5, 2, 8) | put_f32(dir, "k.npy", 3, 7, 2, 8) |
             put_f32(dir, "v.npy", 3, 7, 2, 8) | put_f32(dir, "mask.npy", 2, 5, 7, 0) |
             put_f32(dir, "q_e6.npy", 3, 5, 2, 6);
    const uint8_t kpm[14] = {0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0};
    rc |= put_bool(dir, "kpm.npy", 2, 2, 7, kpm);
    uint8_t qb[80] = {0};
    const int64_t qshape[3] = {5, 2, 8};
    char path[1024];
    snprintf(path, sizeof path, "%s/q_bool.npy", dir);
    rc |= npy_write(path, MHA_DTYPE_BOOL, 3, qshape, qb, g_err, sizeof g_err) != MHA_STATUS_OK;
    rc |= put_raw(dir, "q_f8.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 2, 8), }     \n", 640);
    rc |= put_raw(dir, "q_trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2, 8), }     \n", 319);
    rc |= weights(dir, "weights", 8, true);
    rc |= weights(dir, "weights_badshape", 4, true);
    rc |= weights(dir, "weights_missing", 8, false);
    return rc ? 1 : 0;
}

static int same(const char *what, const char *path, const npy_array *want)
{
    npy_array got;
    if (npy_read(path, &got, g_err, sizeof g_err) != MHA_STATUS_OK) {
        fprintf(stderr, "cli_helper: %s\n", g_err);
        return 1;
    }
    int rc = 0;
    if (got.dtype != want->dtype || got.rank != want->rank || got.count != want->count ||
        memcmp(got.shape, want->shape, sizeof got.shape) != 0) {
        fprintf(stderr, "cli_helper: %s: dtype/shape differ from the recomputed result\n", what);
        rc = 1;
    } else if (memcmp(got.data, want->data, got.count * mha_dtype_size(got.dtype)) != 0) {
        fprintf(stderr, "cli_helper: %s: values differ from the recomputed result\n", what);
        rc = 1;
    } else {
        printf("%s: %zu values, shape (", what, got.count);
        for (int32_t i = 0; i < got.rank; ++i)
            printf("%s%lld", i ? ", " : "", (long long)got.shape[i]);
        printf("), identical\n");
    }
    npy_array_free(&got);
    return rc;
}

static int check(int argc, char **argv)
{
    run_options opt;
    if (run_options_parse(argc, argv, NULL, &opt, g_err, sizeof g_err) != MHA_STATUS_OK) {
        fprintf(stderr, "cli_helper: %s\n", g_err);
        return 1;
    }
    mha_backend *b = NULL;
    run_result res;
    memset(&res, 0, sizeof res);
    int rc = 1;
    if (mha_backend_open("reference", &b) != MHA_STATUS_OK) {
        fprintf(stderr, "cli_helper: %s\n", mha_last_error());
        goto done;
    }
    if (run_job_execute(&opt, b, &res, g_err, sizeof g_err) != MHA_STATUS_OK) {
        fprintf(stderr, "cli_helper: %s\n", g_err);
        goto done;
    }
    rc = same("output", opt.out_path, &res.output);
    if (opt.need_weights)
        rc |= same("weights", opt.weights_out_path, &res.weights);
done:
    run_result_free(&res);
    mha_backend_close(b);
    run_options_free(&opt);
    mha_shutdown();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return check(argc - 2, argv + 2);
    fprintf(stderr, "usage: cli_helper gen DIR | check RUN-OPTIONS...\n");
    return 2;
}
