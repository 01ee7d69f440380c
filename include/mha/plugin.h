/*
 * plugin.h - the contract between libmha (the host) and a backend plugin.
 *
 * A plugin is a shared library exporting one C symbol, MHA_PLUGIN_ENTRY_SYMBOL,
 * of type mha_plugin_entry_fn. The host calls it with its service table and
 * gets back a const function table (mha_plugin_i) that lives as long as the
 * library stays loaded. See docs/plugins.md for a walk-through.
 *
 * Versioning: a plugin whose abi_major differs from the host's is refused (the
 * message gives both). Within one major, tables and structs only grow at the
 * end; each starts with struct_size so either side can tell which fields the
 * other one knows. Never reorder or remove a field.
 *
 * Division of labour: the host validates every argument once (shapes, dtypes,
 * options, capabilities) and hands the plugin a normalised mha_problem, so a
 * plugin only sees valid calls. The plugin never crashes on its own failures
 * (out of memory included): it reports them through host->set_error and
 * returns a status. Plugins link no host symbols; they use the services table.
 */
#ifndef MHA_PLUGIN_H
#define MHA_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>

#include "mha/core.h"
#include "mha/mha.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MHA_PLUGIN_ABI_MAJOR 1
#define MHA_PLUGIN_ABI_MINOR 1
#define MHA_PLUGIN_ENTRY_SYMBOL "mha_plugin_entry"

#if defined(__GNUC__)
#define MHA_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define MHA_PLUGIN_EXPORT
#endif

/* Services the host offers to plugins. Owned by the host, valid until the
 * plugin's shutdown() returns. */
typedef struct mha_host_services {
    size_t struct_size;
    uint32_t abi_major, abi_minor;
    /* Allocator: plugins use it for every host allocation so the host (and
     * tests) can account for it. malloc semantics; NULL on failure. */
    void *(*alloc)(size_t size);
    void *(*calloc)(size_t count, size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void (*free)(void *ptr);
    /* Records the per-thread error message returned by mha_last_error().
     * Returns `status` so a plugin can write `return host->set_error(...)`. */
    mha_status (*set_error)(mha_status status, const char *format, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /* Debug trace (level MHA_LOG_DEBUG): to the log callback, or to stderr
     * when MHA_TRACE is set and no callback is installed. */
    void (*trace)(const char *format, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 1, 2)))
#endif
        ;
    const mha_extension *next;
    /* --- ABI 1.1 -------------------------------------------------------- */
    /* A diagnostic with its level (mha_log_level): MHA_LOG_INFO for a long
     * step a user should hear about (building device programs). Check
     * MHA_HOST_HAS(host, log) first: a 1.0 host has no such member. */
    void (*log)(mha_log_level level, const char *format, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /* Append new members here only. */
} mha_host_services;

/* True when the host's service table has `member` (tables only grow). */
#define MHA_HOST_HAS(host, member)                                                   \
    ((host)->struct_size >= offsetof(mha_host_services, member) + sizeof((host)->member) && \
     (host)->member != NULL)

/* The normalised shape of one forward call, computed and checked by the host.
 * All sizes are > 0 and their products fit in int64_t and size_t. */
typedef struct mha_problem {
    size_t struct_size;
    int64_t batch;            /* N (1 when unbatched) */
    int64_t tgt_len;          /* L */
    int64_t src_len;          /* S, keys given by the caller */
    int64_t src_len_total;    /* S' = S + add_bias_kv + add_zero_attn */
    int64_t embed_dim;        /* E */
    int64_t num_heads;        /* H */
    int64_t head_dim;         /* D = E / H */
    int64_t kdim, vdim;       /* resolved (never 0) */
    bool batched;             /* false: 2-D inputs, outputs drop N */
    bool batch_first;         /* layout of query/key/value/output: (N, L, E) */
    bool self_attention;      /* query, key and value are the same tensor */
    bool kv_same;             /* key and value are the same tensor */
    bool attn_mask_3d;        /* attn_mask has shape (N*H, L, S) */
    bool apply_dropout;       /* training && dropout > 0 */
    float dropout;            /* p */
    float scale;              /* 1 / sqrt(D) */
} mha_problem;

/* The normalised shape of one attention-core call (ABI 1.1), computed and
 * checked by the host from mha_core_args (include/mha/core.h). Every view is
 * rank 4 with explicit element strides (never all 0), whatever rank and
 * layout the caller gave: a plugin indexes element (b, h, i, d) of q at
 * q.data + q.offset (bytes, for device memory) + (b*q.strides[0] +
 * h*q.strides[1] + i*q.strides[2] + d*q.strides[3]) * dtype size. Views
 * with data == NULL are absent. */
typedef struct mha_core_problem {
    size_t struct_size;
    int64_t batch;             /* B */
    int64_t q_heads, kv_heads; /* Hq, Hkv; Hq % Hkv == 0 */
    int64_t group;             /* Hq / Hkv: query head h reads KV head h / group */
    int64_t q_len;             /* L */
    int64_t kv_len;            /* S, the new keys in k and v */
    int64_t past_len;          /* P: rows of past_key/past_value (0 = none) */
    int64_t total_len;         /* T = P + S */
    int64_t head_dim;          /* D */
    int64_t v_head_dim;        /* Dv */
    mha_dtype dtype;           /* storage of q, k, v, past, present, y, qk */
    float scale;               /* resolved, > 0 */
    float softcap;             /* 0 = off */
    bool is_causal;
    int64_t left_window, right_window; /* -1 = unbounded */
    int32_t qk_output_mode;    /* MHA_QK_OUTPUT_* when qk is present */
    /* The offset of causal and windows: past_len when there is a past (or
     * an in-place cache), else nonpad[b] - q_len when nonpad is present,
     * else 0 (per batch; may be negative). */
    bool offset_from_nonpad;
    /* An in-place cache: present_key/value are the caller's cache rows
     * [0, T) and past_key/value its rows [0, P), the same memory: only rows
     * [P, T) are written. */
    bool present_aliases_past;

    mha_view q;                /* (B, Hq, L, D) */
    mha_view k;                /* (B, Hkv, S, D) */
    mha_view v;                /* (B, Hkv, S, Dv) */
    mha_view past_key;         /* (B, Hkv, P, D); absent when P == 0 */
    mha_view past_value;       /* (B, Hkv, P, Dv) */
    /* (B, Hq, L, mask_cols), broadcast dims with stride 0; keys j >=
     * mask_cols are masked. bool: mask_true_attends says what true means;
     * float (any float dtype): added. */
    mha_view mask;
    int64_t mask_cols;
    bool mask_true_attends;
    mha_view nonpad;           /* (B) as rank 1, int64 or int32 */
    mha_view y;                /* (B, Hq, L, Dv) */
    mha_view present_key;      /* (B, Hkv, T, D) */
    mha_view present_value;    /* (B, Hkv, T, Dv) */
    mha_view qk;               /* (B, Hq, L, T) */
} mha_core_problem;

/* A plugin's record of itself, returned by describe(). */
typedef struct mha_plugin_about {
    size_t struct_size;
    const char *name;         /* short, lowercase, [a-z0-9_]: used in specs */
    const char *version;
    const char *description;
} mha_plugin_about;

typedef struct mha_plugin_i {
    size_t struct_size;       /* sizeof(mha_plugin_i) as the plugin was built */
    uint32_t abi_major;       /* MHA_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;
    const mha_extension *next;

    /* --- plugin lifetime ------------------------------------------------- */
    /* Required. Strings static, owned by the plugin. */
    void (*describe)(mha_plugin_about *about);
    /* Optional (NULL = nothing to do). Called once, at the plugin's first use
     * (a device query or a backend; never for `mha plugins`), before any
     * other call except describe(); may fail, and then every use of the
     * plugin answers its status and message (the failure is also listed by
     * mha_plugin_failure). MHA_STATUS_OUT_OF_MEMORY is retried at the next
     * use. */
    mha_status (*init)(void);
    /* Optional. Called once before the host unloads the library, only after
     * a successful init(); every object of the plugin has been destroyed by
     * then. */
    void (*shutdown)(void);

    /* --- devices --------------------------------------------------------- */
    /* Required. Devices visible now; 0 is allowed (plugin usable nowhere). */
    mha_status (*device_count)(size_t *count);
    /* Required. index < device_count. */
    mha_status (*device_info)(size_t index, mha_device_info *info);
    /* Optional (NULL = 1 for every device). How well this plugin would run on
     * its best device: 0 = not usable here; the default backend is the plugin
     * with the highest score. Reference CPU code scores 1, a GPU 100+. */
    int (*score)(void);

    /* --- contexts: the plugin bound to one device --------------------- */
    /* Required. device_spec is the text after "name:" in a backend spec, or
     * "" for the plugin's default device. Unknown device: MHA_STATUS_NOT_FOUND. */
    mha_status (*context_create)(const char *device_spec, void **context);
    void (*context_destroy)(void *context); /* required */
    /* Required. Fills what the context can do (struct_size set by host). */
    mha_status (*context_capabilities)(void *context, mha_capabilities *caps);
    /* Required. The device this context runs on. */
    mha_status (*context_device_info)(void *context, mha_device_info *info);

    /* --- attention objects ------------------------------------------------ */
    /* Required. config and weights have been validated; kdim/vdim are resolved
     * (never 0). The plugin copies what it keeps. */
    mha_status (*attention_create)(void *context, const mha_config *config,
                                   const mha_weights *weights, void **attention);
    void (*attention_destroy)(void *attention); /* required */
    /* Required. args were validated against problem and the capabilities;
     * outputs have the expected shapes. Mask tensors with data == NULL are
     * absent. */
    mha_status (*attention_forward)(void *attention, const mha_problem *problem,
                                    const mha_forward_args *args);

    /* --- ABI 1.0 optional additions ---------------------------------------- */
    /* Optional (NULL = the host reports stats_supported = false). Fills
     * statistics of one attention object (struct_size set by the host). */
    mha_status (*attention_stats)(void *attention, mha_attention_stats *stats);
    /* Optional (NULL = mha_backend_open_with with options fails with
     * MHA_STATUS_UNSUPPORTED). context_create with the caller's option chain
     * (never NULL here; without options the host calls context_create). The
     * plugin rejects option types it does not know with UNSUPPORTED. */
    mha_status (*context_create_with)(const char *device_spec, const mha_extension *options,
                                      void **context);

    /* --- ABI 1.1 optional additions ---------------------------------------- */
    /* Optional (NULL = mha_core_forward answers MHA_STATUS_UNSUPPORTED). The
     * attention core: `problem` was validated against the context's
     * capabilities (core_features, core_dtypes, memory kinds); `args` is the
     * caller's call as a full-size host copy, for its extension chain. */
    mha_status (*core_forward)(void *context, const mha_core_problem *problem,
                               const mha_core_args *args);
    /* Append new entries here only. */
} mha_plugin_i;

/* True when a plugin's table has `member`: its struct_size covers it and it
 * is not NULL (tables only grow; optional entries may be NULL). */
#define MHA_PLUGIN_HAS(iface, member)                                                 \
    ((iface)->struct_size >= offsetof(mha_plugin_i, member) + sizeof((iface)->member) && \
     (iface)->member != NULL)

/* The entry point. `host` stays valid until shutdown(). Returns NULL if the
 * plugin cannot run at all (the host records the candidate as broken). */
typedef const mha_plugin_i *(*mha_plugin_entry_fn)(const mha_host_services *host);

/* Every plugin defines this function (declared here so plugins need not). */
MHA_PLUGIN_EXPORT const mha_plugin_i *mha_plugin_entry(const mha_host_services *host);

#ifdef __cplusplus
}
#endif
#endif /* MHA_PLUGIN_H */
