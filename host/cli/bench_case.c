/*
 * bench_case.c - runs one case of `mha bench` (see bench_case.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_case.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stats.h"
#include "testkit_case.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bench_shape_describe(const bench_shape *shape, char *buf, size_t size)
{
    snprintf(buf, size, "N=%lld L=%lld S=%lld E=%lld H=%lld%s", (long long)shape->batch,
             (long long)shape->tgt_len, (long long)shape->src_len, (long long)shape->embed_dim,
             (long long)shape->num_heads, shape->need_weights ? " weights" : "");
}

void bench_progress_init(bench_progress *progress)
{
    progress->run_start = bench_now();
    progress->last_line = 0.0;
    progress->after_s = 3.0;
    progress->every_s = 5.0;
}

void bench_progress_note(bench_progress *progress, bool force, const char *fmt, ...)
{
    if (progress == NULL)
        return;
    const double now = bench_now();
    if (now - progress->run_start < progress->after_s)
        return;
    if (!force && progress->last_line > 0.0 && now - progress->last_line < progress->every_s)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "mha bench [%6.1f s]: %s\n", now - progress->run_start, msg);
    fflush(stderr);
    progress->last_line = now;
}

void bench_settings_init(bench_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    settings->warmup = 1;
    settings->reps = 0;
    settings->auto_target_s = 1.0;
    settings->auto_min_reps = 3;
    settings->auto_max_reps = 1000;
    settings->seed = 1;
}

/* ---- the run ----------------------------------------------------------- */

/* The shape as a test-kit case (host/common/testkit_case.h): self-attention
 * when tgt_len == src_len, else key == value; in_proj_weight packed, bias
 * on, no mask; weights averaged when asked for. */
typedef struct bench_data {
    tk_case c;
    float *output, *weights_out;
    mha_config config;
    mha_weights weights;
} bench_data;

static void bench_data_free(bench_data *d)
{
    tk_case_free(&d->c);
    free(d->output);
    free(d->weights_out);
}

static bool bench_data_make(bench_data *d, const bench_shape *s, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    tk_case *c = &d->c;
    c->E = c->kdim = c->vdim = s->embed_dim;
    c->H = s->num_heads;
    c->N = s->batch;
    c->batched = true;
    c->L = s->tgt_len;
    c->S = s->src_len;
    c->self_attention = s->tgt_len == s->src_len;
    c->kv_same = !c->self_attention;
    c->in_proj = TK_IN_PROJ_PACKED;
    c->bias = true;
    c->need_weights = s->need_weights;
    c->average = true;
    if (!tk_case_fill(c, (uint32_t)(seed ^ (seed >> 32))))
        return false;
    d->output = calloc(c->out_count, sizeof(float));
    if (s->need_weights)
        d->weights_out = calloc(c->weights_count, sizeof(float));
    if (!d->output || (s->need_weights && !d->weights_out))
        return false;
    tk_case_config(c, &d->config, &d->weights);
    return true;
}

/* Growable per-rep record: the time and, per stage, its milliseconds. */
typedef struct rep_log {
    double *times, *gemm;
    double *stage_ms[MHA_MAX_STAGES];
    size_t count, capacity;
} rep_log;

static void rep_log_free(rep_log *log)
{
    free(log->times);
    free(log->gemm);
    for (int i = 0; i < MHA_MAX_STAGES; ++i)
        free(log->stage_ms[i]);
}

static bool grow(double **p, size_t capacity)
{
    double *q = realloc(*p, capacity * sizeof *q);
    if (q == NULL)
        return false;
    *p = q;
    return true;
}

static bool rep_log_reserve(rep_log *log, size_t need)
{
    if (need <= log->capacity)
        return true;
    size_t cap = log->capacity ? log->capacity * 2 : 64;
    while (cap < need)
        cap *= 2;
    if (!grow(&log->times, cap) || !grow(&log->gemm, cap))
        return false;
    for (int i = 0; i < MHA_MAX_STAGES; ++i)
        if (!grow(&log->stage_ms[i], cap))
            return false;
    log->capacity = cap;
    return true;
}

/* Index of stage `name` in out->stages, appending it if new; -1 if full. */
static int stage_slot(bench_result *out, const char *name, bool is_gemm)
{
    for (uint32_t i = 0; i < out->stage_count; ++i)
        if (strcmp(out->stages[i].name, name) == 0) {
            out->stages[i].is_gemm = out->stages[i].is_gemm || is_gemm;
            return (int)i;
        }
    if (out->stage_count >= MHA_MAX_STAGES)
        return -1;
    bench_stage *st = &out->stages[out->stage_count];
    snprintf(st->name, sizeof st->name, "%s", name);
    st->is_gemm = is_gemm;
    return (int)out->stage_count++;
}

/* Records the stages of the last forward (already in stats) as rep `rep`;
 * stages of the same name in one forward are added together. */
static void record_stages(rep_log *log, size_t rep, const mha_attention_stats *stats,
                          bench_result *out)
{
    for (int i = 0; i < MHA_MAX_STAGES; ++i)
        log->stage_ms[i][rep] = 0.0;
    double gemm = 0.0;
    for (uint32_t i = 0; i < stats->stage_count && i < MHA_MAX_STAGES; ++i) {
        const char *name = stats->stages[i].name ? stats->stages[i].name : "unnamed";
        const int slot = stage_slot(out, name, stats->stages[i].is_gemm);
        if (slot >= 0)
            log->stage_ms[slot][rep] += stats->stages[i].milliseconds;
        if (stats->stages[i].is_gemm) {
            gemm += stats->stages[i].milliseconds;
            out->has_gemm = true;
        }
    }
    log->gemm[rep] = gemm;
}

static mha_status read_stats(const mha_attention *a, mha_attention_stats *stats, char *err,
                             size_t err_size)
{
    memset(stats, 0, sizeof *stats);
    stats->struct_size = sizeof *stats;
    mha_status st = mha_attention_get_stats(a, stats);
    if (st != MHA_STATUS_OK)
        snprintf(err, err_size, "statistics: %s", mha_last_error());
    return st;
}

/* One timed forward: milliseconds in *ms. */
static mha_status timed_forward(mha_attention *a, const mha_forward_args *args, double *ms,
                                char *err, size_t err_size, const char *what)
{
    const double t0 = bench_now();
    mha_status st = mha_attention_forward(a, args);
    const double t1 = bench_now();
    if (st != MHA_STATUS_OK)
        snprintf(err, err_size, "%s forward: %s", what, mha_last_error());
    *ms = (t1 - t0) * 1e3;
    return st;
}

mha_status bench_run_case(const char *spec, const bench_shape *shape,
                          const bench_settings *settings, bench_progress *progress,
                          bench_result *out, char *err, size_t err_size)
{
    mha_status st = MHA_STATUS_OK;
    mha_backend *backend = NULL;
    mha_attention *first = NULL, *timed = NULL;
    bench_data d;
    rep_log log;
    memset(&log, 0, sizeof log);
    memset(out, 0, sizeof *out);
    out->shape = *shape;
    out->warmup = settings->warmup;
    out->flops = bench_flops(shape->batch, shape->tgt_len, shape->src_len, shape->embed_dim, 0, 0);
    char desc[128];
    bench_shape_describe(shape, desc, sizeof desc);

    if (!bench_data_make(&d, shape, settings->seed)) {
        st = MHA_STATUS_OUT_OF_MEMORY;
        snprintf(err, err_size, "out of memory for the inputs of %s", desc);
        goto done;
    }

    double t0 = bench_now();
    st = mha_backend_open(spec, &backend);
    out->backend_open_ms = (bench_now() - t0) * 1e3;
    if (st != MHA_STATUS_OK) {
        snprintf(err, err_size, "cannot open backend '%s': %s", spec ? spec : "(default)",
                 mha_last_error());
        goto done;
    }
    const char *plugin = mha_backend_plugin_name(backend);
    snprintf(out->plugin, sizeof out->plugin, "%s", plugin ? plugin : "?");
    mha_device_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if (mha_backend_device_info(backend, &info) == MHA_STATUS_OK) {
        snprintf(out->device, sizeof out->device, "%.*s", (int)sizeof info.name, info.name);
        snprintf(out->device_spec, sizeof out->device_spec, "%.*s", (int)sizeof info.spec,
                 info.spec);
    }
    bench_progress_note(progress, true, "%s: %s: first calls", out->plugin, desc);

    /* 1. cold: the first forward of a fresh object on a fresh backend */
    st = mha_attention_create(backend, &d.config, &d.weights, &first);
    if (st != MHA_STATUS_OK) {
        snprintf(err, err_size, "attention_create: %s", mha_last_error());
        goto done;
    }
    mha_forward_args args;
    st = tk_case_args(&d.c, first, d.output, d.weights_out, NULL, &args);
    if (st != MHA_STATUS_OK) {
        snprintf(err, err_size, "output shapes: %s", mha_last_error());
        goto done;
    }
    st = timed_forward(first, &args, &out->cold_first_ms, err, err_size, "first");
    if (st != MHA_STATUS_OK)
        goto done;
    mha_attention_destroy(first);
    first = NULL;

    /* 2. warm: the first forward of a second object on the same backend */
    st = mha_attention_create(backend, &d.config, &d.weights, &timed);
    if (st != MHA_STATUS_OK) {
        snprintf(err, err_size, "attention_create: %s", mha_last_error());
        goto done;
    }
    st = timed_forward(timed, &args, &out->warm_first_ms, err, err_size, "first");
    if (st != MHA_STATUS_OK)
        goto done;

    /* 3. warm-up, then the timed calls */
    for (int i = 0; i < settings->warmup; ++i) {
        double ms;
        st = timed_forward(timed, &args, &ms, err, err_size, "warm-up");
        if (st != MHA_STATUS_OK)
            goto done;
        bench_progress_note(progress, false, "%s: %s: warm-up %d/%d", out->plugin, desc, i + 1,
                            settings->warmup);
    }
    mha_attention_stats before, after;
    memset(&after, 0, sizeof after);
    st = read_stats(timed, &before, err, err_size);
    if (st != MHA_STATUS_OK)
        goto done;
    out->stats_supported = before.stats_supported;

    const bool automatic = settings->reps <= 0;
    double timed_s = 0.0;
    for (size_t rep = 0;; ++rep) {
        if (automatic) {
            if (rep >= (size_t)settings->auto_max_reps)
                break;
            if (rep >= (size_t)settings->auto_min_reps && timed_s >= settings->auto_target_s)
                break;
        } else if (rep >= (size_t)settings->reps) {
            break;
        }
        if (!rep_log_reserve(&log, rep + 1)) {
            st = MHA_STATUS_OUT_OF_MEMORY;
            snprintf(err, err_size, "out of memory for the timings");
            goto done;
        }
        st = timed_forward(timed, &args, &log.times[rep], err, err_size, "timed");
        if (st != MHA_STATUS_OK)
            goto done;
        timed_s += log.times[rep] * 1e-3;
        log.count = rep + 1;
        st = read_stats(timed, &after, err, err_size);
        if (st != MHA_STATUS_OK)
            goto done;
        record_stages(&log, rep, &after, out);
        bench_progress_note(progress, false, "%s: %s: %zu timed calls, last %.3f ms",
                            out->plugin, desc, log.count, log.times[rep]);
    }
    out->reps = (int)log.count;
    if (log.count == 0) {
        /* --reps 0 is refused by the command line; guard anyway */
        st = MHA_STATUS_INVALID_VALUE;
        snprintf(err, err_size, "no timed calls");
        goto done;
    }
    if (bench_summarize(log.times, log.count, &out->median_ms, &out->min_ms, &out->max_ms) != 0) {
        st = MHA_STATUS_OUT_OF_MEMORY;
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    out->gflops = bench_gflops(out->flops, out->median_ms);
    if (out->stats_supported) {
        out->peak_device_bytes = after.device_bytes_peak;
        out->device_allocations = after.device_allocations;
        out->steady_allocations =
            (int64_t)after.device_allocations - (int64_t)before.device_allocations;
    }
    double unused_min, unused_max;
    for (uint32_t i = 0; i < out->stage_count; ++i)
        if (bench_summarize(log.stage_ms[i], log.count, &out->stages[i].ms, &unused_min,
                            &unused_max) != 0) {
            st = MHA_STATUS_OUT_OF_MEMORY;
            snprintf(err, err_size, "out of memory");
            goto done;
        }
    if (out->has_gemm &&
        bench_summarize(log.gemm, log.count, &out->gemm_ms, &unused_min, &unused_max) != 0) {
        st = MHA_STATUS_OUT_OF_MEMORY;
        snprintf(err, err_size, "out of memory");
        goto done;
    }

done:
    rep_log_free(&log);
    mha_attention_destroy(first);
    mha_attention_destroy(timed);
    mha_backend_close(backend);
    bench_data_free(&d);
    return st;
}
