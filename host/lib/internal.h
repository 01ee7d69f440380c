/* internal.h - host-side objects shared by the files of libmha. */
#ifndef MHA_HOST_INTERNAL_H
#define MHA_HOST_INTERNAL_H

#include <stdatomic.h>

#include "mha/plugin.h"

/* A loaded plugin. Lives in the registry, at one address, until
 * mha_shutdown(). init() runs at the plugin's first use (registry.c). */
enum { REGISTRY_INIT_PENDING = 0, REGISTRY_INIT_DONE = 1, REGISTRY_INIT_FAILED = 2 };
typedef struct registry_plugin {
    char *name;
    char *version;
    char *description;
    char *path;
    void *library;
    const mha_plugin_i *iface;
    int init_state;             /* REGISTRY_INIT_*, under the registry lock */
    mha_status init_status;     /* when REGISTRY_INIT_FAILED */
    char *init_message;
    int score;                  /* once REGISTRY_INIT_DONE */
} registry_plugin;

/* A backend lives while the caller's handle or an attention object holds it:
 * `references` counts the handle (until mha_backend_close) plus one per
 * attention object; the last release destroys the plugin context. */
struct mha_backend {
    const registry_plugin *plugin;
    void *context;              /* plugin's, owned */
    mha_capabilities caps;      /* filled once at open */
    mha_device_info device;
    char spec[256];
    atomic_size_t references;
    atomic_bool closed;         /* mha_backend_close was called */
};

struct mha_attention {
    mha_backend *backend;       /* a reference (backend_retain), released on destroy */
    void *impl;                 /* plugin's, owned */
    mha_config config;          /* validated copy, kdim/vdim resolved */
};

/* Backend references (backend.c): an attention object retains its backend
 * and releases it when destroyed. */
void backend_retain(mha_backend *backend);
void backend_release(mha_backend *backend);

/* Allocation through the allocator set with mha_set_allocator (alloc.c). */
void *mha_malloc(size_t size);
void *mha_calloc(size_t count, size_t size);
void *mha_realloc(void *pointer, size_t size);
void mha_free(void *pointer);
/* Makes `allocator` (NULL: the C library's) the current one; the caller has
 * checked it and holds the registry empty (set_allocator.c). */
void alloc_replace(const mha_allocator *allocator);

/* The table handed to every plugin. */
const mha_host_services *mha_host_services_table(void);
/* Forwards to the log callback if one is set (see mha_set_log_callback), or
 * to stderr under MHA_TRACE; mha_trace is level MHA_LOG_DEBUG. */
void mha_log(mha_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));
void mha_trace(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Registry (registry.c). Every function takes the registry lock itself; a
 * scan that runs out of memory leaves the registry empty so the next call
 * scans again. */
/* Takes the registry lock and returns 1 if no plugin is loaded and nothing is
 * recorded (never scanned, or shut down); otherwise returns 0, unlocked. */
int registry_lock_if_empty(void);
void registry_unlock(void);
/* Finds a plugin by name, or the best-scoring one with a device when name is
 * NULL, initialising it (and, for NULL, every candidate) at first use. On
 * success the caller holds a use of the registry: mha_shutdown answers BUSY
 * until registry_release (or, for a backend, registry_backend_closed after
 * registry_backend_opened + registry_release). */
mha_status registry_acquire(const char *name, const registry_plugin **out);
void registry_release(void);
void registry_backend_opened(void);
void registry_backend_closed(void);

/* Caller structs (structs.c). The smallest struct_size a caller may give is
 * the size of the struct's first published version (MHA_*_SIZE_V1 in mha.h).
 * Structs coming in are copied into the host's current layout, so a plugin
 * never reads past an older caller's struct; fields appended later are
 * written out only when the caller's struct_size covers them. */

/* Copies a caller's input struct into `full`, the host's zeroed struct of
 * full_size bytes (its current layout), after checking it: not NULL,
 * struct_size >= minimum, and any bytes past full_size (a newer caller) zero.
 * full->struct_size becomes full_size. The error names `what` and
 * init_function. */
mha_status mha_copy_in(const char *what, const void *caller, size_t minimum,
                       const char *init_function, void *full, size_t full_size);
/* Checks a caller's output struct (NULL, struct_size >= minimum); sets the
 * error naming `what` on failure. */
mha_status mha_check_out(const char *what, const void *out, size_t minimum);
/* Copies the host's full struct `full` (of full_size bytes) into the caller's
 * `out`, no further than the caller's struct_size, which stays as it was. */
void mha_copy_out(void *out, const void *full, size_t full_size);

#endif
