/* core.c - mha_core_forward: copy the caller's args into the current layout,
 * validate and normalise them once (core_validate.c), dispatch. */
#include <string.h>

#include "core_validate.h"
#include "error.h"
#include "validate.h"

void mha_core_args_init(mha_core_args *args)
{
    if (!args)
        return;
    memset(args, 0, sizeof *args);
    args->struct_size = sizeof *args;
    args->left_window_size = -1;
    args->right_window_size = -1;
    mha_view *views[] = {&args->q,         &args->k,          &args->v,
                         &args->attn_mask, &args->past_key,   &args->past_value,
                         &args->nonpad_kv_seqlen, &args->cache_key, &args->cache_value,
                         &args->y,         &args->present_key, &args->present_value,
                         &args->qk_matmul_output};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; ++i)
        mha_view_init(views[i]);
}

mha_status mha_core_forward(mha_backend *backend, const mha_core_args *args)
{
    mha_error_clear();
    if (!backend)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "backend is NULL");
    mha_core_args full;
    mha_status status = mha_copy_in("args", args, MHA_CORE_ARGS_SIZE_V1, "mha_core_args_init", &full,
                                    sizeof full);
    if (status != MHA_STATUS_OK || (status = check_extensions("args", full.next, &backend->caps)))
        return status;
    const mha_plugin_i *iface = backend->plugin->iface;
    if (!MHA_PLUGIN_HAS(iface, core_forward))
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "plugin '%s' has no attention core (ABI 1.0 plugin or no "
                             "core_forward)",
                             backend->plugin->name);
    mha_core_problem problem;
    if ((status = core_validate(&full, &backend->caps, &problem)))
        return status;
    status = iface->core_forward(backend->context, &problem, &full);
    if (status != MHA_STATUS_OK && !mha_error_is_set())
        mha_error_set(status, "plugin '%s' failed in core_forward: %s", backend->plugin->name,
                      mha_status_string(status));
    return status;
}
