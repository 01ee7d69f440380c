/*
 * plugin.c - the reference plugin's mha_plugin_i table: the entry point, its
 * one CPU device, contexts and capabilities. The math is in attention.c and
 * forward.c.
 */
#include <stdio.h>
#include <string.h>

#include "reference.h"

MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *host);

/* The host's services, set by mha_plugin_entry; valid until shutdown(). */
static const mha_host_services *g_host;

/* A context only records that it runs on the one CPU device; it is allocated
 * anyway so each backend has its own handle. */
typedef struct ref_context {
    int device;
} ref_context;

static void describe(mha_plugin_about *about)
{
    about->name = "reference";
    about->version = MHA_REF_VERSION;
    about->description = "Reference CPU implementation in plain C with double accumulation; "
                         "the oracle for the other plugins";
}

static void shutdown_plugin(void)
{
    g_host = NULL;
}

static mha_status device_count(size_t *count)
{
    *count = 1;
    return MHA_STATUS_OK;
}

/* Copies a full struct into a caller's one that may be older (smaller); its
 * struct_size is kept. */
static void copy_sized(void *dst, const void *src, size_t full_size)
{
    size_t dst_size = *(const size_t *)dst;
    size_t n = dst_size < full_size ? dst_size : full_size;
    memcpy(dst, src, n);
    *(size_t *)dst = dst_size;
}

static void fill_device_info(mha_device_info *info)
{
    mha_device_info full;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    snprintf(full.spec, sizeof full.spec, "0");
    snprintf(full.name, sizeof full.name, "%s", MHA_REF_DEVICE_NAME);
    snprintf(full.vendor, sizeof full.vendor, "mha");
    snprintf(full.driver, sizeof full.driver, "reference %s", MHA_REF_VERSION);
    snprintf(full.kind, sizeof full.kind, "cpu");
    full.memory_bytes = 0; /* unknown */
    full.compute_units = 1; /* single-threaded */
    copy_sized(info, &full, sizeof full);
}

static mha_status device_info(size_t index, mha_device_info *info)
{
    if (index != 0)
        return g_host->set_error(MHA_STATUS_NOT_FOUND,
                                 "reference: device index %zu out of range (1 device)", index);
    fill_device_info(info);
    return MHA_STATUS_OK;
}

static int score(void)
{
    return 1;
}

static mha_status context_create(const char *device_spec, void **context)
{
    *context = NULL;
    const char *spec = device_spec != NULL ? device_spec : "";
    if (strcmp(spec, "") != 0 && strcmp(spec, "0") != 0 && strcmp(spec, "cpu") != 0)
        return g_host->set_error(MHA_STATUS_NOT_FOUND,
                                 "reference: no device '%s' (expected \"cpu\", \"0\" or \"\")",
                                 spec);
    ref_context *ctx = g_host->calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return g_host->set_error(MHA_STATUS_OUT_OF_MEMORY,
                                 "reference: out of memory allocating a context");
    ctx->device = 0;
    *context = ctx;
    return MHA_STATUS_OK;
}

static void context_destroy(void *context)
{
    if (context != NULL)
        g_host->free(context);
}

static mha_status context_capabilities(void *context, mha_capabilities *caps)
{
    (void)context;
    mha_capabilities full;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    full.next = NULL;
    full.dtypes = 1u << MHA_DTYPE_F32;
    full.memory_kinds = 1u << MHA_MEMORY_HOST;
    full.mask_kinds = MHA_MASK_ALL;
    full.dropout = true;
    full.need_weights = true;
    full.add_bias_kv = true;
    full.add_zero_attn = true;
    full.separate_kv_dims = true;
    full.max_embed_dim = 0; /* no limit */
    full.max_sequence = 0;
    full.extension_types = NULL;
    full.extension_type_count = 0;
    full.core_features = MHA_CORE_ALL;
    full.core_dtypes = 1u << MHA_DTYPE_F32 | 1u << MHA_DTYPE_F16 | 1u << MHA_DTYPE_BF16;
    copy_sized(caps, &full, sizeof full);
    return MHA_STATUS_OK;
}

static mha_status context_device_info(void *context, mha_device_info *info)
{
    (void)context;
    fill_device_info(info);
    return MHA_STATUS_OK;
}

static mha_status attention_create(void *context, const mha_config *config,
                                   const mha_weights *weights, void **attention)
{
    (void)context;
    mha_ref_attention *att = NULL;
    mha_status status = mha_ref_attention_create(g_host, config, weights, &att);
    *attention = att;
    return status;
}

static void attention_destroy(void *attention)
{
    mha_ref_attention_destroy(attention);
}

static mha_status attention_forward(void *attention, const mha_problem *problem,
                                    const mha_forward_args *args)
{
    return mha_ref_attention_forward(attention, problem, args);
}

static mha_status core_forward(void *context, const mha_core_problem *problem,
                               const mha_core_args *args)
{
    (void)context, (void)args;
    return mha_ref_core_forward(g_host, problem);
}

static const mha_plugin_i g_table = {
    .struct_size = sizeof(mha_plugin_i),
    .abi_major = MHA_PLUGIN_ABI_MAJOR,
    .abi_minor = MHA_PLUGIN_ABI_MINOR,
    .next = NULL,
    .describe = describe,
    .init = NULL,
    .shutdown = shutdown_plugin,
    .device_count = device_count,
    .device_info = device_info,
    .score = score,
    .context_create = context_create,
    .context_destroy = context_destroy,
    .context_capabilities = context_capabilities,
    .context_device_info = context_device_info,
    .attention_create = attention_create,
    .attention_destroy = attention_destroy,
    .attention_forward = attention_forward,
    .core_forward = core_forward,
};

MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *host)
{
    /* Refuse a host we cannot use: another ABI major, or a services table too
     * old to hold the functions we call. */
    if (host == NULL || host->abi_major != MHA_PLUGIN_ABI_MAJOR ||
        host->struct_size < offsetof(mha_host_services, trace) ||
        host->alloc == NULL || host->calloc == NULL || host->free == NULL ||
        host->set_error == NULL)
        return NULL;
    g_host = host;
    return &g_table;
}
