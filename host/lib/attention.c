/* attention.c - attention objects: validate once, then dispatch to the plugin. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "validate.h"

/* A plugin that fails without saying why still yields a useful message. */
static mha_status plugin_failed(const mha_backend *backend, const char *call, mha_status status)
{
    if (!mha_error_is_set())
        mha_error_set(status, "plugin '%s' failed in %s: %s", backend->plugin->name, call,
                      mha_status_string(status));
    return status;
}

mha_status mha_attention_create(mha_backend *backend, const mha_config *config,
                                const mha_weights *weights, mha_attention **out)
{
    mha_error_clear();
    if (!out)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!backend)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "backend is NULL");
    mha_config resolved;
    mha_weights full_weights;
    mha_status status = validate_config(config, &backend->caps, &resolved);
    if (status == MHA_STATUS_OK)
        status = validate_weights(weights, &resolved, &full_weights);
    if (status != MHA_STATUS_OK)
        return status;

    mha_attention *attention = mha_calloc(1, sizeof *attention);
    if (!attention)
        return mha_error_set(MHA_STATUS_OUT_OF_MEMORY, "out of memory creating attention object");
    attention->backend = backend;
    attention->config = resolved;
    status = backend->plugin->iface->attention_create(backend->context, &attention->config,
                                                      &full_weights, &attention->impl);
    if (status != MHA_STATUS_OK) {
        mha_free(attention);
        return plugin_failed(backend, "attention_create", status);
    }
    backend_retain(backend);
    *out = attention;
    return MHA_STATUS_OK;
}

void mha_attention_destroy(mha_attention *attention)
{
    if (!attention)
        return;
    mha_backend *backend = attention->backend;
    backend->plugin->iface->attention_destroy(attention->impl);
    mha_free(attention);
    backend_release(backend);
}

mha_status mha_attention_output_shapes(const mha_attention *attention,
                                       const mha_forward_args *args, mha_tensor *attn_output,
                                       mha_tensor *attn_weights)
{
    mha_error_clear();
    if (!attention)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "attention is NULL");
    if (!attn_output && !attn_weights)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "attn_output and attn_weights are NULL");
    mha_problem problem;
    mha_forward_args full;
    mha_status status = validate_forward_inputs(attention, args, &full, &problem);
    if (status != MHA_STATUS_OK)
        return status;
    expected_output_shapes(&problem, &full, attn_output, attn_weights);
    return MHA_STATUS_OK;
}

mha_status mha_attention_forward(mha_attention *attention, const mha_forward_args *args)
{
    mha_error_clear();
    if (!attention)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "attention is NULL");
    /* The plugin sees the host's full-size copy, never the caller's struct. */
    mha_problem problem;
    mha_forward_args full;
    mha_status status = validate_forward_inputs(attention, args, &full, &problem);
    if (status == MHA_STATUS_OK)
        status = validate_forward_outputs(attention, &full, &problem);
    if (status != MHA_STATUS_OK)
        return status;
    status = attention->backend->plugin->iface->attention_forward(attention->impl, &problem, &full);
    if (status != MHA_STATUS_OK)
        return plugin_failed(attention->backend, "attention_forward", status);
    return MHA_STATUS_OK;
}

mha_status mha_attention_get_stats(const mha_attention *attention, mha_attention_stats *stats)
{
    mha_error_clear();
    if (!attention)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "attention is NULL");
    mha_status status = mha_check_out("stats", stats, MHA_STATS_SIZE_V1);
    if (status != MHA_STATUS_OK)
        return status;
    mha_attention_stats full;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    const mha_plugin_i *iface = attention->backend->plugin->iface;
    if (MHA_PLUGIN_HAS(iface, attention_stats)) {
        status = iface->attention_stats(attention->impl, &full);
        if (status != MHA_STATUS_OK)
            return plugin_failed(attention->backend, "attention_stats", status);
        if (full.stage_count > MHA_MAX_STAGES)
            full.stage_count = MHA_MAX_STAGES;
        full.stats_supported = true;
    }
    full.struct_size = sizeof full;
    mha_copy_out(stats, &full, sizeof full);
    return MHA_STATUS_OK;
}
