/*
 * settings.c - the plugin's developer settings, read from the environment in
 * this file alone (docs/opencl.md lists them in one table).
 *
 * When: most are read once per context, when it is created
 * (ocl_settings_read, into ocl_context.settings): the device, GEMM-only
 * timing, the cache directory, the tuning file and the build options. A
 * context's programs are built later, lazily, still with the settings of its
 * creation. Tests and tools set these with setenv before they open a backend
 * (test_forward_programs: the cache directory and the build options,
 * test_gemm_only, MHA_OPENCL_DEVICE), so reading them at context creation
 * keeps that working while a context never sees them change under it.
 *
 * The forced path and softmax kernel (MHA_OPENCL_ATTENTION,
 * MHA_OPENCL_SOFTMAX) are read when an attention object is created
 * (ocl_settings_forced), as before: tests and the cache-warming fixture set
 * them between attention objects of one open backend (warm_cache.c, the
 * out-of-memory test), so a per-context read would miss them.
 *
 * Everything that names a path or reaches the compiler (the cache directory
 * and what it derives from, the tuning file, the build options) is read with
 * secure_getenv: ignored in a setuid or setgid process.
 */
#define _GNU_SOURCE /* secure_getenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if !defined(__GLIBC__)
/* No secure_getenv outside glibc: plain getenv. */
#define secure_getenv getenv
#endif

/* A copy of `value` in *out (NULL for NULL or ""); false: out of memory. */
static bool copy(const char *value, char **out)
{
    *out = NULL;
    if (!value || value[0] == '\0')
        return true;
    size_t n = strlen(value) + 1;
    *out = ocl_host->alloc(n);
    if (*out)
        memcpy(*out, value, n);
    return *out != NULL;
}

/* The cache directory: $MHA_OPENCL_CACHE_DIR ("off": none), else
 * $XDG_CACHE_HOME/mha (an absolute XDG_CACHE_HOME only), else
 * $HOME/.cache/mha; NULL when off or there is no home. */
static bool cache_dir(char **out)
{
    const char *dir = secure_getenv("MHA_OPENCL_CACHE_DIR");
    const char *suffix = "";
    *out = NULL;
    if (dir && dir[0] != '\0') {
        if (strcmp(dir, "off") == 0)
            return true;
    } else if ((dir = secure_getenv("XDG_CACHE_HOME")) && dir[0] == '/') {
        suffix = "/mha";
    } else if ((dir = secure_getenv("HOME")) && dir[0] != '\0') {
        suffix = "/.cache/mha";
    } else {
        return true;
    }
    size_t n = strlen(dir) + strlen(suffix) + 1;
    *out = ocl_host->alloc(n);
    if (!*out)
        return false;
    snprintf(*out, n, "%s%s", dir, suffix);
    return true;
}

mha_status ocl_settings_read(ocl_settings *s)
{
    memset(s, 0, sizeof *s);
    const char *gemm_only = getenv("MHA_OPENCL_GEMM_ONLY");
    s->gemm_only = gemm_only && strcmp(gemm_only, "1") == 0;
    if (!copy(getenv("MHA_OPENCL_DEVICE"), &s->device) || !cache_dir(&s->cache_dir) ||
        !copy(secure_getenv("MHA_OPENCL_TUNING_FILE"), &s->tuning_file) ||
        !copy(secure_getenv("MHA_OPENCL_BUILD_OPTIONS"), &s->build_options)) {
        ocl_settings_free(s);
        return ocl_out_of_host_memory("settings");
    }
    return MHA_STATUS_OK;
}

void ocl_settings_free(ocl_settings *s)
{
    ocl_host->free(s->device);
    ocl_host->free(s->cache_dir);
    ocl_host->free(s->tuning_file);
    ocl_host->free(s->build_options);
    memset(s, 0, sizeof *s);
}

void ocl_settings_forced(ocl_path *path, ocl_softmax *softmax)
{
    *path = ocl_path_parse(getenv("MHA_OPENCL_ATTENTION"));
    *softmax = ocl_softmax_parse(getenv("MHA_OPENCL_SOFTMAX"));
}
