/*
 * bench_report.h - what `mha bench` prints: a text table on stdout and the
 * --json records (one JSON object per case, in one array).
 */
#ifndef MHA_BENCH_REPORT_H
#define MHA_BENCH_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "bench_case.h"

/* The column titles of the text table. */
void bench_print_header(FILE *f);
/* One row for a result, then an indented line of stages when there are any. */
void bench_print_result(FILE *f, const bench_result *r);

/* Writes `count` results as a JSON array of objects with the fields
 *   plugin, device, device_spec, case, batch, tgt_len, src_len, embed_dim,
 *   num_heads, need_weights, warmup, reps, median_ms, min_ms, max_ms, flop,
 *   gflops, gemm_ms, stages, gemm_stages, peak_device_bytes, device_allocations,
 *   steady_allocations, backend_open_ms, cold_first_ms, warm_first_ms
 * where stages is an object stage name -> median ms and gemm_stages the names
 * of the stages flagged is_gemm; gemm_ms (the median of their sum), stages and
 * gemm_stages are null when the plugin reports no stages (gemm_ms also when
 * no stage is a GEMM), and peak_device_bytes, device_allocations and
 * steady_allocations are null when it keeps no statistics. Returns 0, or -1
 * if a write failed. */
int bench_write_json(FILE *f, const bench_result *results, size_t count);

#endif
