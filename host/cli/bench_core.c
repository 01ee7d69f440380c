/*
 * bench_core.c - `mha bench --suite core`: times mha_core_forward on the
 * attention core's two standard shapes, in float32 and float16:
 *
 *   prefill  B=1 Hq=32 Hkv=8 D=Dv=128 L=S=2048, causal
 *   decode   B=4 Hq=32 Hkv=8 D=Dv=128 L=1 after P=4096 cached rows, causal,
 *            the cache appended in place (a host cache, so on the OpenCL
 *            plugin each call also uploads and reads back the whole cache)
 *   decode-mha  the same without GQA: Hq = Hkv = 32 (four times the K and V)
 *
 * Effective GFLOP/s counts 4 * D flops (q.k and p.v) per visible key of each
 * query row: B * Hq * D * 4 * sum over rows of the keys it sees (L(L+1)/2
 * per head for causal prefill, T = P + 1 for decoding). GB/s is the K and V
 * bytes a call must read once: B * Hkv * T * (D + Dv) * element size.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_core.h"
#include "bench_stats.h"
#include "cli.h"
#include "mha/core.h"

typedef struct core_shape {
    const char *name;
    int64_t batch, q_heads, kv_heads, head_dim, q_len, kv_len, past_len;
} core_shape;

static const core_shape core_suite[] = {
    {"prefill", 1, 32, 8, 128, 2048, 2048, 0},
    {"decode", 4, 32, 8, 128, 1, 1, 4096},
    {"decode-mha", 4, 32, 32, 128, 1, 1, 4096},
};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Random bits of the storage dtype: uniform in [-1, 1) as float32, or its
 * float16 rounding (by truncation: the values only need to be plausible). */
static void *random_storage(size_t count, mha_dtype dtype, uint32_t seed)
{
    size_t size = mha_dtype_size(dtype);
    unsigned char *data = malloc(count * size);
    if (!data)
        return NULL;
    uint32_t state = seed * 2654435761u + 1u;
    for (size_t i = 0; i < count; ++i) {
        state = state * 1664525u + 1013904223u;
        float value = (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
        if (size == 4) {
            memcpy(data + 4 * i, &value, 4);
        } else { /* float16 of value: sign, exponent, top 10 mantissa bits */
            uint32_t bits;
            memcpy(&bits, &value, 4);
            uint32_t exponent = (bits >> 23) & 0xff;
            uint16_t half = (uint16_t)((bits >> 16) & 0x8000);
            if (exponent > 112) /* normal in float16 */
                half |= (uint16_t)(((exponent - 112) << 10) | ((bits >> 13) & 0x3ff));
            memcpy(data + 2 * i, &half, 2);
        }
    }
    return data;
}

/* Runs one case: warmup calls, then timed calls until `reps` (or, with
 * reps == 0, until 1 s and at least 3). */
static int run_case(mha_backend *backend, const char *label, const core_shape *s,
                    mha_dtype dtype, int warmup, int reps)
{
    const int64_t B = s->batch, Hq = s->q_heads, Hkv = s->kv_heads, D = s->head_dim,
                  L = s->q_len, S = s->kv_len, P = s->past_len, T = P + S;
    const size_t nq = (size_t)(B * Hq * L * D), nk = (size_t)(B * Hkv * S * D),
                 ncache = (size_t)(B * Hkv * T * D);
    void *q = random_storage(nq, dtype, 1), *k = random_storage(nk, dtype, 2),
         *v = random_storage(nk, dtype, 3), *cache_k = random_storage(ncache, dtype, 4),
         *cache_v = random_storage(ncache, dtype, 5), *y = calloc(nq, mha_dtype_size(dtype));
    double *times = calloc(1000, sizeof(double));
    int rc = CLI_ERROR;
    if (!q || !k || !v || !cache_k || !cache_v || !y || !times) {
        cli_error("bench: out of memory for the core case %s", s->name);
        goto done;
    }
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = mha_view_host(q, dtype, 4, (int64_t[]){B, Hq, L, D});
    args.k = mha_view_host(k, dtype, 4, (int64_t[]){B, Hkv, S, D});
    args.v = mha_view_host(v, dtype, 4, (int64_t[]){B, Hkv, S, D});
    if (P > 0) {
        args.cache_key = mha_view_host(cache_k, dtype, 4, (int64_t[]){B, Hkv, T, D});
        args.cache_value = mha_view_host(cache_v, dtype, 4, (int64_t[]){B, Hkv, T, D});
        args.cache_length = P; /* every call appends at row P again */
    }
    args.is_causal = true;
    args.y = mha_view_host(y, dtype, 4, (int64_t[]){B, Hq, L, D});
    double first = now_ms();
    mha_status st = mha_core_forward(backend, &args);
    first = now_ms() - first;
    if (st == MHA_STATUS_UNSUPPORTED) {
        printf("%-10s core %-10s %-7s skipped: %s\n", label, s->name, mha_dtype_name(dtype),
               cli_last_error());
        rc = CLI_OK;
        goto done;
    }
    for (int i = 0; st == MHA_STATUS_OK && i < warmup; ++i)
        st = mha_core_forward(backend, &args);
    int count = 0;
    double started = now_ms();
    while (st == MHA_STATUS_OK && count < 1000 &&
           (reps > 0 ? count < reps : (count < 3 || now_ms() - started < 1000.0))) {
        double t0 = now_ms();
        st = mha_core_forward(backend, &args);
        times[count++] = now_ms() - t0;
    }
    if (st != MHA_STATUS_OK) {
        cli_error("bench: core %s %s: %s (%s)", s->name, mha_dtype_name(dtype), cli_last_error(),
                  mha_status_name(st));
        goto done;
    }
    double median = 0, min = 0, max = 0;
    bench_summarize(times, (size_t)count, &median, &min, &max);
    /* visible keys per (b, h): causal over T keys with offset P */
    double visible = 0;
    for (int64_t i = 0; i < L; ++i)
        visible += (double)(i + P + 1 < T ? i + P + 1 : T);
    double flops = 4.0 * (double)(B * Hq * D) * visible;
    double bytes = (double)(B * Hkv * T * 2 * D) * (double)mha_dtype_size(dtype);
    printf("%-10s core %-10s %-7s %9.3f ms (min %.3f, max %.3f, %d calls; first %.1f ms) "
           "%8.1f GFLOP/s %7.2f GB/s K/V\n",
           label, s->name, mha_dtype_name(dtype), median, min, max, count, first,
           bench_gflops(flops, median), bytes / (median * 1e6));
    fflush(stdout);
    rc = CLI_OK;
done:
    free(q), free(k), free(v), free(cache_k), free(cache_v), free(y), free(times);
    return rc;
}

int bench_core_suite(const char *const *plugins, int plugin_count, const char *device,
                     int warmup, int reps)
{
    const char *default_plugin[1] = {NULL};
    if (plugin_count == 0) {
        plugins = default_plugin;
        plugin_count = 1;
    }
    const mha_dtype dtypes[] = {MHA_DTYPE_F32, MHA_DTYPE_F16};
    for (int p = 0; p < plugin_count; ++p) {
        char *spec = cli_backend_spec(plugins[p], device);
        mha_backend *backend = NULL;
        mha_status st = mha_backend_open(spec, &backend);
        if (st != MHA_STATUS_OK) {
            cli_error("cannot open backend '%s': %s", spec ? spec : "(default)", cli_last_error());
            free(spec);
            return CLI_ERROR;
        }
        const char *label = mha_backend_plugin_name(backend);
        for (size_t c = 0; c < sizeof core_suite / sizeof core_suite[0]; ++c)
            for (size_t d = 0; d < 2; ++d)
                if (run_case(backend, label, &core_suite[c], dtypes[d], warmup, reps) != CLI_OK) {
                    mha_backend_close(backend);
                    free(spec);
                    return CLI_ERROR;
                }
        mha_backend_close(backend);
        free(spec);
    }
    return CLI_OK;
}
