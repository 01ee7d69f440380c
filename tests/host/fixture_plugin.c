/*
 * fixture_plugin.c - test plugins for the host library, one source built
 * several times with FIXTURE_KIND selecting a behaviour:
 *
 *   FIXTURE_STUB       a valid plugin named "stub" (or FIXTURE_NAME). Its
 *                      forward writes the mha_problem it received into
 *                      attn_output (see STUB_* indices) so tests can check
 *                      what the host derived. Device specs pick capabilities
 *                      and failures: "" / "full", "minimal", "fail" (forward
 *                      fails with a message), "mute" (fails without one).
 *   FIXTURE_NO_ENTRY   exports no entry symbol
 *   FIXTURE_NULL_ENTRY entry returns NULL
 *   FIXTURE_WRONG_ABI  abi_major 99
 *   FIXTURE_INCOMPLETE attention_forward is NULL
 *   FIXTURE_BAD_NAME   describes itself as "Bad Name"
 *   FIXTURE_INIT_FAILS init() returns MHA_STATUS_DEVICE_ERROR
 */
#include <string.h>

#include "mha/plugin.h"
#include "stub_layout.h"

#define FIXTURE_STUB 1
#define FIXTURE_NO_ENTRY 2
#define FIXTURE_NULL_ENTRY 3
#define FIXTURE_WRONG_ABI 4
#define FIXTURE_INCOMPLETE 5
#define FIXTURE_BAD_NAME 6
#define FIXTURE_INIT_FAILS 7

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "stub"
#endif

static const mha_host_services *host;

typedef enum stub_mode { STUB_FULL, STUB_MINIMAL, STUB_FAIL, STUB_MUTE } stub_mode;

typedef struct stub_context {
    stub_mode mode;
} stub_context;

typedef struct stub_attention {
    stub_context *context;
    mha_config config;
    size_t config_size, weights_size; /* struct_size of what attention_create got */
} stub_attention;

static void stub_describe(mha_plugin_about *about)
{
#if FIXTURE_KIND == FIXTURE_BAD_NAME
    about->name = "Bad Name";
#else
    about->name = FIXTURE_NAME;
#endif
    about->version = "9.9.9";
    about->description = "host test fixture";
}

static mha_status stub_init(void)
{
#if FIXTURE_KIND == FIXTURE_INIT_FAILS
    return host->set_error(MHA_STATUS_DEVICE_ERROR, "fixture init refuses");
#else
    return MHA_STATUS_OK;
#endif
}

static mha_status stub_device_count(size_t *count)
{
    *count = 1;
    return MHA_STATUS_OK;
}

static mha_status stub_device_info(size_t index, mha_device_info *info)
{
    (void)index;
    strcpy(info->spec, "full");
    strcpy(info->name, "stub device");
    strcpy(info->vendor, "mha tests");
    strcpy(info->driver, "1");
    strcpy(info->kind, "other");
    return MHA_STATUS_OK;
}

static int stub_score(void)
{
    return 1000; /* beats every real plugin, so tests can check default selection */
}

static mha_status stub_context_create(const char *spec, void **out)
{
    stub_mode mode;
    if (!*spec || strcmp(spec, "full") == 0)
        mode = STUB_FULL;
    else if (strcmp(spec, "minimal") == 0)
        mode = STUB_MINIMAL;
    else if (strcmp(spec, "fail") == 0)
        mode = STUB_FAIL;
    else if (strcmp(spec, "mute") == 0)
        mode = STUB_MUTE;
    else
        return host->set_error(MHA_STATUS_NOT_FOUND, "stub: no device '%s'", spec);
    stub_context *context = host->calloc(1, sizeof *context);
    if (!context)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY, "stub: out of memory");
    context->mode = mode;
    if (MHA_HOST_HAS(host, log))
        host->log(MHA_LOG_INFO, "stub: opened device '%s'", spec);
    *out = context;
    return MHA_STATUS_OK;
}

static void stub_context_destroy(void *context)
{
    host->free(context);
}

static const uint32_t stub_extension_types[] = {STUB_EXTENSION_TYPE, STUB_CALLER_ARGS_TYPE};

static mha_status stub_capabilities(void *opaque, mha_capabilities *caps)
{
    const stub_context *context = opaque;
    caps->dtypes = 1u << MHA_DTYPE_F32;
    caps->memory_kinds = 1u << MHA_MEMORY_HOST;
    if (context->mode == STUB_MINIMAL) {
        caps->mask_kinds = MHA_MASK_ATTN_BOOL_2D;
        caps->max_embed_dim = 64;
        caps->max_sequence = 16;
        return MHA_STATUS_OK;
    }
    caps->mask_kinds = MHA_MASK_ALL;
    caps->dropout = caps->need_weights = caps->add_bias_kv = caps->add_zero_attn = true;
    caps->separate_kv_dims = true;
    caps->extension_types = stub_extension_types;
    caps->extension_type_count = 2;
    return MHA_STATUS_OK;
}

static mha_status stub_context_device_info(void *context, mha_device_info *info)
{
    (void)context;
    return stub_device_info(0, info);
}

static mha_status stub_attention_create(void *context, const mha_config *config,
                                        const mha_weights *weights, void **out)
{
    stub_attention *attention = host->calloc(1, sizeof *attention);
    if (!attention)
        return host->set_error(MHA_STATUS_OUT_OF_MEMORY, "stub: out of memory");
    attention->context = context;
    attention->config = *config;
    attention->config_size = config->struct_size;
    attention->weights_size = weights->struct_size;
    *out = attention;
    return MHA_STATUS_OK;
}

static void stub_attention_destroy(void *attention)
{
    host->free(attention);
}

/* unused in the "incomplete" fixture, which leaves attention_forward NULL */
__attribute__((unused)) static mha_status stub_forward(void *opaque, const mha_problem *problem,
                               const mha_forward_args *args)
{
    const stub_attention *attention = opaque;
    if (attention->context->mode == STUB_FAIL)
        return host->set_error(MHA_STATUS_DEVICE_ERROR, "stub: forward failed on purpose");
    if (attention->context->mode == STUB_MUTE)
        return MHA_STATUS_DEVICE_ERROR;
    float *out = args->attn_output.data;
    out[STUB_BATCH] = (float)problem->batch;
    out[STUB_TGT_LEN] = (float)problem->tgt_len;
    out[STUB_SRC_LEN] = (float)problem->src_len;
    out[STUB_SRC_LEN_TOTAL] = (float)problem->src_len_total;
    out[STUB_HEAD_DIM] = (float)problem->head_dim;
    out[STUB_KDIM] = (float)problem->kdim;
    out[STUB_VDIM] = (float)problem->vdim;
    out[STUB_FLAGS] = (float)(problem->batched | problem->batch_first << 1 |
                              problem->self_attention << 2 | problem->kv_same << 3 |
                              problem->attn_mask_3d << 4 | problem->apply_dropout << 5);
    out[STUB_SCALE] = problem->scale;
    out[STUB_ARGS_SIZE] = (float)args->struct_size;
    out[STUB_ARGS_IS_CALLER] = 0.0f;
    for (const mha_extension *e = args->next; e; e = e->next)
        if (e->type == STUB_CALLER_ARGS_TYPE)
            out[STUB_ARGS_IS_CALLER] = ((const stub_caller_args *)e)->caller == (const void *)args;
    out[STUB_CONFIG_SIZE] = (float)attention->config_size;
    out[STUB_WEIGHTS_SIZE] = (float)attention->weights_size;
    return MHA_STATUS_OK;
}

static const mha_plugin_i stub_interface = {
    .struct_size = sizeof(mha_plugin_i),
#if FIXTURE_KIND == FIXTURE_WRONG_ABI
    .abi_major = 99,
#else
    .abi_major = MHA_PLUGIN_ABI_MAJOR,
#endif
    .abi_minor = MHA_PLUGIN_ABI_MINOR,
    .describe = stub_describe,
    .init = stub_init,
    .shutdown = NULL,
    .device_count = stub_device_count,
    .device_info = stub_device_info,
    .score = stub_score,
    .context_create = stub_context_create,
    .context_destroy = stub_context_destroy,
    .context_capabilities = stub_capabilities,
    .context_device_info = stub_context_device_info,
    .attention_create = stub_attention_create,
    .attention_destroy = stub_attention_destroy,
#if FIXTURE_KIND == FIXTURE_INCOMPLETE
    .attention_forward = NULL,
#else
    .attention_forward = stub_forward,
#endif
};

#if FIXTURE_KIND != FIXTURE_NO_ENTRY
MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *services);
MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *services)
{
    host = services;
#if FIXTURE_KIND == FIXTURE_NULL_ENTRY
    (void)stub_interface;
    return NULL;
#else
    return &stub_interface;
#endif
}
#else
/* Something must be exported for the library to be a library at all. */
MHA_PLUGIN_EXPORT int not_an_mha_plugin(void);
MHA_PLUGIN_EXPORT int not_an_mha_plugin(void)
{
    return stub_interface.abi_major == 0;
}
#endif
