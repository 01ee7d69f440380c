/*
 * registry.c - finds plugin files, checks them, keeps the loaded ones.
 *
 * Order of the scan (first plugin of a name wins): directories in
 * MHA_PLUGIN_PATH, then <directory of libmha>/mha/plugins (the build tree and
 * the install tree both have that layout), then the compiled-in install
 * directory. Files are taken in sorted order. A candidate that fails any check
 * is recorded as a failure and skipped; nothing here is fatal.
 *
 * Lifetimes (docs/plugins.md): each plugin record is allocated on its own and
 * never moves until mha_shutdown, so backends and callers may keep pointers
 * to it while mha_plugin_load appends others. A plugin is initialised at its
 * first use (a device query, a backend), not during the scan, so listing
 * plugins never runs a driver. Every use outside the lock is counted
 * (registry_acquire / registry_release), and mha_shutdown answers BUSY while
 * any is in flight, so a plugin is never unloaded under a running call.
 */
#define _GNU_SOURCE /* secure_getenv, realpath */
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "dl.h"
#include "error.h"
#include "internal.h"

#define PLUGIN_PREFIX "libmha_plugin_"
#define PLUGIN_SUFFIX ".so"

typedef struct registry_failure {
    char *path;
    char *reason;
} registry_failure;

static struct {
    pthread_mutex_t lock;
    int scanned;
    registry_plugin **plugins; /* records stay put: only this array moves */
    size_t plugin_count;
    registry_failure *failures;
    size_t failure_count;
    size_t open_backends;
    size_t calls_in_flight;    /* registry_acquire'd and not yet released */
    int out_of_memory;         /* an allocation failed during the current scan */
} registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The folder beside libmha, resolved to an absolute path when libmha is
 * loaded: a relative LD_LIBRARY_PATH entry must not follow a later chdir. */
static char beside_libmha[PATH_MAX];

__attribute__((constructor)) static void resolve_beside_libmha(void)
{
    char directory[PATH_MAX], resolved[PATH_MAX];
    if (mha_dl_directory_of(&registry, directory, sizeof directory) &&
        realpath(directory, resolved) &&
        (size_t)snprintf(beside_libmha, sizeof beside_libmha, "%s/%s", resolved,
                         MHA_PLUGIN_RELDIR) >= sizeof beside_libmha)
        beside_libmha[0] = '\0';
}

/* ---- small helpers ------------------------------------------------------ */

static char *copy_string(const char *text)
{
    if (!text)
        text = "";
    size_t length = strlen(text) + 1;
    char *copy = mha_malloc(length);
    if (copy)
        memcpy(copy, text, length);
    else
        registry.out_of_memory = 1;
    return copy;
}

/* Appends one element to an mha_malloc'd array; returns 0 on out of memory. */
static int grow_append(void **array, size_t *count, size_t element_size, const void *element)
{
    void *bigger = mha_realloc(*array, (*count + 1) * element_size);
    if (!bigger) {
        registry.out_of_memory = 1;
        return 0;
    }
    memcpy((char *)bigger + *count * element_size, element, element_size);
    *array = bigger;
    *count += 1;
    return 1;
}

static void record_failure(const char *path, const char *reason)
{
    registry_failure failure = {copy_string(path), copy_string(reason)};
    mha_trace("mha: skipped plugin %s: %s", path, reason);
    if (!failure.path || !failure.reason ||
        !grow_append((void **)&registry.failures, &registry.failure_count, sizeof failure,
                     &failure)) {
        mha_free(failure.path);
        mha_free(failure.reason);
    }
}

static int valid_plugin_name(const char *name)
{
    if (!name || !*name || strlen(name) > 63)
        return 0;
    for (const char *c = name; *c; ++c)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return 0;
    return 1;
}

static registry_plugin *find_by_name(const char *name)
{
    for (size_t i = 0; i < registry.plugin_count; ++i)
        if (strcmp(registry.plugins[i]->name, name) == 0)
            return registry.plugins[i];
    return NULL;
}

static int already_loaded(const char *real_path)
{
    for (size_t i = 0; i < registry.plugin_count; ++i)
        if (strcmp(registry.plugins[i]->path, real_path) == 0)
            return 1;
    return 0;
}

static void free_plugin(registry_plugin *plugin)
{
    if (!plugin)
        return;
    mha_free(plugin->name);
    mha_free(plugin->version);
    mha_free(plugin->description);
    mha_free(plugin->path);
    mha_free(plugin->init_message);
    mha_free(plugin);
}

/* What the dynamic loader's secure mode asks of a library, for a file we are
 * about to run code from: a regular file (a FIFO would hang dlopen), owned by
 * root or by us, and neither it nor its folder writable by group or others
 * (unless the folder is sticky, like /tmp, where only the owner may replace
 * it). Returns 0 with the reason in `reason` if not. */
static int safe_to_load(const char *real_path, char *reason, size_t size)
{
    struct stat file;
    if (stat(real_path, &file) != 0) {
        snprintf(reason, size, "cannot stat %.300s", real_path);
        return 0;
    }
    if (!S_ISREG(file.st_mode)) {
        snprintf(reason, size, "not a regular file");
        return 0;
    }
    if (file.st_uid != 0 && file.st_uid != geteuid()) {
        snprintf(reason, size, "owned by uid %u, neither root nor this user (%u)",
                 (unsigned)file.st_uid, (unsigned)geteuid());
        return 0;
    }
    if (file.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(reason, size, "writable by %s (mode %03o)",
                 file.st_mode & S_IWOTH ? "others" : "its group",
                 (unsigned)(file.st_mode & 0777));
        return 0;
    }
    char folder[PATH_MAX];
    snprintf(folder, sizeof folder, "%s", real_path);
    char *slash = strrchr(folder, '/');
    if (slash)
        *(slash == folder ? slash + 1 : slash) = '\0';
    struct stat dir;
    if (slash && stat(folder, &dir) == 0 && (dir.st_mode & (S_IWGRP | S_IWOTH)) &&
        !(dir.st_mode & S_ISVTX)) {
        snprintf(reason, size, "its folder %.300s is writable by %s (mode %03o)", folder,
                 dir.st_mode & S_IWOTH ? "others" : "its group", (unsigned)(dir.st_mode & 0777));
        return 0;
    }
    return 1;
}

/* Required members of ABI 1.0; a table shorter than this is not a plugin. */
static int interface_complete(const mha_plugin_i *iface, char *missing, size_t size)
{
#define REQUIRE_MEMBER(member)                                  \
    if (!MHA_PLUGIN_HAS(iface, member)) {                       \
        snprintf(missing, size, "%s", #member);                 \
        return 0;                                               \
    }
    REQUIRE_MEMBER(describe)
    REQUIRE_MEMBER(device_count)
    REQUIRE_MEMBER(device_info)
    REQUIRE_MEMBER(context_create)
    REQUIRE_MEMBER(context_destroy)
    REQUIRE_MEMBER(context_capabilities)
    REQUIRE_MEMBER(context_device_info)
    REQUIRE_MEMBER(attention_create)
    REQUIRE_MEMBER(attention_destroy)
    REQUIRE_MEMBER(attention_forward)
#undef REQUIRE_MEMBER
    return 1;
}

/* ---- loading one file (registry lock held) ------------------------------ */

/* Loads and checks one candidate. On failure records it, sets the thread's
 * error and returns its status. */
static mha_status load_plugin_locked(const char *path)
{
    char reason[512] = "";
    char real_path[PATH_MAX];
    mha_status status = MHA_STATUS_PLUGIN_INVALID;
    void *library = NULL;
    const mha_plugin_i *iface = NULL;
    registry_plugin *plugin = NULL;

    if (!realpath(path, real_path)) {
        snprintf(reason, sizeof reason, "cannot resolve path");
        status = MHA_STATUS_NOT_FOUND;
        goto failed;
    }
    if (already_loaded(real_path))
        return MHA_STATUS_OK;
    if (!safe_to_load(real_path, reason, sizeof reason))
        goto failed;

    library = mha_dl_open(real_path, reason, sizeof reason);
    if (!library)
        goto failed;
    void *symbol = mha_dl_symbol(library, MHA_PLUGIN_ENTRY_SYMBOL, reason, sizeof reason);
    if (!symbol) {
        snprintf(reason, sizeof reason, "no entry symbol %s", MHA_PLUGIN_ENTRY_SYMBOL);
        goto failed;
    }
    mha_plugin_entry_fn entry;
    memcpy(&entry, &symbol, sizeof entry); /* object to function pointer, the POSIX way */
    iface = entry(mha_host_services_table());
    if (!iface) {
        snprintf(reason, sizeof reason, "%s returned NULL", MHA_PLUGIN_ENTRY_SYMBOL);
        goto failed;
    }
    if (iface->struct_size < offsetof(mha_plugin_i, abi_minor) + sizeof iface->abi_minor) {
        snprintf(reason, sizeof reason, "function table struct_size %zu is too small",
                 iface->struct_size);
        goto failed;
    }
    if (iface->abi_major != MHA_PLUGIN_ABI_MAJOR) {
        snprintf(reason, sizeof reason, "plugin ABI %u.%u but host ABI %u.%u",
                 (unsigned)iface->abi_major, (unsigned)iface->abi_minor,
                 (unsigned)MHA_PLUGIN_ABI_MAJOR, (unsigned)MHA_PLUGIN_ABI_MINOR);
        status = MHA_STATUS_ABI_MISMATCH;
        goto failed;
    }
    char missing[64];
    if (!interface_complete(iface, missing, sizeof missing)) {
        snprintf(reason, sizeof reason, "function table lacks required member %s", missing);
        goto failed;
    }
    mha_plugin_about about = {.struct_size = sizeof about};
    iface->describe(&about);
    if (!valid_plugin_name(about.name)) {
        snprintf(reason, sizeof reason, "plugin name '%s' is not [a-z0-9_]{1,63}",
                 about.name ? about.name : "(null)");
        goto failed;
    }
    registry_plugin *twin = find_by_name(about.name);
    if (twin) {
        snprintf(reason, sizeof reason, "a plugin named '%s' was already loaded from %s",
                 about.name, twin->path);
        status = MHA_STATUS_INVALID_VALUE;
        goto failed;
    }
    /* init() waits for the plugin's first use (plugin_ready_locked). */
    plugin = mha_calloc(1, sizeof *plugin);
    if (plugin) {
        plugin->name = copy_string(about.name);
        plugin->version = copy_string(about.version);
        plugin->description = copy_string(about.description);
        plugin->path = copy_string(real_path);
        plugin->library = library;
        plugin->iface = iface;
    }
    if (!plugin || !plugin->name || !plugin->version || !plugin->description || !plugin->path ||
        !grow_append((void **)&registry.plugins, &registry.plugin_count, sizeof plugin, &plugin)) {
        free_plugin(plugin);
        registry.out_of_memory = 1;
        snprintf(reason, sizeof reason, "out of memory");
        status = MHA_STATUS_OUT_OF_MEMORY;
        goto failed;
    }
    mha_trace("mha: loaded plugin '%s' %s from %s", plugin->name, plugin->version, plugin->path);
    return MHA_STATUS_OK;

failed:
    mha_dl_close(library);
    record_failure(path, reason);
    return mha_error_set(status, "plugin %s: %s", path, reason);
}

/* ---- scanning ------------------------------------------------------------ */

static int is_candidate(const char *file)
{
    size_t length = strlen(file), prefix = strlen(PLUGIN_PREFIX), suffix = strlen(PLUGIN_SUFFIX);
    return length > prefix + suffix && strncmp(file, PLUGIN_PREFIX, prefix) == 0 &&
           strcmp(file + length - suffix, PLUGIN_SUFFIX) == 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_directory_locked(const char *directory)
{
    DIR *dir = opendir(directory);
    if (!dir) {
        mha_trace("mha: plugin directory %s not readable", directory);
        return;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!is_candidate(entry->d_name))
            continue;
        char *name = copy_string(entry->d_name);
        if (!name || !grow_append((void **)&names, &count, sizeof name, &name)) {
            mha_free(name);
            break;
        }
    }
    closedir(dir);
    if (count > 1)
        qsort(names, count, sizeof *names, compare_strings);
    for (size_t i = 0; i < count; ++i) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", directory, names[i]) < sizeof path)
            load_plugin_locked(path);
        mha_free(names[i]);
    }
    mha_free(names);
}

static void scan_locked(void)
{
    registry.out_of_memory = 0;
    const char *env = secure_getenv("MHA_PLUGIN_PATH");
    if (env && *env) {
        char *paths = copy_string(env);
        char *cursor = paths;
        while (cursor && *cursor) {
            char *end = strchr(cursor, ':');
            if (end)
                *end = '\0';
            /* A relative entry would name another folder after each chdir. */
            if (*cursor == '/')
                scan_directory_locked(cursor);
            else if (*cursor)
                record_failure(cursor, "MHA_PLUGIN_PATH entry is not an absolute path: ignored");
            cursor = end ? end + 1 : NULL;
        }
        mha_free(paths);
    }
    if (beside_libmha[0])
        scan_directory_locked(beside_libmha);
    scan_directory_locked(MHA_PLUGIN_INSTALL_DIR);
}

/* ---- public and internal entry points ----------------------------------- */

/* Unloads every plugin and forgets every failure (no backend may be open). */
static void release_locked(void)
{
    for (size_t i = registry.plugin_count; i-- > 0;) {
        registry_plugin *plugin = registry.plugins[i];
        /* shutdown() pairs with a successful init(): a plugin never used was
         * never initialised. */
        if (plugin->init_state == REGISTRY_INIT_DONE && MHA_PLUGIN_HAS(plugin->iface, shutdown))
            plugin->iface->shutdown();
        mha_dl_close(plugin->library);
        free_plugin(plugin);
    }
    for (size_t i = 0; i < registry.failure_count; ++i) {
        mha_free(registry.failures[i].path);
        mha_free(registry.failures[i].reason);
    }
    mha_free(registry.plugins);
    mha_free(registry.failures);
    registry.plugins = NULL;
    registry.failures = NULL;
    registry.plugin_count = registry.failure_count = 0;
    registry.scanned = 0;
}

/* A scan that ran out of memory may have skipped any candidate, so its result
 * is not kept: everything it loaded is unloaded and the next call scans again.
 * (The registry is empty before a scan: it only scans when never scanned or
 * after mha_shutdown, and no backend can be open then.) */
static mha_status ensure_scanned_locked(void)
{
    if (registry.scanned)
        return MHA_STATUS_OK;
    scan_locked();
    if (registry.out_of_memory) {
        release_locked();
        return mha_error_set(MHA_STATUS_OUT_OF_MEMORY, "out of memory while scanning for plugins");
    }
    registry.scanned = 1;
    return MHA_STATUS_OK;
}

int registry_lock_if_empty(void)
{
    pthread_mutex_lock(&registry.lock);
    if (!registry.scanned && registry.plugin_count == 0 && registry.failure_count == 0 &&
        registry.open_backends == 0 && registry.calls_in_flight == 0)
        return 1;
    pthread_mutex_unlock(&registry.lock);
    return 0;
}

void registry_unlock(void)
{
    pthread_mutex_unlock(&registry.lock);
}

mha_status mha_plugin_load(const char *path)
{
    mha_error_clear();
    if (!path)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "path is NULL");
    mha_status status = MHA_STATUS_OK;
    pthread_mutex_lock(&registry.lock);
    if ((status = ensure_scanned_locked()) != MHA_STATUS_OK) {
        pthread_mutex_unlock(&registry.lock);
        return status;
    }
    status = load_plugin_locked(path);
    pthread_mutex_unlock(&registry.lock);
    return status;
}

mha_status mha_plugin_count(size_t *count)
{
    mha_error_clear();
    if (!count)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "count is NULL");
    mha_status status = MHA_STATUS_OK;
    pthread_mutex_lock(&registry.lock);
    if ((status = ensure_scanned_locked()) != MHA_STATUS_OK) {
        pthread_mutex_unlock(&registry.lock);
        return status;
    }
    *count = registry.plugin_count;
    pthread_mutex_unlock(&registry.lock);
    return MHA_STATUS_OK;
}

mha_status mha_plugin_get_info(size_t index, mha_plugin_info *info)
{
    mha_error_clear();
    mha_status status = mha_check_out("info", info, MHA_PLUGIN_INFO_SIZE_V1);
    if (status != MHA_STATUS_OK)
        return status;
    status = MHA_STATUS_OK;
    pthread_mutex_lock(&registry.lock);
    if ((status = ensure_scanned_locked()) != MHA_STATUS_OK) {
        pthread_mutex_unlock(&registry.lock);
        return status;
    }
    if (index >= registry.plugin_count) {
        status = mha_error_set(MHA_STATUS_NOT_FOUND, "index is %zu but there are %zu plugins",
                               index, registry.plugin_count);
    } else {
        const registry_plugin *plugin = registry.plugins[index];
        mha_plugin_info full = {
            .struct_size = sizeof full,
            .name = plugin->name,
            .version = plugin->version,
            .abi_major = plugin->iface->abi_major,
            .abi_minor = plugin->iface->abi_minor,
            .path = plugin->path,
            .description = plugin->description,
        };
        mha_copy_out(info, &full, sizeof full);
    }
    pthread_mutex_unlock(&registry.lock);
    return status;
}

mha_status mha_plugin_failure_count(size_t *count)
{
    mha_error_clear();
    if (!count)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "count is NULL");
    mha_status status = MHA_STATUS_OK;
    pthread_mutex_lock(&registry.lock);
    if ((status = ensure_scanned_locked()) != MHA_STATUS_OK) {
        pthread_mutex_unlock(&registry.lock);
        return status;
    }
    *count = registry.failure_count;
    pthread_mutex_unlock(&registry.lock);
    return MHA_STATUS_OK;
}

mha_status mha_plugin_failure(size_t index, const char **path, const char **reason)
{
    mha_error_clear();
    if (!path || !reason)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s is NULL", path ? "reason" : "path");
    mha_status status = MHA_STATUS_OK;
    pthread_mutex_lock(&registry.lock);
    if ((status = ensure_scanned_locked()) != MHA_STATUS_OK) {
        pthread_mutex_unlock(&registry.lock);
        return status;
    }
    if (index >= registry.failure_count) {
        status = mha_error_set(MHA_STATUS_NOT_FOUND, "index is %zu but there are %zu failures",
                               index, registry.failure_count);
    } else {
        *path = registry.failures[index].path;
        *reason = registry.failures[index].reason;
    }
    pthread_mutex_unlock(&registry.lock);
    return status;
}

/* Lists plugin names into buf for "no plugin named X (found: a, b)". */
static void list_names_locked(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < registry.plugin_count && used < size; ++i) {
        int written = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                               registry.plugins[i]->name);
        if (written < 0)
            break;
        used += (size_t)written;
    }
    if (registry.plugin_count == 0)
        snprintf(buf, size, "none; set MHA_PLUGIN_PATH");
}

/* Initialises a plugin at its first use (init(), then score()). A failed
 * init is remembered and answered to every later use, and recorded as a
 * failure; running out of memory is not remembered, so a later call retries. */
static mha_status plugin_ready_locked(registry_plugin *plugin)
{
    if (plugin->init_state == REGISTRY_INIT_DONE)
        return MHA_STATUS_OK;
    if (plugin->init_state == REGISTRY_INIT_FAILED)
        return mha_error_set(plugin->init_status, "plugin '%s' could not initialise: %s",
                             plugin->name, plugin->init_message ? plugin->init_message : "");
    mha_status status = MHA_STATUS_OK;
    if (MHA_PLUGIN_HAS(plugin->iface, init)) {
        mha_error_clear();
        status = plugin->iface->init();
    }
    if (status == MHA_STATUS_OK) {
        plugin->init_state = REGISTRY_INIT_DONE;
        plugin->score = MHA_PLUGIN_HAS(plugin->iface, score) ? plugin->iface->score() : 1;
        mha_trace("mha: initialised plugin '%s' (score %d)", plugin->name, plugin->score);
        return MHA_STATUS_OK;
    }
    char message[512];
    snprintf(message, sizeof message, "%s: %s", mha_status_name(status),
             mha_error_is_set() ? mha_last_error() : mha_status_string(status));
    if (status != MHA_STATUS_OUT_OF_MEMORY) {
        plugin->init_state = REGISTRY_INIT_FAILED;
        plugin->init_status = status;
        plugin->init_message = copy_string(message);
        char reason[600];
        snprintf(reason, sizeof reason, "init failed: %s", message);
        record_failure(plugin->path, reason);
    }
    return mha_error_set(status, "plugin '%s' could not initialise: %s", plugin->name, message);
}

static int plugin_has_device(const registry_plugin *plugin)
{
    size_t count = 0;
    return plugin->iface->device_count(&count) == MHA_STATUS_OK && count > 0;
}

mha_status registry_acquire(const char *name, const registry_plugin **out)
{
    *out = NULL;
    pthread_mutex_lock(&registry.lock);
    mha_status status = ensure_scanned_locked();
    registry_plugin *found = NULL;
    if (status == MHA_STATUS_OK && name) {
        found = find_by_name(name);
        if (found && (status = plugin_ready_locked(found)) != MHA_STATUS_OK)
            found = NULL;
    } else if (status == MHA_STATUS_OK) {
        /* The default: every plugin must be asked (its score needs init). A
         * plugin that cannot initialise is passed over, not fatal. */
        for (size_t i = 0; i < registry.plugin_count; ++i) {
            registry_plugin *candidate = registry.plugins[i];
            if (plugin_ready_locked(candidate) != MHA_STATUS_OK)
                continue;
            if (candidate->score > 0 && (!found || candidate->score > found->score) &&
                plugin_has_device(candidate))
                found = candidate;
        }
        mha_error_clear();
    }
    if (!found && status == MHA_STATUS_OK) {
        char names[256];
        list_names_locked(names, sizeof names);
        status = name ? mha_error_set(MHA_STATUS_NOT_FOUND, "no plugin named '%s' (found: %s)",
                                      name, names)
                      : mha_error_set(MHA_STATUS_NOT_FOUND,
                                      "no plugin with a usable device (found: %s)", names);
    }
    if (found)
        registry.calls_in_flight++;
    *out = found;
    pthread_mutex_unlock(&registry.lock);
    return status;
}

void registry_release(void)
{
    pthread_mutex_lock(&registry.lock);
    registry.calls_in_flight--;
    pthread_mutex_unlock(&registry.lock);
}

void registry_backend_opened(void)
{
    pthread_mutex_lock(&registry.lock);
    registry.open_backends++;
    pthread_mutex_unlock(&registry.lock);
}

void registry_backend_closed(void)
{
    pthread_mutex_lock(&registry.lock);
    registry.open_backends--;
    pthread_mutex_unlock(&registry.lock);
}

mha_status mha_shutdown(void)
{
    mha_error_clear();
    pthread_mutex_lock(&registry.lock);
    if (registry.open_backends > 0) {
        size_t open = registry.open_backends;
        pthread_mutex_unlock(&registry.lock);
        return mha_error_set(MHA_STATUS_BUSY,
                             "%zu backends are still open (an attention object keeps its "
                             "backend open after mha_backend_close); close them and destroy "
                             "their attention objects before mha_shutdown",
                             open);
    }
    if (registry.calls_in_flight > 0) {
        size_t calls = registry.calls_in_flight;
        pthread_mutex_unlock(&registry.lock);
        return mha_error_set(MHA_STATUS_BUSY,
                             "%zu calls on other threads are using plugins; try again when "
                             "they return",
                             calls);
    }
    release_locked();
    pthread_mutex_unlock(&registry.lock);
    return MHA_STATUS_OK;
}

/* Device queries go straight to the plugin; the registry only finds it. */
mha_status mha_plugin_device_count(const char *plugin_name, size_t *count)
{
    mha_error_clear();
    if (!plugin_name || !count)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s is NULL",
                             plugin_name ? "count" : "plugin_name");
    const registry_plugin *plugin;
    mha_status status = registry_acquire(plugin_name, &plugin);
    if (status != MHA_STATUS_OK)
        return status;
    status = plugin->iface->device_count(count);
    if (status != MHA_STATUS_OK && !mha_error_is_set())
        mha_error_set(status, "plugin '%s' failed to count devices", plugin_name);
    registry_release();
    return status;
}

mha_status mha_plugin_device_info(const char *plugin_name, size_t index, mha_device_info *info)
{
    mha_error_clear();
    if (!plugin_name)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "plugin_name is NULL");
    mha_status status = mha_check_out("info", info, MHA_DEVICE_INFO_SIZE_V1);
    if (status != MHA_STATUS_OK)
        return status;
    const registry_plugin *plugin;
    status = registry_acquire(plugin_name, &plugin);
    if (status != MHA_STATUS_OK)
        return status;
    size_t count = 0;
    status = plugin->iface->device_count(&count);
    if (status == MHA_STATUS_OK && index >= count)
        status = mha_error_set(MHA_STATUS_NOT_FOUND,
                               "index is %zu but plugin '%s' has %zu devices", index,
                               plugin_name, count);
    /* The plugin fills a struct of this host's size; the caller gets what its
     * struct_size covers. */
    mha_device_info full;
    memset(&full, 0, sizeof full);
    full.struct_size = sizeof full;
    if (status == MHA_STATUS_OK)
        status = plugin->iface->device_info(index, &full);
    if (status == MHA_STATUS_OK)
        mha_copy_out(info, &full, sizeof full);
    if (status != MHA_STATUS_OK && !mha_error_is_set())
        mha_error_set(status, "plugin '%s' failed to describe device %zu", plugin_name, index);
    registry_release();
    return status;
}
