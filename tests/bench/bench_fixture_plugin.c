/*
 * bench_fixture_plugin.c - a plugin named "benchstub" that keeps statistics
 * with known values, so tests/bench can check what `mha bench` makes of them.
 * Its forward computes nothing (it zeroes the outputs) and pretends:
 *
 *   attention_create  2 "device" allocations (packed weights, biases) of
 *                     WEIGHT_BYTES in all
 *   first forward     1 allocation of SCRATCH_BYTES (scratch kept after)
 *   every forward     device spec "leaky": 1 more allocation of SCRATCH_BYTES,
 *                     freed at once (the peak grows by it, the bytes held
 *                     do not); "steady" (default): none
 *   stages            projections 1.0 ms (gemm), scores 0.25 ms (gemm),
 *                     softmax 0.5 ms, pv 0.125 ms (gemm), then a second
 *                     "softmax" of 0.5 ms (bench adds stages of one name):
 *                     gemm_ms = 1.375, softmax 1.0
 *
 * Device "nostages" keeps the counters but reports no stages; "noweights" is
 * "steady" without the attention-weights output (need_weights unsupported).
 */
#include <string.h>

#include "mha/plugin.h"

#define WEIGHT_BYTES 4096u
#define SCRATCH_BYTES 1024u

static const mha_host_services *host;

typedef enum mode { MODE_STEADY, MODE_LEAKY, MODE_NOSTAGES, MODE_NOWEIGHTS } mode;

typedef struct fixture_attention {
    mode mode;
    uint64_t allocations, bytes, peak;
    bool scratch;
} fixture_attention;

static void fx_describe(mha_plugin_about *about)
{
    about->name = "benchstub";
    about->version = "1.0.0";
    about->description = "mha bench test fixture with known statistics";
}

static mha_status fx_device_count(size_t *count)
{
    *count = 1;
    return MHA_STATUS_OK;
}

static mha_status fx_device_info(size_t index, mha_device_info *info)
{
    (void)index;
    strcpy(info->spec, "steady");
    strcpy(info->name, "bench \"stub\" device");
    strcpy(info->vendor, "mha tests");
    strcpy(info->driver, "1");
    strcpy(info->kind, "other");
    return MHA_STATUS_OK;
}

static int fx_score(void)
{
    return 0; /* never the default backend */
}

static mha_status fx_context_create(const char *spec, void **out)
{
    mode *m = host->calloc(1, sizeof *m);
    if (!m)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY, "benchstub: out of memory");
    if (!*spec || strcmp(spec, "steady") == 0)
        *m = MODE_STEADY;
    else if (strcmp(spec, "leaky") == 0)
        *m = MODE_LEAKY;
    else if (strcmp(spec, "nostages") == 0)
        *m = MODE_NOSTAGES;
    else if (strcmp(spec, "noweights") == 0)
        *m = MODE_NOWEIGHTS;
    else {
        host->free(m);
        return host->set_error(MHA_STATUS_NOT_FOUND, "benchstub: no device '%s'", spec);
    }
    *out = m;
    return MHA_STATUS_OK;
}

static void fx_context_destroy(void *context)
{
    host->free(context);
}

static mha_status fx_capabilities(void *context, mha_capabilities *caps)
{
    caps->dtypes = 1u << MHA_DTYPE_F32;
    caps->memory_kinds = 1u << MHA_MEMORY_HOST;
    caps->mask_kinds = MHA_MASK_ALL;
    caps->need_weights = *(const mode *)context != MODE_NOWEIGHTS;
    return MHA_STATUS_OK;
}

static mha_status fx_context_device_info(void *context, mha_device_info *info)
{
    static const char *const specs[] = {"steady", "leaky", "nostages", "noweights"};
    fx_device_info(0, info);
    strcpy(info->spec, specs[*(const mode *)context]);
    return MHA_STATUS_OK;
}

static void fx_alloc(fixture_attention *a, uint64_t bytes)
{
    a->allocations++;
    a->bytes += bytes;
    if (a->bytes > a->peak)
        a->peak = a->bytes;
}

static mha_status fx_attention_create(void *context, const mha_config *config,
                                      const mha_weights *weights, void **out)
{
    (void)config;
    (void)weights;
    fixture_attention *a = host->calloc(1, sizeof *a);
    if (!a)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY, "benchstub: out of memory");
    a->mode = *(const mode *)context;
    fx_alloc(a, WEIGHT_BYTES / 2);
    fx_alloc(a, WEIGHT_BYTES / 2);
    *out = a;
    return MHA_STATUS_OK;
}

static void fx_attention_destroy(void *attention)
{
    host->free(attention);
}

static size_t elements(const mha_tensor *t)
{
    size_t n = 1;
    for (int32_t i = 0; i < t->rank; ++i)
        n *= (size_t)t->shape[i];
    return n;
}

static mha_status fx_forward(void *opaque, const mha_problem *problem,
                             const mha_forward_args *args)
{
    (void)problem;
    fixture_attention *a = opaque;
    if (!a->scratch) {
        fx_alloc(a, SCRATCH_BYTES);
        a->scratch = true;
    }
    if (a->mode == MODE_LEAKY) {
        fx_alloc(a, SCRATCH_BYTES);
        a->bytes -= SCRATCH_BYTES;
    }
    memset(args->attn_output.data, 0, elements(&args->attn_output) * sizeof(float));
    if (args->need_weights)
        memset(args->attn_weights.data, 0, elements(&args->attn_weights) * sizeof(float));
    return MHA_STATUS_OK;
}

static mha_status fx_stats(void *opaque, mha_attention_stats *stats)
{
    const fixture_attention *a = opaque;
    stats->device_allocations = a->allocations;
    stats->device_bytes = a->bytes;
    stats->device_bytes_peak = a->peak;
    if (a->mode == MODE_NOSTAGES)
        return MHA_STATUS_OK;
    static const struct {
        const char *name;
        double ms;
        bool gemm;
    } stages[] = {{"projections", 1.0, true},
                  {"scores", 0.25, true},
                  {"softmax", 0.5, false},
                  {"pv", 0.125, true},
                  {"softmax", 0.5, false}};
    stats->stage_count = sizeof stages / sizeof stages[0];
    for (uint32_t i = 0; i < stats->stage_count; ++i) {
        stats->stages[i].name = stages[i].name;
        stats->stages[i].milliseconds = stages[i].ms;
        stats->stages[i].is_gemm = stages[i].gemm;
    }
    return MHA_STATUS_OK;
}

static const mha_plugin_i fx_interface = {
    .struct_size = sizeof(mha_plugin_i),
    .abi_major = MHA_PLUGIN_ABI_MAJOR,
    .abi_minor = MHA_PLUGIN_ABI_MINOR,
    .describe = fx_describe,
    .device_count = fx_device_count,
    .device_info = fx_device_info,
    .score = fx_score,
    .context_create = fx_context_create,
    .context_destroy = fx_context_destroy,
    .context_capabilities = fx_capabilities,
    .context_device_info = fx_context_device_info,
    .attention_create = fx_attention_create,
    .attention_destroy = fx_attention_destroy,
    .attention_forward = fx_forward,
    .attention_stats = fx_stats,
};

MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *services)
{
    host = services;
    return &fx_interface;
}
