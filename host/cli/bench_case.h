/*
 * bench_case.h - one case of `mha bench`: a shape run on one backend spec
 * through the public API only, with first-call latencies, warm-up, timed
 * repetitions and the plugin's statistics (mha_attention_get_stats).
 */
#ifndef MHA_BENCH_CASE_H
#define MHA_BENCH_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mha/mha.h"

/* A shape. tgt_len == src_len is self-attention (query, key and value are one
 * buffer); otherwise cross attention with key and value one buffer (the
 * encoder output of a decoder). kdim = vdim = embed_dim, bias on, no mask. */
typedef struct bench_shape {
    int64_t batch, tgt_len, src_len, embed_dim, num_heads;
    bool need_weights;
} bench_shape;

/* "N=4 L=128 S=128 E=512 H=8" plus " weights" when need_weights. */
void bench_shape_describe(const bench_shape *shape, char *buf, size_t size);

/* Progress on stderr, only once the run has lasted PROGRESS_AFTER seconds and
 * then at most every PROGRESS_EVERY seconds (a forced line ignores the
 * latter, not the former). */
typedef struct bench_progress {
    double run_start;  /* bench_now() when the command started */
    double last_line;  /* when the last line was printed, 0 = never */
    double after_s;    /* quiet for the first after_s seconds (default 3) */
    double every_s;    /* then at most one line per every_s seconds (default 5) */
} bench_progress;

void bench_progress_init(bench_progress *progress);
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void bench_progress_note(bench_progress *progress, bool force, const char *fmt, ...);

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/* How many timed calls: `reps` if > 0, else automatic: repeat until the timed
 * calls have taken auto_target_s seconds and at least auto_min_reps were made,
 * at most auto_max_reps. */
typedef struct bench_settings {
    int warmup;           /* untimed calls after the first ones, default 1 */
    int reps;             /* 0 = automatic */
    double auto_target_s; /* default 1.0 */
    int auto_min_reps;    /* default 3 */
    int auto_max_reps;    /* default 1000 */
    uint64_t seed;        /* inputs and weights, default 1 */
} bench_settings;

void bench_settings_init(bench_settings *settings);

typedef struct bench_stage {
    char name[48];
    double ms;      /* median over the timed calls */
    bool is_gemm;
} bench_stage;

typedef struct bench_result {
    char plugin[64];
    char device[128];       /* the device's name */
    char device_spec[64];   /* what follows "plugin:" to pick it */
    bench_shape shape;
    int warmup;
    int reps;               /* timed calls made */
    double median_ms, min_ms, max_ms;
    double flops;           /* bench_flops() of the shape */
    double gflops;          /* flops / median */
    double backend_open_ms; /* mha_backend_open of the fresh backend */
    double cold_first_ms;   /* first forward of a fresh object on a fresh backend */
    double warm_first_ms;   /* first forward of a second object on the same backend */
    bool stats_supported;
    uint64_t peak_device_bytes;  /* device_bytes_peak after the timed calls */
    uint64_t device_allocations; /* since creation of the timed object, after the timed calls */
    int64_t steady_allocations;  /* allocations made by the timed calls */
    uint32_t stage_count;   /* 0 when the plugin reports no stages */
    bench_stage stages[MHA_MAX_STAGES];
    double gemm_ms;         /* median over the timed calls of the is_gemm stages' sum */
    bool has_gemm;          /* some stage is a GEMM */
} bench_result;

/* Runs one case on a fresh backend opened with `spec` (NULL = default):
 *  1. open the backend, create an attention object, time its first forward
 *     (cold_first_ms), destroy it;
 *  2. create a second object on the same backend, time its first forward
 *     (warm_first_ms);
 *  3. settings->warmup more forwards on it, read its statistics, then the
 *     timed forwards (CLOCK_MONOTONIC around each mha_attention_forward),
 *     reading the statistics after each one, outside the timed window.
 * Inputs and weights are uniform random numbers from settings->seed.
 * On failure returns the status and a one-line message in err. */
mha_status bench_run_case(const char *spec, const bench_shape *shape,
                          const bench_settings *settings, bench_progress *progress,
                          bench_result *out, char *err, size_t err_size);

#endif
