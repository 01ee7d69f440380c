/*
 * cache.c - on-disk cache of built program binaries.
 *
 * Location: $MHA_OPENCL_CACHE_DIR ("off" disables the cache), else
 * $XDG_CACHE_HOME/mha, else $HOME/.cache/mha, as the context read them
 * (settings.c). One file per program and key, named
 * opencl-<program>-<key>.bin, where the key hashes the program's sources,
 * the build options, the device name and the driver version. A file holds a header
 * (magic, format version, key, payload size, payload hash) and the binary.
 * Files are written to a temporary name and renamed, so readers never see a
 * partial file. Anything wrong with an entry (missing, short, corrupt, stale,
 * refused by the driver) means "rebuild from source"; cache trouble is traced
 * (MHA_TRACE), never an error.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CACHE_MAGIC "MHACLBIN"
#define CACHE_FORMAT 1u
#define CACHE_PATH_MAX 4096

typedef struct cache_header {
    char magic[8];
    uint32_t format;
    uint32_t reserved;
    uint64_t key;
    uint64_t size;
    uint64_t hash;
} cache_header;

uint64_t ocl_hash_bytes(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; ++i) {
        h ^= p[i];
        h *= 1099511628211ull; /* FNV-1a 64 */
    }
    return h;
}

/* mkdir -p; true when the directory exists afterwards. */
static bool make_dirs(char *path)
{
    for (char *p = path + 1; *p; ++p) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return false;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

bool ocl_cache_file(const ocl_settings *s, const char *name, char *path, size_t cap)
{
    char base[CACHE_PATH_MAX];
    if (!s->cache_dir) /* off, or no home */
        return false;
    int n = snprintf(base, sizeof base, "%s", s->cache_dir);
    if (n <= 0 || (size_t)n >= sizeof base)
        return false;
    if (!make_dirs(base)) {
        ocl_host->trace("opencl: cache: cannot create %s: %s", base, strerror(errno));
        return false;
    }
    n = snprintf(path, cap, "%s/%s", base, name);
    return n > 0 && (size_t)n < cap;
}

bool ocl_cache_path(const ocl_settings *s, const char *program, uint64_t key, char *path,
                    size_t cap)
{
    char name[128];
    snprintf(name, sizeof name, "opencl-%s-%016llx.bin", program, (unsigned long long)key);
    return ocl_cache_file(s, name, path, cap);
}

void *ocl_cache_load(const char *path, uint64_t key, size_t *size)
{
    void *data = NULL;
    cache_header h;
    FILE *f = fopen(path, "rb");
    *size = 0;
    if (!f)
        return NULL;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, CACHE_MAGIC, 8) != 0 ||
        h.format != CACHE_FORMAT || h.key != key || h.size == 0 || h.size > ((uint64_t)1 << 30)) {
        ocl_host->trace("opencl: cache: %s: bad or stale header, rebuilding", path);
        goto done;
    }
    data = ocl_host->alloc((size_t)h.size);
    if (!data)
        goto done;
    if (fread(data, 1, (size_t)h.size, f) != (size_t)h.size ||
        ocl_hash_bytes(14695981039346656037ull, data, (size_t)h.size) != h.hash) {
        ocl_host->trace("opencl: cache: %s: truncated or corrupt, rebuilding", path);
        ocl_host->free(data);
        data = NULL;
        goto done;
    }
    *size = (size_t)h.size;
done:
    fclose(f);
    return data;
}

void ocl_cache_store(const char *path, uint64_t key, const void *data, size_t size)
{
    static atomic_uint counter;
    char tmp[CACHE_PATH_MAX + 64];
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.format = CACHE_FORMAT;
    h.key = key;
    h.size = size;
    h.hash = ocl_hash_bytes(14695981039346656037ull, data, size);
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(),
                     atomic_fetch_add(&counter, 1u));
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        ocl_host->trace("opencl: cache: cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        ocl_host->trace("opencl: cache: cannot store %s", path);
        remove(tmp);
    }
}
