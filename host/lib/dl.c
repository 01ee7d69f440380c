#define _GNU_SOURCE /* dladdr */
#include "dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void copy_dlerror(char *err, size_t err_size, const char *fallback)
{
    const char *reason = dlerror();
    snprintf(err, err_size, "%s", reason ? reason : fallback);
}

void *mha_dl_open(const char *path, char *err, size_t err_size)
{
    /* RTLD_LOCAL: two plugins may link different versions of one library. */
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library)
        copy_dlerror(err, err_size, "dlopen failed");
    return library;
}

void *mha_dl_symbol(void *library, const char *name, char *err, size_t err_size)
{
    dlerror(); /* clear a stale error so a NULL result can be told apart */
    void *symbol = dlsym(library, name);
    if (!symbol)
        copy_dlerror(err, err_size, "symbol is NULL");
    return symbol;
}

void mha_dl_close(void *library)
{
    if (library)
        dlclose(library);
}

int mha_dl_directory_of(const void *address, char *buf, size_t size)
{
    Dl_info info;
    void *pointer;
    memcpy(&pointer, &address, sizeof pointer);
    if (!dladdr(pointer, &info) || !info.dli_fname)
        return 0;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return 0;
    size_t length = (size_t)(slash - info.dli_fname);
    if (length + 1 > size)
        return 0;
    memcpy(buf, info.dli_fname, length);
    buf[length] = '\0';
    return 1;
}
