/*
 * settings.c - the plugin's developer settings, read from the environment in
 * this file alone (docs/opencl.md lists them in one table).
 *
 * When: most are read once per context, when it is created
 * (ocl_settings_read, into ocl_context.settings): the device, GEMM-only
 * timing, the cache directory, the tuning file, the build options and the
 * caps on the device's limits (MHA_OPENCL_LIMITS). A
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
 * out-of-memory test), so a per-context read would miss them. The core's
 * query kernel and its pieces (MHA_OPENCL_CORE, MHA_OPENCL_CORE_SPLITS) are
 * read at each core call, for the same reason (the core has no object).
 *
 * Everything that names a path or reaches the compiler (the cache directory
 * and what it derives from, the tuning file, the build options) is read with
 * secure_getenv: ignored in a setuid or setgid process.
 */
#define _GNU_SOURCE /* secure_getenv */
#include <stdint.h>
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

/* One item of MHA_OPENCL_LIMITS, `key=N` with an optional K, M or G suffix
 * (powers of 1024), into its field of `caps`; false when it is not one. */
static bool limit_item(const char *item, size_t len, ocl_device_limits *caps)
{
    static const char *const keys[] = {"max_alloc", "global_mem", "local_mem", "work_group"};
    const char *eq = memchr(item, '=', len);
    if (!eq)
        return false;
    const size_t key_len = (size_t)(eq - item);
    int key = -1;
    for (int k = 0; k < 4; ++k)
        if (strlen(keys[k]) == key_len && memcmp(item, keys[k], key_len) == 0)
            key = k;
    const char *p = eq + 1, *end = item + len;
    uint64_t value = 0;
    if (key < 0 || p == end)
        return false;
    for (; p < end && *p >= '0' && *p <= '9'; ++p) {
        if (value > (UINT64_MAX - 9) / 10)
            return false;
        value = value * 10 + (uint64_t)(*p - '0');
    }
    if (p < end) {
        const unsigned shift = *p == 'K' ? 10 : *p == 'M' ? 20 : *p == 'G' ? 30 : 0;
        if (shift == 0 || p + 1 != end || p == eq + 1 || value > UINT64_MAX >> shift)
            return false;
        value <<= shift;
    }
    if (value == 0 || (key == 3 && value > SIZE_MAX))
        return false;
    uint64_t *fields[] = {&caps->max_alloc, &caps->global_mem, &caps->local_mem, NULL};
    if (key == 3)
        caps->max_work_group = (size_t)value;
    else
        *fields[key] = value;
    return true;
}

/* MHA_OPENCL_LIMITS="max_alloc=1M,global_mem=64M,local_mem=16K,work_group=64"
 * (any subset): caps on the device's limits, to test the checks against
 * them on a large device. A bad item is refused, named. */
static mha_status limit_caps(const char *text, ocl_device_limits *caps)
{
    memset(caps, 0, sizeof *caps);
    if (!text || text[0] == '\0')
        return MHA_STATUS_OK;
    for (const char *item = text;;) {
        const char *comma = strchr(item, ',');
        const size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (!limit_item(item, len, caps))
            return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                       "opencl: MHA_OPENCL_LIMITS: \"%.*s\" is not KEY=N[K|M|G] "
                                       "with N > 0 and KEY one of max_alloc, global_mem, "
                                       "local_mem, work_group",
                                       (int)len, item);
        if (!comma)
            return MHA_STATUS_OK;
        item = comma + 1;
    }
}

mha_status ocl_settings_read(ocl_settings *s)
{
    memset(s, 0, sizeof *s);
    mha_status st = limit_caps(getenv("MHA_OPENCL_LIMITS"), &s->limit_caps);
    if (st != MHA_STATUS_OK)
        return st;
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

mha_status ocl_settings_flash(ocl_flash_tiles *tiles)
{
    const char *bad = NULL;
    if (!ocl_flash_tiles_parse(getenv("MHA_OPENCL_FLASH"), tiles, &bad))
        return ocl_host->set_error(
            MHA_STATUS_INVALID_VALUE,
            "opencl: MHA_OPENCL_FLASH: bad item at \"%.64s\": expected block_q=N (a power of "
            "two, 1..%d), block_k=N (a multiple of %d, %d..%d) or splits=N (1..%d), "
            "comma-separated",
            bad, OCL_FLASH_BLOCK_MAX, OCL_FLASH_KEY_STEP, OCL_FLASH_KEY_STEP,
            OCL_FLASH_BLOCK_MAX, OCL_FLASH_SPLITS_MAX);
    return MHA_STATUS_OK;
}

/* MHA_OPENCL_CORE_SPLITS: 1..OCL_CORE_SPLITS_MAX, digits only. */
static mha_status core_splits(unsigned *splits)
{
    const char *value = getenv("MHA_OPENCL_CORE_SPLITS");
    *splits = 0;
    if (!value || value[0] == '\0')
        return MHA_STATUS_OK;
    unsigned n = 0;
    const char *p = value;
    for (; *p >= '0' && *p <= '9' && n <= OCL_CORE_SPLITS_MAX; ++p)
        n = n * 10u + (unsigned)(*p - '0');
    if (*p != '\0' || n < 1 || n > OCL_CORE_SPLITS_MAX)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: MHA_OPENCL_CORE_SPLITS is \"%.64s\": expected an "
                                   "integer from 1 to %d (or unset: chosen by the device)",
                                   value, OCL_CORE_SPLITS_MAX);
    *splits = n;
    return MHA_STATUS_OK;
}

mha_status ocl_settings_core(ocl_core_kernel *kernel, unsigned *splits)
{
    const char *value = getenv("MHA_OPENCL_CORE");
    *kernel = OCL_CORE_AUTO;
    if (value && value[0] != '\0') {
        if (strcmp(value, "rows") != 0 && strcmp(value, "tiled") != 0)
            return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                       "opencl: MHA_OPENCL_CORE is \"%.64s\": expected rows or "
                                       "tiled (or unset: chosen by the device)",
                                       value);
        *kernel = value[0] == 'r' ? OCL_CORE_ROWS : OCL_CORE_TILED;
    }
    return core_splits(splits);
}
