/* output_file.c - see output_file.h. */
#define _GNU_SOURCE /* fchmod, realpath, strndup */

#include "output_file.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir and base of `path` ("." when it has no slash), malloc'd into *dir. */
static const char *split_path(const char *path, char **dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir = strdup(".");
        return path;
    }
    size_t length = slash == path ? 1 : (size_t)(slash - path);
    *dir = strndup(path, length);
    return slash + 1;
}

static mode_t new_file_mode(void)
{
    /* umask can only be read by setting it; the command line is one thread. */
    mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

mha_status output_file_open(output_file *file, const char *target, char *err, size_t err_size)
{
    memset(file, 0, sizeof *file);
    struct stat existing;
    bool exists = lstat(target, &existing) == 0;
    if (exists && S_ISDIR(existing.st_mode)) {
        text_format_error(err, err_size, "%s: is a directory", target);
        return MHA_STATUS_IO_ERROR;
    }
    file->target = strdup(target);
    if (!file->target) {
        text_format_error(err, err_size, "%s: out of memory", target);
        return MHA_STATUS_OUT_OF_MEMORY;
    }
    if (exists && !S_ISREG(existing.st_mode)) {
        /* A device, a FIFO or a link (/dev/stdout is one): write through it,
         * as a shell redirection would. The kernel's protected_symlinks
         * refuses a link another user planted in a sticky folder such as
         * /tmp; rename would have replaced the link itself. */
        int fd = open(target, O_WRONLY | O_TRUNC | O_NOCTTY);
        file->stream = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!file->stream) {
            text_format_error(err, err_size, "%s: cannot open for writing: %s", target,
                              strerror(errno));
            if (fd >= 0)
                close(fd);
            free(file->target);
            memset(file, 0, sizeof *file);
            return MHA_STATUS_IO_ERROR;
        }
        return MHA_STATUS_OK;
    }
    char *dir = NULL;
    const char *base = split_path(target, &dir);
    size_t size = (dir ? strlen(dir) : 0) + strlen(base) + 16;
    file->temp = dir ? malloc(size) : NULL;
    if (!file->temp) {
        free(dir);
        free(file->target);
        memset(file, 0, sizeof *file);
        text_format_error(err, err_size, "%s: out of memory", target);
        return MHA_STATUS_OUT_OF_MEMORY;
    }
    snprintf(file->temp, size, "%s/.%s.XXXXXX", dir, base);
    free(dir);
    int fd = mkstemp(file->temp); /* O_EXCL: never follows a planted link */
    mode_t mode = exists && S_ISREG(existing.st_mode) ? existing.st_mode & 07777 : new_file_mode();
    if (fd < 0 || fchmod(fd, mode) != 0 || !(file->stream = fdopen(fd, "wb"))) {
        text_format_error(err, err_size, "%s: cannot create a temporary file beside it: %s",
                          target, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(file->temp);
        }
        free(file->temp);
        free(file->target);
        memset(file, 0, sizeof *file);
        return MHA_STATUS_IO_ERROR;
    }
    return MHA_STATUS_OK;
}

mha_status output_file_commit(output_file *file, char *err, size_t err_size)
{
    mha_status st = MHA_STATUS_OK;
    if (file->stream) {
        bool ok = fflush(file->stream) == 0 && !ferror(file->stream);
        int saved = errno;
        if (fclose(file->stream) != 0 && ok) {
            ok = false;
            saved = errno;
        }
        file->stream = NULL;
        if (!ok) {
            text_format_error(err, err_size, "%s: write failed: %s", file->target,
                              strerror(saved));
            st = MHA_STATUS_IO_ERROR;
        }
    }
    if (st == MHA_STATUS_OK && file->temp && rename(file->temp, file->target) != 0) {
        text_format_error(err, err_size, "%s: cannot rename the temporary file into place: %s",
                          file->target, strerror(errno));
        st = MHA_STATUS_IO_ERROR;
    }
    if (st == MHA_STATUS_OK) {
        free(file->temp);
        file->temp = NULL; /* nothing left to discard */
    }
    output_file_discard(file);
    return st;
}

void output_file_discard(output_file *file)
{
    if (file->stream)
        fclose(file->stream);
    if (file->temp) {
        unlink(file->temp);
        free(file->temp);
    }
    free(file->target);
    memset(file, 0, sizeof *file);
}

/* The canonical spelling of `path`: its folder resolved, then its name. */
static char *canonical(const char *path)
{
    char *dir = NULL;
    const char *base = split_path(path, &dir);
    char resolved[PATH_MAX];
    char *result = NULL;
    if (dir && realpath(dir, resolved)) {
        size_t size = strlen(resolved) + strlen(base) + 2;
        result = malloc(size);
        if (result)
            snprintf(result, size, "%s/%s", resolved, base);
    }
    free(dir);
    return result;
}

bool output_files_same(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
        return true;
    char *ca = canonical(a), *cb = canonical(b);
    bool same = ca && cb ? strcmp(ca, cb) == 0 : strcmp(a, b) == 0;
    free(ca);
    free(cb);
    return same;
}
