/* backend.c - opening a plugin on one device from a spec string. */
#define _GNU_SOURCE /* secure_getenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "internal.h"

/* Splits "name:device" into its parts (device may be empty). */
static mha_status split_spec(const char *spec, char *name, size_t name_size, const char **device)
{
    const char *colon = strchr(spec, ':');
    size_t length = colon ? (size_t)(colon - spec) : strlen(spec);
    if (length == 0 || length >= name_size)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "spec '%s' must be PLUGIN or PLUGIN:DEVICE with a plugin name of "
                             "1 to %zu characters",
                             spec, name_size - 1);
    memcpy(name, spec, length);
    name[length] = '\0';
    *device = colon ? colon + 1 : "";
    return MHA_STATUS_OK;
}

static mha_status open_on(const registry_plugin *plugin, const char *device,
                          const mha_extension *options, mha_backend **out);

mha_status mha_backend_open(const char *spec, mha_backend **out)
{
    return mha_backend_open_with(spec, NULL, out);
}

mha_status mha_backend_open_with(const char *spec, const mha_extension *options,
                                 mha_backend **out)
{
    mha_error_clear();
    if (!out)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!spec || !*spec)
        spec = secure_getenv("MHA_BACKEND");
    if (spec && !*spec)
        spec = NULL;
    if (spec && strlen(spec) >= sizeof(((mha_backend *)0)->spec))
        return mha_error_set(MHA_STATUS_INVALID_VALUE, "spec is %zu characters long, at most %zu",
                             strlen(spec), sizeof(((mha_backend *)0)->spec) - 1);

    char name[64];
    const char *device = "";
    if (spec) {
        mha_status status = split_spec(spec, name, sizeof name, &device);
        if (status != MHA_STATUS_OK)
            return status;
    }
    int depth = 0;
    for (const mha_extension *e = options; e; e = e->next)
        if (++depth > 64)
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "options: extension chain is longer than 64 (a cycle?)");
    const registry_plugin *plugin;
    mha_status status = registry_acquire(spec ? name : NULL, &plugin);
    if (status != MHA_STATUS_OK)
        return status;
    status = open_on(plugin, device, options, out);
    registry_release(); /* an open backend holds the registry through open_backends */
    return status;
}

static mha_status open_on(const registry_plugin *plugin, const char *device,
                          const mha_extension *options, mha_backend **out)
{
    mha_status status;
    /* The plugin judges the option types: its capabilities are only known
     * once a context exists. */
    if (options && !MHA_PLUGIN_HAS(plugin->iface, context_create_with))
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "plugin '%s' takes no options (extension type 0x%x)", plugin->name,
                             (unsigned)options->type);

    mha_backend *backend = mha_calloc(1, sizeof *backend);
    if (!backend)
        return mha_error_set(MHA_STATUS_OUT_OF_MEMORY, "out of memory opening backend");
    backend->plugin = plugin;
    snprintf(backend->spec, sizeof backend->spec, "%s%s%s", plugin->name, *device ? ":" : "",
             device);

    status = options ? plugin->iface->context_create_with(device, options, &backend->context)
                     : plugin->iface->context_create(device, &backend->context);
    if (status != MHA_STATUS_OK) {
        if (!mha_error_is_set())
            mha_error_set(status, "plugin '%s' could not open device '%s'", plugin->name, device);
        mha_free(backend);
        return status;
    }
    backend->caps.struct_size = sizeof backend->caps;
    status = plugin->iface->context_capabilities(backend->context, &backend->caps);
    backend->caps.struct_size = sizeof backend->caps; /* the plugin may have set its own */
    if (status == MHA_STATUS_OK) {
        backend->device.struct_size = sizeof backend->device;
        status = plugin->iface->context_device_info(backend->context, &backend->device);
    }
    if (status != MHA_STATUS_OK) {
        if (!mha_error_is_set())
            mha_error_set(status, "plugin '%s' could not describe its context", plugin->name);
        plugin->iface->context_destroy(backend->context);
        mha_free(backend);
        return status;
    }
    atomic_init(&backend->references, 1);
    atomic_init(&backend->closed, false);
    registry_backend_opened();
    *out = backend;
    return MHA_STATUS_OK;
}

void backend_retain(mha_backend *backend)
{
    atomic_fetch_add(&backend->references, 1);
}

void backend_release(mha_backend *backend)
{
    if (atomic_fetch_sub(&backend->references, 1) != 1)
        return;
    backend->plugin->iface->context_destroy(backend->context);
    mha_free(backend);
    /* Last: mha_shutdown may unload the plugin once the count is 0. */
    registry_backend_closed();
}

void mha_backend_close(mha_backend *backend)
{
    if (!backend)
        return;
    /* A second close of a backend kept alive by its attention objects must
     * not release their references. */
    if (atomic_exchange(&backend->closed, true))
        return;
    backend_release(backend);
}

const char *mha_backend_plugin_name(const mha_backend *backend)
{
    return backend ? backend->plugin->name : "";
}

mha_status mha_backend_device_info(const mha_backend *backend, mha_device_info *info)
{
    mha_error_clear();
    if (!backend)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "backend is NULL");
    mha_status status = mha_check_out("info", info, MHA_DEVICE_INFO_SIZE_V1);
    if (status == MHA_STATUS_OK)
        mha_copy_out(info, &backend->device, sizeof backend->device);
    return status;
}

mha_status mha_backend_capabilities(const mha_backend *backend, mha_capabilities *caps)
{
    mha_error_clear();
    if (!backend)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "backend is NULL");
    mha_status status = mha_check_out("caps", caps, MHA_CAPABILITIES_SIZE_V1);
    if (status == MHA_STATUS_OK)
        mha_copy_out(caps, &backend->caps, sizeof backend->caps);
    return status;
}
