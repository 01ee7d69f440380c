/*
 * bench_report.c - text table and JSON records of `mha bench`.
 */
#include "bench_report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void bench_print_header(FILE *f)
{
    fprintf(f, "%-10s %-34s %5s %10s %10s %10s %8s %9s %9s %6s %9s %9s\n", "plugin", "case",
           "reps", "median_ms", "min_ms", "max_ms", "GFLOP/s", "gemm_ms", "peak_MiB", "allocs",
           "cold_ms", "warm_ms");
}

void bench_print_result(FILE *f, const bench_result *r)
{
    char desc[128], gemm[32], peak[32], allocs[32];
    bench_shape_describe(&r->shape, desc, sizeof desc);
    if (r->has_gemm)
        snprintf(gemm, sizeof gemm, "%.3f", r->gemm_ms);
    else
        snprintf(gemm, sizeof gemm, "n/a");
    if (r->stats_supported) {
        snprintf(peak, sizeof peak, "%.1f", (double)r->peak_device_bytes / 1048576.0);
        snprintf(allocs, sizeof allocs, "%" PRId64, r->steady_allocations);
    } else {
        snprintf(peak, sizeof peak, "n/a");
        snprintf(allocs, sizeof allocs, "n/a");
    }
    fprintf(f, "%-10s %-34s %5d %10.3f %10.3f %10.3f %8.2f %9s %9s %6s %9.3f %9.3f\n", r->plugin,
            desc, r->reps, r->median_ms, r->min_ms, r->max_ms, r->gflops, gemm, peak, allocs,
            r->cold_first_ms, r->warm_first_ms);
    if (r->stage_count > 0) {
        fprintf(f, "%-10s   stages (median ms):", "");
        for (uint32_t i = 0; i < r->stage_count; ++i)
            fprintf(f, " %s %.3f%s", r->stages[i].name, r->stages[i].ms,
                    r->stages[i].is_gemm ? " (gemm)" : "");
        fprintf(f, "\n");
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; ++p) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A finite number, or null. */
static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6f", v);
    else
        fputs("null", f);
}

static void json_key(FILE *f, const char *key, bool first)
{
    fprintf(f, "%s\n    \"%s\": ", first ? "" : ",", key);
}

int bench_write_json(FILE *f, const bench_result *results, size_t count)
{
    fputc('[', f);
    for (size_t i = 0; i < count; ++i) {
        const bench_result *r = &results[i];
        char desc[128];
        bench_shape_describe(&r->shape, desc, sizeof desc);
        fprintf(f, "%s\n  {", i ? "," : "");
        json_key(f, "plugin", true);
        json_string(f, r->plugin);
        json_key(f, "device", false);
        json_string(f, r->device);
        json_key(f, "device_spec", false);
        json_string(f, r->device_spec);
        json_key(f, "case", false);
        json_string(f, desc);
        json_key(f, "batch", false);
        fprintf(f, "%lld", (long long)r->shape.batch);
        json_key(f, "tgt_len", false);
        fprintf(f, "%lld", (long long)r->shape.tgt_len);
        json_key(f, "src_len", false);
        fprintf(f, "%lld", (long long)r->shape.src_len);
        json_key(f, "embed_dim", false);
        fprintf(f, "%lld", (long long)r->shape.embed_dim);
        json_key(f, "num_heads", false);
        fprintf(f, "%lld", (long long)r->shape.num_heads);
        json_key(f, "need_weights", false);
        fputs(r->shape.need_weights ? "true" : "false", f);
        json_key(f, "warmup", false);
        fprintf(f, "%d", r->warmup);
        json_key(f, "reps", false);
        fprintf(f, "%d", r->reps);
        json_key(f, "median_ms", false);
        json_number(f, r->median_ms);
        json_key(f, "min_ms", false);
        json_number(f, r->min_ms);
        json_key(f, "max_ms", false);
        json_number(f, r->max_ms);
        json_key(f, "flop", false);
        fprintf(f, "%.0f", r->flops);
        json_key(f, "gflops", false);
        json_number(f, r->gflops);
        json_key(f, "gemm_ms", false);
        if (r->has_gemm)
            json_number(f, r->gemm_ms);
        else
            fputs("null", f);
        json_key(f, "stages", false);
        if (r->stage_count == 0) {
            fputs("null", f);
        } else {
            fputc('{', f);
            for (uint32_t s = 0; s < r->stage_count; ++s) {
                fputs(s ? ", " : "", f);
                json_string(f, r->stages[s].name);
                fputs(": ", f);
                json_number(f, r->stages[s].ms);
            }
            fputc('}', f);
        }
        json_key(f, "gemm_stages", false);
        if (r->stage_count == 0) {
            fputs("null", f);
        } else {
            fputc('[', f);
            bool any = false;
            for (uint32_t s = 0; s < r->stage_count; ++s)
                if (r->stages[s].is_gemm) {
                    fputs(any ? ", " : "", f);
                    json_string(f, r->stages[s].name);
                    any = true;
                }
            fputc(']', f);
        }
        json_key(f, "peak_device_bytes", false);
        if (r->stats_supported)
            fprintf(f, "%" PRIu64, r->peak_device_bytes);
        else
            fputs("null", f);
        json_key(f, "device_allocations", false);
        if (r->stats_supported)
            fprintf(f, "%" PRIu64, r->device_allocations);
        else
            fputs("null", f);
        json_key(f, "steady_allocations", false);
        if (r->stats_supported)
            fprintf(f, "%" PRId64, r->steady_allocations);
        else
            fputs("null", f);
        json_key(f, "backend_open_ms", false);
        json_number(f, r->backend_open_ms);
        json_key(f, "cold_first_ms", false);
        json_number(f, r->cold_first_ms);
        json_key(f, "warm_first_ms", false);
        json_number(f, r->warm_first_ms);
        fputs("\n  }", f);
    }
    fputs(count ? "\n]\n" : "]\n", f);
    return ferror(f) ? -1 : 0;
}
