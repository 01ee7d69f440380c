/*
 * tuning.c - CLBlast tuning parameters from a file, applied with
 * CLBlastOverrideParameters when a context is created.
 *
 * bench/tune-clblast.sh runs CLBlast's tuners (Debian's clblast-utils) for a
 * device and writes the best parameters into the cache directory (cache.c) as
 * clblast-<device name>-<driver version>.txt. MHA_OPENCL_TUNING_FILE names a
 * file explicitly ("off": apply none). The format, one item per line:
 *
 *   # comment
 *   device <CL_DEVICE_NAME>
 *   driver <CL_DRIVER_VERSION>
 *   kernel <CLBlast kernel name> <PARAMETER>=<value> ...
 *
 * for example "kernel Xgemm GEMMK=0 KREG=1 KWG=32 ...". Kernel names are
 * CLBlast's (Xgemm, XgemmDirect, Copy, Pad, Transpose, Padtranspose,
 * GemmRoutine); each line must list every parameter of its kernel, as
 * CLBlastOverrideParameters requires. The overrides are for single precision
 * and last for the process (CLBlast keeps them per device).
 *
 * Where no such file is in the cache directory, the plugin looks in the
 * tuning folder shipped beside it (<plugin dir>/opencl-tuning/, installed
 * from plugins/opencl/tuning/), which holds the files of devices we tuned.
 * A CPU device with neither gets clblast-any-cpu.txt (cache directory, then
 * shipped): parameters tuned on one CPU, which beat CLBlast's generic CPU
 * defaults by about 3x on another (docs/opencl.md).
 *
 * The file's device and driver lines must match the device ("*" matches any):
 * a file for another device or driver is not applied (traced; other devices
 * of the process may use it). Any other trouble with the cache directory's
 * file is traced (MHA_TRACE) and the context goes on untuned; with a file
 * named by MHA_OPENCL_TUNING_FILE (unreadable, malformed, refused by CLBlast)
 * it is an error.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TUNING_ENV "MHA_OPENCL_TUNING_FILE"
#define TUNING_ANY_CPU "clblast-any-cpu.txt"
#define TUNING_LINE_MAX 2048
#define TUNING_PARAMS_MAX 48
#define TUNING_KERNELS_MAX 16

typedef struct tuning_kernel {
    char name[32];
    size_t count;
    char names[TUNING_PARAMS_MAX][40];
    size_t values[TUNING_PARAMS_MAX];
} tuning_kernel;

typedef struct tuning_file {
    char device[256];
    char driver[256];
    size_t count;
    tuning_kernel kernels[TUNING_KERNELS_MAX];
} tuning_file;

void ocl_tuning_file_name(const ocl_device *dev, char *name, size_t cap)
{
    snprintf(name, cap, "clblast-%s-%s.txt", dev->info.name, dev->info.driver);
    for (char *p = name + strlen("clblast-"); *p && p < name + cap; ++p) {
        const char c = *p;
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        if (!keep)
            *p = '_';
    }
    /* the suffix was sanitised too: restore it */
    size_t len = strlen(name);
    if (len > 4)
        memcpy(name + len - 4, ".txt", 4);
}

/* Copies src into dst[cap], cut to fit. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* Parses "kernel NAME P=V ..." (after "kernel "); false with *why set. */
static bool parse_kernel(char *rest, tuning_kernel *k, const char **why)
{
    char *save = NULL;
    char *tok = strtok_r(rest, " \t", &save);
    if (!tok || strlen(tok) >= sizeof k->name) {
        *why = "a kernel line without a (short enough) kernel name";
        return false;
    }
    strcpy(k->name, tok);
    k->count = 0;
    while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || (size_t)(eq - tok) >= sizeof k->names[0]) {
            *why = "a parameter that is not NAME=VALUE";
            return false;
        }
        if (k->count == TUNING_PARAMS_MAX) {
            *why = "too many parameters on a kernel line";
            return false;
        }
        char *end = NULL;
        unsigned long long v = strtoull(eq + 1, &end, 10);
        if (end == eq + 1 || *end != '\0' || eq[1] == '-') {
            *why = "a parameter value that is not a non-negative integer";
            return false;
        }
        memcpy(k->names[k->count], tok, (size_t)(eq - tok));
        k->names[k->count][eq - tok] = '\0';
        k->values[k->count] = (size_t)v;
        k->count++;
    }
    if (k->count == 0) {
        *why = "a kernel line without parameters";
        return false;
    }
    return true;
}

/* Reads `path` into *t; IO_ERROR / FORMAT_ERROR with *why set. */
static mha_status read_file(const char *path, tuning_file *t, const char **why, unsigned *line_no)
{
    char line[TUNING_LINE_MAX];
    FILE *f = fopen(path, "r");
    *line_no = 0;
    if (!f) {
        *why = "cannot be opened";
        return MHA_STATUS_IO_ERROR;
    }
    mha_status st = MHA_STATUS_OK;
    while (fgets(line, sizeof line, f)) {
        ++*line_no;
        if (!strchr(line, '\n') && !feof(f)) {
            *why = "a line is too long";
            st = MHA_STATUS_FORMAT_ERROR;
            break;
        }
        trim(line);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (strncmp(line, "device ", 7) == 0) {
            copy_text(t->device, sizeof t->device, line + 7);
        } else if (strncmp(line, "driver ", 7) == 0) {
            copy_text(t->driver, sizeof t->driver, line + 7);
        } else if (strncmp(line, "kernel ", 7) == 0) {
            if (t->count == TUNING_KERNELS_MAX) {
                *why = "too many kernel lines";
                st = MHA_STATUS_FORMAT_ERROR;
                break;
            }
            if (!parse_kernel(line + 7, &t->kernels[t->count], why)) {
                st = MHA_STATUS_FORMAT_ERROR;
                break;
            }
            t->count++;
        } else {
            *why = "a line that is not a comment, device, driver or kernel line";
            st = MHA_STATUS_FORMAT_ERROR;
            break;
        }
    }
    if (st == MHA_STATUS_OK && ferror(f)) {
        *why = "read error";
        st = MHA_STATUS_IO_ERROR;
    }
    fclose(f);
    if (st == MHA_STATUS_OK && (t->device[0] == '\0' || t->driver[0] == '\0')) {
        *why = "no device or no driver line";
        *line_no = 0;
        st = MHA_STATUS_FORMAT_ERROR;
    }
    return st;
}

/* Trouble: an error for an explicit file, a trace (and OK) for the cache's. */
static mha_status trouble(bool explicit_file, mha_status st, const char *path, const char *why,
                          unsigned line_no)
{
    char where[32] = "";
    if (line_no > 0)
        snprintf(where, sizeof where, " (line %u)", line_no);
    if (explicit_file)
        return ocl_host->set_error(st, "opencl: %s=%s: %s%s", TUNING_ENV, path, why, where);
    ocl_host->trace("opencl: tuning: %s: %s%s; CLBlast stays untuned", path, why, where);
    return MHA_STATUS_OK;
}

/* <directory of this plugin>/opencl-tuning/<name> into path; false if the
 * plugin's own path is unknown or too long. */
static bool shipped_tuning_file(const char *name, char *path, size_t cap)
{
    static const char anchor = 0;
    Dl_info info;
    const void *address = &anchor;
    void *pointer;
    memcpy(&pointer, &address, sizeof pointer);
    if (!dladdr(pointer, &info) || !info.dli_fname)
        return false;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return false;
    int written = snprintf(path, cap, "%.*s/opencl-tuning/%s", (int)(slash - info.dli_fname),
                           info.dli_fname, name);
    return written > 0 && (size_t)written < cap;
}

static bool readable(const char *path)
{
    FILE *probe = fopen(path, "r");
    if (probe)
        fclose(probe);
    return probe != NULL;
}

/* The user's file `name` in the cache directory, else the one shipped with mha. */
static bool find_file(const ocl_settings *s, const char *name, char *path, size_t cap)
{
    return (ocl_cache_file(s, name, path, cap) && readable(path)) ||
           (shipped_tuning_file(name, path, cap) && readable(path));
}

static bool matches(const char *pattern, const char *value)
{
    return strcmp(pattern, "*") == 0 || strcmp(pattern, value) == 0;
}

mha_status ocl_tuning_apply(const ocl_device *dev, const ocl_settings *settings)
{
    char path[4200];
    const char *env = settings->tuning_file;
    const bool explicit_file = env && env[0] != '\0';
    if (explicit_file) {
        if (strcmp(env, "off") == 0)
            return MHA_STATUS_OK;
        snprintf(path, sizeof path, "%s", env);
    } else {
        char name[600];
        ocl_tuning_file_name(dev, name, sizeof name);
        /* this device's tuning, else for a CPU the generic CPU one */
        if (!find_file(settings, name, path, sizeof path) &&
            !((dev->type & CL_DEVICE_TYPE_CPU) &&
              find_file(settings, TUNING_ANY_CPU, path, sizeof path)))
            return MHA_STATUS_OK; /* not tuned: CLBlast's own database */
    }

    tuning_file *t = ocl_host->calloc(1, sizeof *t);
    if (!t)
        return ocl_out_of_host_memory("tuning file");
    const char *why = NULL;
    unsigned line_no = 0;
    mha_status st = read_file(path, t, &why, &line_no);
    if (st != MHA_STATUS_OK) {
        st = trouble(explicit_file, st, path, why, line_no);
        goto done;
    }
    if (!matches(t->device, dev->info.name) || !matches(t->driver, dev->info.driver)) {
        char msg[1200];
        snprintf(msg, sizeof msg, "made for \"%s\" driver \"%s\", not this device (\"%s\" driver \"%s\")",
                 t->device, t->driver, dev->info.name, dev->info.driver);
        st = trouble(false, MHA_STATUS_INVALID_VALUE, path, msg, 0);
        goto done;
    }
    for (size_t i = 0; i < t->count; ++i) {
        const tuning_kernel *k = &t->kernels[i];
        const char *names[TUNING_PARAMS_MAX];
        for (size_t j = 0; j < k->count; ++j)
            names[j] = k->names[j];
        CLBlastStatusCode s = CLBlastOverrideParameters(dev->device, k->name, CLBlastPrecisionSingle,
                                                        k->count, names, k->values);
        if (s != CLBlastSuccess) {
            char msg[160];
            snprintf(msg, sizeof msg, "CLBlastOverrideParameters(%s, %zu parameters): %s (%d)",
                     k->name, k->count, ocl_clblast_error_name(s), (int)s);
            st = trouble(explicit_file, MHA_STATUS_INVALID_VALUE, path, msg, 0);
            goto done;
        }
    }
    ocl_host->trace("opencl: tuning: applied %zu CLBlast kernel(s) from %s", t->count, path);
done:
    ocl_host->free(t);
    return st;
}
