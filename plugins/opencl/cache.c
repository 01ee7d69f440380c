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
 *
 * The cache is trusted input (a binary is loaded into the driver), so:
 *   - directories it creates are 0700, entries 0600;
 *   - a cache directory that is not a directory, not owned by this user or
 *     writable by group or others is not used (traced: the cache is off);
 *     when it is a directory, a WARNING through the host's log says so once
 *     per backend, when it is opened (ocl_cache_dir_warn): a cache silently
 *     off would cost every run its program builds;
 *   - entries are opened with O_NOFOLLOW | O_NONBLOCK and checked with fstat:
 *     a symbolic link, anything but a regular file (a FIFO would block the
 *     read forever), a file of another user or one writable by group or
 *     others is a miss (traced), and is replaced by the next store;
 *   - entries are written through mkstemp in the cache directory (a fresh,
 *     unpredictable name, O_EXCL: never a planted file or link) and renamed
 *     over the entry (rename replaces a link, never follows it).
 * tuning.c opens a tuning file found in the cache directory the same way
 * (ocl_cache_open).
 */
#define _GNU_SOURCE /* O_NOFOLLOW, O_CLOEXEC, mkostemp */
#include <errno.h>
#include <fcntl.h>
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

/* mkdir -p, creating what is missing 0700; true when the directory exists
 * afterwards. */
static bool make_dirs(char *path)
{
    for (char *p = path + 1; *p; ++p) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return false;
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST;
}

/* Why `st` (of `what`) is not private to this user, or NULL when it is:
 * owned by the effective user and not writable by group or others. */
static const char *not_private(const struct stat *st, char *why, size_t cap)
{
    if (st->st_uid != geteuid()) {
        snprintf(why, cap, "owned by uid %lu, not by this user (uid %lu; mode %04o)",
                 (unsigned long)st->st_uid, (unsigned long)geteuid(),
                 (unsigned)(st->st_mode & 07777));
        return why;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, cap, "writable by group or others (mode %04o, expected no 022 bits)",
                 (unsigned)(st->st_mode & 07777));
        return why;
    }
    return NULL;
}

bool ocl_cache_dir_usable(const char *dir)
{
    struct stat st;
    char why[160];
    if (stat(dir, &st) != 0) {
        ocl_host->trace("opencl: cache: %s: %s; cache off", dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        ocl_host->trace("opencl: cache: %s: not a directory; cache off", dir);
        return false;
    }
    if (not_private(&st, why, sizeof why)) {
        ocl_host->trace("opencl: cache: directory %s is %s; cache off", dir, why);
        return false;
    }
    return true;
}

void ocl_cache_dir_warn(const ocl_settings *s)
{
    struct stat st;
    char why[160];
    /* off, missing (created private at the first store), or not a directory
     * (traced at each lookup): nothing to warn about here */
    if (!s->cache_dir || stat(s->cache_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        !not_private(&st, why, sizeof why))
        return;
    if (MHA_HOST_HAS(ocl_host, log))
        ocl_host->log(MHA_LOG_WARNING,
                      "opencl: the program cache directory %s is %s: the program cache is off "
                      "for this backend (programs are built from source); make the directory "
                      "private (chmod go-w) or name another in MHA_OPENCL_CACHE_DIR",
                      s->cache_dir, why);
    else
        ocl_host->trace("opencl: cache: directory %s is %s; cache off", s->cache_dir, why);
}

FILE *ocl_cache_open(const char *path, bool private_file, const char *what)
{
    struct stat st;
    char why[160];
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            ocl_host->trace("opencl: %s: %s is a symbolic link; not read", what, path);
        else if (errno != ENOENT)
            ocl_host->trace("opencl: %s: cannot open %s: %s", what, path, strerror(errno));
        return NULL;
    }
    const char *bad = NULL;
    if (fstat(fd, &st) != 0)
        bad = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        bad = "not a regular file";
    else if (private_file)
        bad = not_private(&st, why, sizeof why);
    /* a regular file: reads block as usual */
    if (!bad && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        bad = strerror(errno);
    FILE *f = bad ? NULL : fdopen(fd, "rb");
    if (!f) {
        ocl_host->trace("opencl: %s: %s: %s; not read", what, path, bad ? bad : strerror(errno));
        close(fd);
    }
    return f;
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
    if (!ocl_cache_dir_usable(base))
        return false;
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
    FILE *f = ocl_cache_open(path, true, "cache");
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
    char tmp[CACHE_PATH_MAX + 64];
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.format = CACHE_FORMAT;
    h.key = key;
    h.size = size;
    h.hash = ocl_hash_bytes(14695981039346656037ull, data, size);
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return;
    /* a new file of a name no one could plant (O_EXCL), 0600 */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ocl_host->trace("opencl: cache: cannot create a temporary file for %s: %s", path,
                        strerror(errno));
        return;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        ocl_host->trace("opencl: cache: cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        remove(tmp);
        return;
    }
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(data, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        ocl_host->trace("opencl: cache: cannot store %s", path);
        remove(tmp);
    }
}
