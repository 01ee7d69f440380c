/*
 * skeleton_plugin.c - the shape of a plugin built outside the mha tree with
 * the installed CMake helper (examples/plugin/CMakeLists.txt):
 *
 *     find_package(mha REQUIRED)
 *     mha_add_plugin(skeleton skeleton_plugin.c)
 *
 * It describes itself and reports no device, so libmha loads and lists it
 * (`MHA_PLUGIN_PATH=<build dir> mha plugins`) but never opens a backend on
 * it: the attention entries below are only reached through a context, and
 * there is none. A real plugin fills them in (docs/plugins.md).
 */
#include <mha/plugin.h>

static const mha_host_services *host;

static void skeleton_describe(mha_plugin_about *about)
{
    about->name = "skeleton";
    about->version = "0.0.1";
    about->description = "example: built out of tree with mha_add_plugin, no devices";
}

static mha_status skeleton_device_count(size_t *count)
{
    *count = 0;
    return MHA_STATUS_OK;
}

static mha_status skeleton_device_info(size_t index, mha_device_info *info)
{
    (void)info;
    return host->set_error(MHA_STATUS_NOT_FOUND, "skeleton: no device %zu", index);
}

static mha_status skeleton_context_create(const char *spec, void **context)
{
    (void)context;
    return host->set_error(MHA_STATUS_NOT_FOUND, "skeleton: no device '%s'", spec);
}

/* Never called: there is no context to call them on. */
static void skeleton_context_destroy(void *context)
{
    (void)context;
}

static mha_status skeleton_no_context(void)
{
    return host->set_error(MHA_STATUS_INTERNAL, "skeleton: called without a context");
}

static mha_status skeleton_capabilities(void *context, mha_capabilities *caps)
{
    (void)context, (void)caps;
    return skeleton_no_context();
}

static mha_status skeleton_context_device_info(void *context, mha_device_info *info)
{
    (void)context, (void)info;
    return skeleton_no_context();
}

static mha_status skeleton_attention_create(void *context, const mha_config *config,
                                            const mha_weights *weights, void **attention)
{
    (void)context, (void)config, (void)weights, (void)attention;
    return skeleton_no_context();
}

static void skeleton_attention_destroy(void *attention)
{
    (void)attention;
}

static mha_status skeleton_attention_forward(void *attention, const mha_problem *problem,
                                             const mha_forward_args *args)
{
    (void)attention, (void)problem, (void)args;
    return skeleton_no_context();
}

static const mha_plugin_i skeleton = {
    .struct_size = sizeof(mha_plugin_i),
    .abi_major = MHA_PLUGIN_ABI_MAJOR,
    .abi_minor = MHA_PLUGIN_ABI_MINOR,
    .describe = skeleton_describe,
    .device_count = skeleton_device_count,
    .device_info = skeleton_device_info,
    .context_create = skeleton_context_create,
    .context_destroy = skeleton_context_destroy,
    .context_capabilities = skeleton_capabilities,
    .context_device_info = skeleton_context_device_info,
    .attention_create = skeleton_attention_create,
    .attention_destroy = skeleton_attention_destroy,
    .attention_forward = skeleton_attention_forward,
};

MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *services)
{
    host = services;
    return &skeleton;
}
