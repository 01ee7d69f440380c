/*
 * mha.h - public C API of libmha: multi-head attention with the semantics of
 * torch.nn.MultiheadAttention.forward (PyTorch 2.x mask rules), dispatched to
 * backend plugins found at run time.
 *
 * Conventions (docs/abi.md has the versioning rules and the changelog):
 *  - Every call that can fail returns mha_status; MHA_STATUS_OK (0) is success.
 *    On failure, mha_last_error() returns a per-thread message that names the
 *    argument and the expected versus the actual value.
 *  - Structs that may grow carry `struct_size` (set it with the matching
 *    *_init() function or to sizeof) and `next`, an extension chain. Fields are
 *    only ever appended; a caller built against an older header keeps working.
 *  - Handles are opaque. Every *_destroy()/_close() accepts NULL.
 *  - Pointers passed in are borrowed for the duration of the call unless the
 *    comment says otherwise. Nothing returned needs to be freed unless said.
 *  - The library never prints, exits or aborts. Its only global state is the
 *    plugin registry, which is thread-safe, and the allocator (mha_set_allocator).
 */
#ifndef MHA_MHA_H
#define MHA_MHA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MHA_API __declspec(dllimport)
#elif defined(__GNUC__)
#define MHA_API __attribute__((visibility("default")))
#else
#define MHA_API
#endif

/* Version of the library (semantic versioning). */
#define MHA_VERSION_MAJOR 0
#define MHA_VERSION_MINOR 1
#define MHA_VERSION_PATCH 0
MHA_API const char *mha_version_string(void);

/* ------------------------------------------------------------------------ */
/* Status codes: one X-macro table yields the enum, names and messages.      */
/* Codes are stable: new ones are appended, none is renumbered.              */
/* ------------------------------------------------------------------------ */
#define MHA_STATUS_MAP(X)                                                          \
    X(OK, 0, "success")                                                            \
    X(NULL_ARGUMENT, 1, "a required pointer argument is NULL")                     \
    X(INVALID_STRUCT_SIZE, 2, "struct_size is not set or too small")               \
    X(INVALID_VALUE, 3, "an argument has a value outside its valid range")         \
    X(SHAPE_MISMATCH, 4, "tensor shapes do not agree")                             \
    X(INVALID_DTYPE, 5, "tensor dtype is not allowed here")                        \
    X(SIZE_OVERFLOW, 6, "sizes overflow the addressable range")                    \
    X(UNSUPPORTED, 7, "the backend does not support this feature")                 \
    X(OUT_OF_MEMORY, 8, "out of memory")                                           \
    X(NOT_FOUND, 9, "no such plugin or device")                                    \
    X(PLUGIN_INVALID, 10, "the file is not a usable mha plugin")                   \
    X(ABI_MISMATCH, 11, "the plugin was built for another ABI major version")      \
    X(DEVICE_ERROR, 12, "the device or its driver reported an error")              \
    X(BUILD_ERROR, 13, "a device program failed to build")                         \
    X(IO_ERROR, 14, "a file could not be read or written")                         \
    X(FORMAT_ERROR, 15, "a file is malformed")                                     \
    X(BUSY, 16, "objects created from it are still alive")                         \
    X(INTERNAL, 17, "internal error (a bug in mha or a plugin)")

typedef enum mha_status {
#define MHA_STATUS_ENUM_(name, code, message) MHA_STATUS_##name = code,
    MHA_STATUS_MAP(MHA_STATUS_ENUM_)
#undef MHA_STATUS_ENUM_
} mha_status;

/* "MHA_STATUS_SHAPE_MISMATCH"; "MHA_STATUS_UNKNOWN" for a code not in the map. */
MHA_API const char *mha_status_name(mha_status status);
/* A sentence describing the code in general; see mha_last_error() for this call's. */
MHA_API const char *mha_status_string(mha_status status);
/* Message of the last failed call on this thread ("" if none). Valid until the
 * next mha call on this thread. */
MHA_API const char *mha_last_error(void);

/* Diagnostics (which plugin files were tried, why one was skipped, what a
 * plugin traces) go to this callback; the library itself never prints.
 * NULL turns them off (the default). The callback may be called from any
 * thread and must not call back into mha. */
typedef void (*mha_log_fn)(const char *message, void *user);
MHA_API void mha_set_log_callback(mha_log_fn callback, void *user);

/* How much a diagnostic matters (ABI 1.1). DEBUG: traces (which plugin files
 * were tried, cache hits); INFO: a long step a user may want to be told about
 * (building device programs on a first run, and where they are cached);
 * WARNING: something was skipped or ignored. */
typedef enum mha_log_level {
    MHA_LOG_DEBUG = 0,
    MHA_LOG_INFO = 1,
    MHA_LOG_WARNING = 2
} mha_log_level;
typedef void (*mha_log_level_fn)(mha_log_level level, const char *message, void *user);
/* Like mha_set_log_callback, with each message's level. One callback is
 * installed at a time: setting either kind replaces the other. Without a
 * callback, messages go to stderr when the environment variable MHA_TRACE is
 * set to a non-empty value other than "0" (the only case in which the library
 * prints), and are dropped otherwise. */
MHA_API void mha_set_log_level_callback(mha_log_level_fn callback, void *user);

/* Allocator hook: every host allocation libmha makes, and every allocation a
 * plugin makes through the host-services table (mha_host_services in
 * plugin.h), goes through these functions; `user` is passed to each. Device
 * memory, the OpenCL driver's own memory and the dynamic loader's are not
 * covered. libmha never asks for 0 bytes, never passes NULL to realloc or
 * free, and checks calloc's count * size for overflow before calling it. A
 * function returns NULL on failure; the mha call then fails with
 * MHA_STATUS_OUT_OF_MEMORY and leaks nothing.
 *
 * Thread rules: set it before any other mha call, from one thread, with no
 * other mha call running. It fails with MHA_STATUS_BUSY once plugins are
 * loaded (any call that finds plugins loads them) until mha_shutdown(), so
 * memory is always freed by the allocator that gave it. The functions may be
 * called from any thread at once and must be thread-safe. The struct is
 * copied; NULL restores the C library's malloc, calloc, realloc and free.
 * NULL_ARGUMENT if one of the four functions is NULL. */
typedef struct mha_allocator {
    size_t struct_size; /* sizeof(mha_allocator) */
    void *(*malloc)(size_t size, void *user);
    void *(*calloc)(size_t count, size_t size, void *user);
    void *(*realloc)(void *pointer, size_t size, void *user);
    void (*free)(void *pointer, void *user);
    void *user;         /* passed through, never dereferenced */
} mha_allocator;
MHA_API mha_status mha_set_allocator(const mha_allocator *allocator);

/* ------------------------------------------------------------------------ */
/* Extension chains                                                          */
/* ------------------------------------------------------------------------ */
/* Every extensible struct has `const mha_extension *next`. An extension starts
 * with this header; `type` is a value from a plugin-specific header (for
 * example include/mha/opencl.h). The host rejects extension types that the
 * chosen plugin does not list in its capabilities. */
typedef struct mha_extension {
    size_t struct_size;
    uint32_t type;
    const struct mha_extension *next;
} mha_extension;

/* Extension type ranges. Types below MHA_EXT_PLUGIN_FIRST belong to the host
 * (libmha's own extensions, defined in this header and its siblings; no plugin
 * may list them); each plugin takes a range of its own from there, tagged with
 * two letters in the high bytes (opencl: 'O' 'C' = 0x4f43xxxx). */
#define MHA_EXT_HOST_FIRST 0x00000001u
#define MHA_EXT_HOST_LAST 0x0000ffffu
#define MHA_EXT_PLUGIN_FIRST 0x00010000u

/* ------------------------------------------------------------------------ */
/* Tensors                                                                   */
/* ------------------------------------------------------------------------ */
/* Values are stable; new dtypes are appended. Which calls take which dtype is
 * said per call and in mha_capabilities.dtypes. */
typedef enum mha_dtype {
    MHA_DTYPE_NONE = 0, /* tensor absent */
    MHA_DTYPE_F32 = 1,  /* IEEE binary32 */
    MHA_DTYPE_BOOL = 2, /* one byte per element, 0 = false, anything else = true */
    MHA_DTYPE_F16 = 3,  /* IEEE binary16 (storage; arithmetic in float32 or better) */
    MHA_DTYPE_BF16 = 4, /* bfloat16: the upper 16 bits of a binary32 (ABI 1.1) */
    MHA_DTYPE_I32 = 5,  /* int32_t (ABI 1.1) */
    MHA_DTYPE_I64 = 6   /* int64_t (ABI 1.1) */
} mha_dtype;
MHA_API const char *mha_dtype_name(mha_dtype dtype);
MHA_API size_t mha_dtype_size(mha_dtype dtype);

/* Where a tensor's data lives. Plugins list the kinds they accept. */
typedef enum mha_memory {
    MHA_MEMORY_HOST = 0,          /* data is a host pointer */
    MHA_MEMORY_OPENCL_BUFFER = 1  /* data is a cl_mem; see include/mha/opencl.h */
} mha_memory;

#define MHA_MAX_RANK 4

/* A dense, row-major (C order) tensor view. The caller owns the memory. */
typedef struct mha_tensor {
    void *data;          /* host pointer, or a device handle per `memory`; NULL = absent */
    mha_dtype dtype;
    int32_t rank;
    int64_t shape[MHA_MAX_RANK];
    mha_memory memory;   /* MHA_MEMORY_HOST unless a plugin says otherwise */
    uint64_t offset;     /* byte offset into a device buffer; 0 for host memory */
} mha_tensor;

/* Convenience constructors for host tensors (unused dims are ignored). */
MHA_API mha_tensor mha_tensor_f32(const float *data, int32_t rank, const int64_t *shape);
MHA_API mha_tensor mha_tensor_bool(const uint8_t *data, int32_t rank, const int64_t *shape);

/* A versioned, strided view (ABI 1.1), the tensor of the calls added from ABI
 * 1.1 on; mha_attention_forward keeps mha_tensor. Element (i0, ..., i{r-1})
 * is at data + offset + (i0 * strides[0] + ... ) * mha_dtype_size(dtype)
 * bytes. Strides are in elements and >= 0; all zero means dense row-major (C
 * order). Sizes may be 0 (an empty past, say). A view embedded in an args
 * struct never grows (that would move the fields after it): what it gains
 * arrives through `next`. The caller owns the memory. */
#define MHA_VIEW_MAX_RANK 8
typedef struct mha_view {
    size_t struct_size;        /* sizeof(mha_view): mha_view_init / mha_view_host */
    const mha_extension *next; /* no view extensions are defined yet: NULL */
    void *data;                /* host pointer, or a device handle per `memory`; NULL = absent */
    mha_memory memory;
    uint64_t offset;           /* byte offset into a device buffer; 0 for host memory */
    mha_dtype dtype;
    int32_t rank;              /* 0 .. MHA_VIEW_MAX_RANK */
    int64_t shape[MHA_VIEW_MAX_RANK];
    int64_t strides[MHA_VIEW_MAX_RANK]; /* elements; all 0 = dense row-major */
} mha_view;

/* An absent view (data NULL) with struct_size set. */
MHA_API void mha_view_init(mha_view *view);
/* A dense host view (strides 0); dims past `rank` are 0. */
MHA_API mha_view mha_view_host(void *data, mha_dtype dtype, int32_t rank, const int64_t *shape);
/* Checks a view the way every call taking one does (struct_size, dtype known,
 * rank, sizes >= 0, strides >= 0, the extent addressable, host offset 0) and
 * writes the number of elements and the extent in elements (1 + the largest
 * offset reached; 0 for an empty view) where not NULL. `name` names the view
 * in the message. A NULL data pointer is INVALID here: absence is the
 * caller's call to make. */
MHA_API mha_status mha_view_check(const char *name, const mha_view *view, int64_t *elements,
                                  int64_t *extent);

/* ------------------------------------------------------------------------ */
/* Plugins and devices                                                       */
/* ------------------------------------------------------------------------ */
/* The registry is filled on first use by scanning, in order: the directories in
 * MHA_PLUGIN_PATH (':'-separated, absolute paths only: a relative entry is
 * recorded as a failure and ignored), the plugin folder beside libmha
 * (<libdir>/mha/plugins, which is both the install location and the build
 * tree's; resolved to an absolute path when libmha is loaded), and the
 * compiled-in install directory. Files named libmha_plugin_*.so are
 * candidates; the first plugin of a given name wins. A candidate that is not
 * a regular file, is owned by neither root nor this user, or is writable by
 * group or others (or sits in a folder that is, unless sticky) is refused, as
 * the dynamic loader's secure mode would. Broken candidates are recorded (see
 * mha_plugin_failure) and skipped. Plugins are initialised at their first use,
 * so listing them runs no driver. Plugin records and their strings stay valid
 * until mha_shutdown. */

typedef struct mha_plugin_info {
    size_t struct_size;
    const char *name;      /* "reference", "opencl"; owned by the registry */
    const char *version;   /* plugin's own version string */
    uint32_t abi_major, abi_minor;
    const char *path;      /* file it was loaded from */
    const char *description;
} mha_plugin_info;

/* Loads one plugin file explicitly (in addition to the scanned ones). */
MHA_API mha_status mha_plugin_load(const char *path);
MHA_API mha_status mha_plugin_count(size_t *count);
MHA_API mha_status mha_plugin_get_info(size_t index, mha_plugin_info *info);
/* Candidates that were rejected: path and reason (strings owned by the registry). */
MHA_API mha_status mha_plugin_failure_count(size_t *count);
MHA_API mha_status mha_plugin_failure(size_t index, const char **path, const char **reason);

typedef struct mha_device_info {
    size_t struct_size;
    char spec[64];          /* what to pass after "plugin:" to pick this device */
    char name[128];
    char vendor[64];
    char driver[64];
    char kind[16];          /* "cpu", "gpu", "accelerator", "other" */
    uint64_t memory_bytes;  /* 0 if unknown */
    uint32_t compute_units; /* 0 if unknown */
} mha_device_info;

MHA_API mha_status mha_plugin_device_count(const char *plugin_name, size_t *count);
MHA_API mha_status mha_plugin_device_info(const char *plugin_name, size_t index,
                                          mha_device_info *info);

/* Unloads every plugin. Fails with MHA_STATUS_BUSY while backends are open
 * (an attention object keeps its backend open) or another thread is inside a
 * call that uses a plugin. The registry is rebuilt on next use. */
MHA_API mha_status mha_shutdown(void);

/* ------------------------------------------------------------------------ */
/* Backends: a plugin bound to one device                                    */
/* ------------------------------------------------------------------------ */
typedef struct mha_backend mha_backend;

/* spec: "PLUGIN" or "PLUGIN:DEVICE" (device syntax is the plugin's, e.g.
 * "opencl:1", "opencl:0.1", "opencl:NVIDIA"). NULL or "" means the value of
 * MHA_BACKEND, or if unset the best plugin that has a device (highest score).
 * On success *out is owned by the caller: release it with mha_backend_close. */
MHA_API mha_status mha_backend_open(const char *spec, mha_backend **out);
/* mha_backend_open with plugin-specific options: an extension chain whose
 * types come from the plugin's header (for example MHA_OPENCL_EXT_CONTEXT in
 * include/mha/opencl.h: run on the caller's cl_context). options is borrowed
 * for the call; the plugin's header says what it keeps beyond. NULL options is
 * mha_backend_open(spec, out). A plugin that takes no options, or does not
 * know one of the types, fails with MHA_STATUS_UNSUPPORTED. */
MHA_API mha_status mha_backend_open_with(const char *spec, const mha_extension *options,
                                         mha_backend **out);
/* Releases the caller's reference. The backend (its plugin context and
 * device) lives on until its last attention object is destroyed; the caller
 * must not use the handle after this call either way. */
MHA_API void mha_backend_close(mha_backend *backend);

/* Strings are owned by the backend and live as long as it. */
MHA_API const char *mha_backend_plugin_name(const mha_backend *backend);
MHA_API mha_status mha_backend_device_info(const mha_backend *backend, mha_device_info *info);

/* Mask kinds, as bits of mha_capabilities.mask_kinds. */
enum {
    MHA_MASK_ATTN_BOOL_2D = 1u << 0,
    MHA_MASK_ATTN_BOOL_3D = 1u << 1,
    MHA_MASK_ATTN_FLOAT_2D = 1u << 2,
    MHA_MASK_ATTN_FLOAT_3D = 1u << 3,
    MHA_MASK_KEY_PADDING_BOOL = 1u << 4,
    MHA_MASK_KEY_PADDING_FLOAT = 1u << 5,
    MHA_MASK_CAUSAL_TOP_LEFT = 1u << 6,
    MHA_MASK_CAUSAL_BOTTOM_RIGHT = 1u << 7
};
#define MHA_MASK_ALL 0xffu

/* What a backend supports. The host checks every call against it and answers
 * MHA_STATUS_UNSUPPORTED before dispatch. */
typedef struct mha_capabilities {
    size_t struct_size;
    const mha_extension *next;
    uint32_t dtypes;        /* bit (1u << mha_dtype) per storage dtype for q/k/v/weights */
    uint32_t memory_kinds;  /* bit (1u << mha_memory) per accepted memory kind */
    uint32_t mask_kinds;    /* MHA_MASK_* bits */
    bool dropout;           /* training mode with dropout > 0 */
    bool need_weights;      /* attention weights output */
    bool add_bias_kv;
    bool add_zero_attn;
    bool separate_kv_dims;  /* kdim / vdim different from embed_dim */
    int64_t max_embed_dim;  /* 0 = no limit */
    int64_t max_sequence;   /* max of L and S', 0 = no limit */
    const uint32_t *extension_types; /* accepted extension types; owned by the plugin */
    size_t extension_type_count;
    /* ---- ABI 1.1: the attention core (include/mha/core.h) ---- */
    uint32_t core_features;  /* MHA_CORE_* bits (core.h); 0 = no core */
    uint32_t core_dtypes;    /* bit (1u << mha_dtype) per storage dtype of the core */
} mha_capabilities;

MHA_API mha_status mha_backend_capabilities(const mha_backend *backend, mha_capabilities *caps);

/* ------------------------------------------------------------------------ */
/* Attention objects: configuration + weights, uploaded once                 */
/* ------------------------------------------------------------------------ */
typedef struct mha_config {
    size_t struct_size;
    const mha_extension *next;
    int64_t embed_dim;   /* E */
    int64_t num_heads;   /* H; E % H == 0 */
    int64_t kdim;        /* 0 means E */
    int64_t vdim;        /* 0 means E */
    bool bias;           /* in_proj_bias and out_proj.bias present (PyTorch default true) */
    bool add_bias_kv;
    bool add_zero_attn;
    bool batch_first;
    float dropout;       /* probability in [0, 1), applied in training mode only */
} mha_config;

/* Sets struct_size and PyTorch's defaults: bias = true, everything else 0. */
MHA_API void mha_config_init(mha_config *config, int64_t embed_dim, int64_t num_heads);

/* Weights with PyTorch's state_dict names; all row-major float32 host arrays
 * (MHA_MEMORY_HOST), copied during mha_attention_create. */
typedef struct mha_weights {
    size_t struct_size;
    const mha_extension *next;
    const float *in_proj_weight;  /* (3E, E), rows q|k|v; when kdim == vdim == E */
    const float *q_proj_weight;   /* (E, E)    \  instead of in_proj_weight:   */
    const float *k_proj_weight;   /* (E, kdim)  } required when kdim or vdim    */
    const float *v_proj_weight;   /* (E, vdim) /  differ from E                 */
    const float *in_proj_bias;    /* (3E); required iff config.bias */
    const float *out_proj_weight; /* (E, E) "out_proj.weight" */
    const float *out_proj_bias;   /* (E) "out_proj.bias"; required iff config.bias */
    const float *bias_k;          /* (1, 1, E); required iff add_bias_kv */
    const float *bias_v;          /* (1, 1, E); required iff add_bias_kv */
} mha_weights;

MHA_API void mha_weights_init(mha_weights *weights);

typedef struct mha_attention mha_attention;

/* The attention object holds a reference to its backend (ABI 1.1): the
 * backend may be closed first, and is then destroyed with its last attention
 * object (mha_backend_close returns at once and the handle must not be used
 * again by the caller). One attention object must not be used by two threads
 * at once; distinct objects of one backend may. */
MHA_API mha_status mha_attention_create(mha_backend *backend, const mha_config *config,
                                        const mha_weights *weights, mha_attention **out);
MHA_API void mha_attention_destroy(mha_attention *attention);

/* ------------------------------------------------------------------------ */
/* Forward                                                                   */
/* ------------------------------------------------------------------------ */
typedef enum mha_causal {
    MHA_CAUSAL_NONE = 0,
    /* query i sees keys j <= i (PyTorch SDPA is_causal) */
    MHA_CAUSAL_TOP_LEFT = 1,
    /* query i sees keys j <= i + (S - L): the last query sees every key, as in
     * incremental decoding with L < S */
    MHA_CAUSAL_BOTTOM_RIGHT = 2
} mha_causal;

typedef struct mha_forward_args {
    size_t struct_size;
    const mha_extension *next;
    /* inputs */
    mha_tensor query;            /* (L, N, E), (N, L, E) if batch_first, or (L, E) */
    mha_tensor key;              /* (S, N, kdim) ... or (S, kdim) */
    mha_tensor value;            /* (S, N, vdim) ... or (S, vdim) */
    mha_tensor key_padding_mask; /* optional: (N, S) or (S); bool true = ignore, or float added */
    mha_tensor attn_mask;        /* optional: (L, S) or (N*H, L, S); bool true = masked, or float added */
    mha_causal causal;
    bool need_weights;
    bool average_attn_weights;   /* default true (mha_forward_args_init) */
    bool training;               /* dropout only when true and config.dropout > 0 */
    uint64_t dropout_seed;       /* key of the Philox stream (docs/semantics.md) */
    /* outputs, caller-owned; shapes are checked against the expected ones.
     * An output sharing a byte with an input or with the other output is
     * refused (MHA_STATUS_INVALID_VALUE); for cl_mem tensors that means the
     * same buffer at overlapping offsets (sub-buffers of one parent are not
     * compared). */
    mha_tensor attn_output;      /* same layout as query with E columns */
    mha_tensor attn_weights;     /* when need_weights: (N, L, S') or (N, H, L, S'), unbatched drops N */
} mha_forward_args;

MHA_API void mha_forward_args_init(mha_forward_args *args);

/* Fills the expected shapes of attn_output and attn_weights for these inputs
 * (dtype, rank and shape only; data untouched). Useful to allocate outputs. */
MHA_API mha_status mha_attention_output_shapes(const mha_attention *attention,
                                               const mha_forward_args *args,
                                               mha_tensor *attn_output, mha_tensor *attn_weights);

MHA_API mha_status mha_attention_forward(mha_attention *attention, const mha_forward_args *args);

/* ------------------------------------------------------------------------ */
/* Statistics, for benchmarks and tuning                                     */
/* ------------------------------------------------------------------------ */
#define MHA_MAX_STAGES 8

/* What an attention object has done. Plugins that keep no statistics leave
 * every field 0 (stage_count 0); the host checks stats_supported. */
typedef struct mha_attention_stats {
    size_t struct_size;
    bool stats_supported;          /* false: the plugin keeps no statistics */
    uint64_t device_allocations;   /* device buffers allocated since creation (weights included) */
    uint64_t device_bytes;         /* device memory held now: weights + scratch */
    uint64_t device_bytes_peak;    /* the most it has held */
    /* Device time of each stage of the last forward, when the plugin measures
     * them (e.g. OpenCL profiling events); names are static strings. */
    uint32_t stage_count;
    struct {
        const char *name;          /* "projections", "scores", "softmax", "pv", "output", ... */
        double milliseconds;
        bool is_gemm;              /* part of the GEMM-only lower bound */
    } stages[MHA_MAX_STAGES];
} mha_attention_stats;

MHA_API mha_status mha_attention_get_stats(const mha_attention *attention,
                                           mha_attention_stats *stats);

/* ------------------------------------------------------------------------ */
/* Published struct sizes                                                   */
/* ------------------------------------------------------------------------ */
/* The size of each struct as ABI 1.0 published it: the smallest struct_size
 * libmha accepts from a caller. A struct only grows at its end (docs/abi.md);
 * libmha copies a caller's struct into a zeroed one of its current size
 * before a plugin sees it, so a field appended later reads as 0 (its default)
 * for an older caller. Pinned by _Static_assert in libmha's sources. */
#define MHA_CONFIG_SIZE_V1 (offsetof(mha_config, dropout) + sizeof(float))
#define MHA_WEIGHTS_SIZE_V1 (offsetof(mha_weights, bias_v) + sizeof(const float *))
#define MHA_FORWARD_ARGS_SIZE_V1 (offsetof(mha_forward_args, attn_weights) + sizeof(mha_tensor))
#define MHA_PLUGIN_INFO_SIZE_V1 (offsetof(mha_plugin_info, description) + sizeof(const char *))
#define MHA_DEVICE_INFO_SIZE_V1 (offsetof(mha_device_info, compute_units) + sizeof(uint32_t))
#define MHA_CAPABILITIES_SIZE_V1 \
    (offsetof(mha_capabilities, extension_type_count) + sizeof(size_t))
#define MHA_STATS_SIZE_V1 \
    (offsetof(mha_attention_stats, stages) + sizeof(((mha_attention_stats *)0)->stages))
#define MHA_ALLOCATOR_SIZE_V1 (offsetof(mha_allocator, user) + sizeof(void *))
#define MHA_EXTENSION_SIZE_V1 (offsetof(mha_extension, next) + sizeof(void *))
/* ABI 1.1 */
#define MHA_VIEW_SIZE_V1 (offsetof(mha_view, strides) + sizeof(((mha_view *)0)->strides))

#ifdef __cplusplus
}
#endif
#endif /* MHA_MHA_H */
