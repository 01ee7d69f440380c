/*
 * bench_stats.c - FLOP count and timing summary for `mha bench`.
 */
#include "bench_stats.h"

#include <stdlib.h>
#include <string.h>

double bench_flops(int64_t batch, int64_t tgt_len, int64_t src_len, int64_t embed_dim,
                   int64_t kdim, int64_t vdim)
{
    const double n = (double)(batch > 0 ? batch : 1);
    const double l = (double)tgt_len, s = (double)src_len, e = (double)embed_dim;
    const double k = (double)(kdim > 0 ? kdim : embed_dim);
    const double v = (double)(vdim > 0 ? vdim : embed_dim);
    const double q_proj = 2.0 * n * l * e * e;
    const double k_proj = 2.0 * n * s * k * e;
    const double v_proj = 2.0 * n * s * v * e;
    const double products = 4.0 * n * l * s * e;
    const double out_proj = 2.0 * n * l * e * e;
    return q_proj + k_proj + v_proj + products + out_proj;
}

double bench_gflops(double flops, double milliseconds)
{
    if (!(milliseconds > 0.0))
        return 0.0;
    return flops / (milliseconds * 1e6);
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int bench_summarize(const double *values, size_t n, double *median, double *min, double *max)
{
    if (n == 0 || values == NULL)
        return -1;
    double *sorted = malloc(n * sizeof *sorted);
    if (sorted == NULL)
        return -1;
    memcpy(sorted, values, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_double);
    *min = sorted[0];
    *max = sorted[n - 1];
    *median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    free(sorted);
    return 0;
}
