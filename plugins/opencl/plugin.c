/* plugin.c - the entry point and the function table of the OpenCL plugin. */
#include <stddef.h>

#include "core.h"
#include "internal.h"

const mha_host_services *ocl_host;

static void describe(mha_plugin_about *about)
{
    about->name = OCL_PLUGIN_NAME;
    about->version = OCL_PLUGIN_VERSION;
    about->description = "OpenCL 1.2 devices; GEMMs by CLBlast, softmax/masks/dropout kernels";
}

static mha_status init(void)
{
    return ocl_devices_init();
}

static void shutdown(void)
{
    ocl_devices_shutdown();
}

static mha_status device_count(size_t *count)
{
    *count = ocl_devices_count();
    return MHA_STATUS_OK;
}

static mha_status device_info(size_t index, mha_device_info *info)
{
    const ocl_device *dev = ocl_devices_at(index);
    if (!dev)
        return ocl_host->set_error(MHA_STATUS_NOT_FOUND, "opencl: no device %zu", index);
    ocl_device_info_copy(info, &dev->info);
    return MHA_STATUS_OK;
}

static int score(void)
{
    return ocl_devices_score();
}

static const mha_plugin_i g_plugin = {
    .struct_size = sizeof(mha_plugin_i),
    .abi_major = MHA_PLUGIN_ABI_MAJOR,
    .abi_minor = MHA_PLUGIN_ABI_MINOR,
    .next = NULL,
    .describe = describe,
    .init = init,
    .shutdown = shutdown,
    .device_count = device_count,
    .device_info = device_info,
    .score = score,
    .context_create = ocl_context_create,
    .context_destroy = ocl_context_destroy,
    .context_capabilities = ocl_context_capabilities,
    .context_device_info = ocl_context_device_info,
    .attention_create = ocl_attention_create,
    .attention_destroy = ocl_attention_destroy,
    .attention_forward = ocl_attention_forward,
    .attention_stats = ocl_attention_stats,
    .context_create_with = ocl_context_create_with,
    .core_forward = ocl_core_forward,
};

MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *host);

MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *host)
{
    /* Every service this plugin calls must be present. */
    if (!host || host->abi_major != MHA_PLUGIN_ABI_MAJOR ||
        host->struct_size < offsetof(mha_host_services, trace) + sizeof host->trace || !host->alloc ||
        !host->calloc || !host->realloc || !host->free || !host->set_error || !host->trace)
        return NULL;
    ocl_host = host;
    return &g_plugin;
}
