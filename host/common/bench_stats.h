/*
 * bench_stats.h - the pure arithmetic of `mha bench`: the FLOP count of one
 * attention forward and the summary (median, min, max) of a set of timings.
 * No I/O and no mha calls, so tests/bench can check them on known values.
 */
#ifndef MHA_BENCH_STATS_H
#define MHA_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Floating-point operations of one forward, counting a multiply-add as 2 and
 * only the matrix products (softmax, bias, masks and scaling are left out):
 *
 *   q projection      2 * N * L * E * E
 *   k projection      2 * N * S * kdim * E
 *   v projection      2 * N * S * vdim * E
 *   Q K^T and P V     4 * N * L * S * E     (2*N*L*S*(E/H) per head, H heads, twice)
 *   output projection 2 * N * L * E * E
 *
 * N is the batch (1 for unbatched inputs), L the target and S the source
 * length; kdim = vdim = E for self-attention. A value of 0 for kdim or vdim
 * means E. Returns the count as a double (exact below 2^53). */
double bench_flops(int64_t batch, int64_t tgt_len, int64_t src_len, int64_t embed_dim,
                   int64_t kdim, int64_t vdim);

/* GFLOP/s for `flops` done in `milliseconds`; 0 if milliseconds <= 0. */
double bench_gflops(double flops, double milliseconds);

/* Median, minimum and maximum of n >= 1 values; the median of an even count
 * is the mean of the two middle values. `values` is left unchanged. Returns
 * -1 if n == 0 or memory runs out, else 0. */
int bench_summarize(const double *values, size_t n, double *median, double *min, double *max);

#endif
