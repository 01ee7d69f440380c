/*
 * internal.h - shared declarations of the OpenCL plugin (not installed).
 * docs/opencl.md has the long form (pipeline, programs, settings, tests).
 *
 * Files, one role each:
 *   plugin.c     entry point, function table, describe/init/shutdown/score
 *   errors.c     cl_int / CLBlastStatusCode -> mha_status, with the error's name
 *   settings.c   the developer settings (environment), read once per context
 *   platform.c   platform and device enumeration, device specs, device_info
 *   device_rules.c  a device's kind, OpenCL version, default choice, loop cap
 *                (pure functions, device_rules.h)
 *   limits.c     the device's limits (memory, work-group sizes), capped for
 *                tests by MHA_OPENCL_LIMITS, and the checks against them
 *   kernels.h    the table of kernels and the programs they are built in
 *   program.c    building one program (cl/shared.h + philox.cl + common.cl +
 *                its source), build log on failure, INFO messages on a build
 *   cache.c      on-disk cache of program binaries, one entry per program
 *   tuning.c     CLBlast tuning parameters from a file (bench/tune-clblast.sh)
 *   context.c    contexts (one device; its programs, built when first needed)
 *                and their capabilities
 *   faults.c     the fault points of the test hook (faults.h, not installed)
 *   buffer.c     growable device buffers and the allocation counter
 *   attention.c  attention objects: queue, kernels, weights uploaded once
 *   path.c       the path rules: which kernels a call runs (pure, path.h)
 *   forward.c    the step sequence of a forward; its steps share one
 *                per-call context (call.h) and live in:
 *     launch.c     kernel arguments and launches, profiling marks, the queue
 *     views.c      device views of tensors, uploads, downloads, scratch
 *     layout.c     the CLBlast layout: transposes, padding, projections, GEMMs
 *     heads.c      splitting the projections into heads, merging them back
 *     gemm.c       the GEMM path (and the softmax + weights it shares)
 *     fused.c      the fused path
 *     flash.c      the flash path
 *     absorbed.c   the absorbed path
 * Kernels: cl/ (shared.h, philox.cl, common.cl, attention.cl, fused.cl,
 * absorbed.cl).
 */
#ifndef MHA_OPENCL_INTERNAL_H
#define MHA_OPENCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif

#include <CL/cl.h>
#include <clblast_c.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "device_rules.h"
#include "faults.h"
#include "mha/opencl.h"
#include "mha/plugin.h"
#include "kernels.h"
#include "path.h"
#include "shared.h" /* cl/shared.h: constants shared with the kernels */

/* The host's services, set by mha_plugin_entry. Every host allocation, error
 * and trace goes through it. */
extern const mha_host_services *ocl_host;

typedef struct ocl_context ocl_context; /* context.c */

#define OCL_PLUGIN_NAME "opencl"
#define OCL_PLUGIN_VERSION "0.1.0"

/* cl/shared.h's causal kinds are mha_causal's values, passed as they are. */
_Static_assert(OCL_CAUSAL_NONE == MHA_CAUSAL_NONE && OCL_CAUSAL_TOP_LEFT == MHA_CAUSAL_TOP_LEFT &&
                   OCL_CAUSAL_BOTTOM_RIGHT == MHA_CAUSAL_BOTTOM_RIGHT,
               "cl/shared.h's OCL_CAUSAL_* must equal mha_causal");

/* ---- errors.c ------------------------------------------------------------ */
/* "CL_OUT_OF_RESOURCES"; "CL_UNKNOWN_ERROR" for codes not in the table. */
const char *ocl_cl_error_name(cl_int err);
const char *ocl_clblast_error_name(CLBlastStatusCode status);
mha_status ocl_cl_status(cl_int err);
/* Records "what: NAME (code)" and returns the mapped status. */
mha_status ocl_cl_fail(cl_int err, const char *what);
mha_status ocl_clblast_fail(CLBlastStatusCode status, const char *what);
mha_status ocl_out_of_host_memory(const char *what);

/* ---- limits.c ------------------------------------------------------------ */
/* A device's limits as the plugin obeys them: read once per device
 * (ocl_device_limits_read, from ocl_device_describe), then capped per context
 * by MHA_OPENCL_LIMITS (a developer setting, for tests: ocl_context.limits).
 * A value the driver does not report is 0: no check is made against it. */
typedef struct ocl_device_limits {
    uint64_t max_alloc;       /* CL_DEVICE_MAX_MEM_ALLOC_SIZE: bytes of one buffer */
    uint64_t global_mem;      /* CL_DEVICE_GLOBAL_MEM_SIZE: bytes of all buffers */
    uint64_t local_mem;       /* CL_DEVICE_LOCAL_MEM_SIZE: bytes per work-group */
    size_t max_work_group;    /* CL_DEVICE_MAX_WORK_GROUP_SIZE: work-items per group */
    unsigned work_item_dims;  /* CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS (at least 3) */
    /* CL_DEVICE_MAX_WORK_ITEM_SIZES of dimensions 0-2 (the plugin launches
     * no more), read as an array of work_item_dims entries */
    size_t max_work_item[3];
    size_t base_addr_align;   /* CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bytes (the
                               * device reports bits) */
} ocl_device_limits;

void ocl_device_limits_read(cl_device_id device, ocl_device_limits *out);
/* `limits` lowered to the non-zero entries of `caps` (MHA_OPENCL_LIMITS); a
 * work-group cap also caps the work-item sizes. */
void ocl_device_limits_cap(ocl_device_limits *limits, const ocl_device_limits *caps);
/* "8589934592 bytes = 8.0 GiB" (bytes alone under 1 KiB). */
void ocl_format_bytes(uint64_t bytes, char *text, size_t cap);
/* OUT_OF_MEMORY naming the buffer `what`, its size as `formula` (e.g.
 * "N*H*L*S' floats") and in bytes, when it is more than max_alloc. */
mha_status ocl_limits_check_buffer(const ocl_device_limits *limits, const char *what,
                                   const char *formula, uint64_t bytes);
/* OUT_OF_MEMORY when `bytes` of device memory, all that `what` (e.g. "the
 * call") holds at once, are more than global_mem. */
mha_status ocl_limits_check_total(const ocl_device_limits *limits, const char *what,
                                  uint64_t bytes);
/* UNSUPPORTED naming the sizes when a launch of `kernel` in work-groups of
 * `local` work-items (0: the driver's choice, not checked) exceeds the
 * kernel's CL_KERNEL_WORK_GROUP_SIZE, the device's work-group or work-item
 * size, or when the kernel's local memory (its __local arguments as set)
 * exceeds local_mem. */
mha_status ocl_limits_check_launch(const ocl_device_limits *limits, cl_device_id device,
                                   cl_kernel kernel, const char *name, size_t local);

/* ---- settings.c ---------------------------------------------------------- */
/* The developer settings a context reads from the environment when it is
 * created (settings.c says why then; docs/opencl.md lists them). Strings are
 * own copies (host->alloc), NULL when unset or empty. */
typedef struct ocl_settings {
    char *device;        /* MHA_OPENCL_DEVICE: the device of an empty spec */
    bool gemm_only;      /* MHA_OPENCL_GEMM_ONLY=1: forwards enqueue their GEMMs only */
    char *cache_dir;     /* the program cache (MHA_OPENCL_CACHE_DIR, XDG_CACHE_HOME,
                          * HOME); NULL: off */
    char *tuning_file;   /* MHA_OPENCL_TUNING_FILE ("off": none) */
    char *build_options; /* MHA_OPENCL_BUILD_OPTIONS, appended to the build options */
    /* MHA_OPENCL_LIMITS: caps on the device's limits (0: not capped); the
     * max_alloc, global_mem, local_mem, max_work_group fields only */
    ocl_device_limits limit_caps;
} ocl_settings;

mha_status ocl_settings_read(ocl_settings *s);
void ocl_settings_free(ocl_settings *s);
/* MHA_OPENCL_ATTENTION and MHA_OPENCL_SOFTMAX, read per attention object. */
void ocl_settings_forced(ocl_path *path, ocl_softmax *softmax);
/* MHA_OPENCL_FLASH, the flash kernels' tiles, read per attention object; a
 * bad item is INVALID_VALUE, named. */
mha_status ocl_settings_flash(ocl_flash_tiles *tiles);
/* MHA_OPENCL_CORE, the core's query kernel, and MHA_OPENCL_CORE_SPLITS, the
 * tiled kernel's split-K pieces, read per core call: unset or empty: chosen
 * by the device (*splits 0); "rows" or "tiled", and 1..OCL_CORE_SPLITS_MAX:
 * forced; anything else is INVALID_VALUE, named. */
mha_status ocl_settings_core(ocl_core_kernel *kernel, unsigned *splits);

/* ---- platform.c ---------------------------------------------------------- */
typedef struct ocl_device {
    cl_platform_id platform;
    cl_device_id device;
    cl_device_type type;
    ocl_device_kind kind; /* ocl_device_kind_of(type): info.kind and the path rules */
    bool usable;          /* OpenCL 1.2 or later (CL_DEVICE_VERSION, in version) */
    char version[64];
    uint32_t loop_cap;    /* loop iterations per work-item, 0: no cap known */
    unsigned platform_index, device_index;
    mha_device_info info; /* spec "P.D", name, vendor, driver, kind, memory, units */
    ocl_device_limits limits; /* as the driver reports them (not capped) */
} ocl_device;

mha_status ocl_devices_init(void);
void ocl_devices_shutdown(void);
size_t ocl_devices_count(void);
const ocl_device *ocl_devices_at(size_t index);
/* Resolves a device spec (docs/opencl.md, "Devices and specs"); an empty
 * spec takes `env_spec` (MHA_OPENCL_DEVICE) when it is not NULL. */
mha_status ocl_devices_find(const char *spec, const char *env_spec, const ocl_device **out);
int ocl_devices_score(void);
/* Fills d->info, d->type, d->kind, d->usable, d->version, d->loop_cap and
 * d->limits from d->device, d->platform and the indices. */
void ocl_device_describe(ocl_device *d);
/* Copies `src` into the caller's `dst`, honouring dst->struct_size. */
void ocl_device_info_copy(mha_device_info *dst, const mha_device_info *src);
/* UNSUPPORTED naming the device and its version when it is below OpenCL
 * 1.2, else OK. */
mha_status ocl_device_check_version(const ocl_device *d);

/* ---- faults.c ------------------------------------------------------------ */
/* A fault point of the test hook (faults.h; NULL: none attached): CL_SUCCESS,
 * or the error to report instead of making the call named `what`. */
cl_int ocl_fault_at(mha_opencl_faults *faults, const char *what);

/* ---- program.c ----------------------------------------------------------- */
/* Where a program is built: what program.c needs of a context (it does not
 * know ocl_context: context.c calls it, not the other way round). */
typedef struct ocl_build_target {
    cl_context cl;
    const ocl_device *device;
    const ocl_settings *settings;
    mha_opencl_faults *faults; /* the test hook, or NULL */
} ocl_build_target;
/* Builds program `id` of the kernel table for t->device in t->cl (or loads
 * it from the binary cache). On failure the message carries the (truncated)
 * build log. Not thread-safe for one target: context.c serialises. */
mha_status ocl_program_build(const ocl_build_target *t, ocl_program_id id, cl_program *out);

/* ---- cache.c ------------------------------------------------------------- */
uint64_t ocl_hash_bytes(uint64_t h, const void *data, size_t size); /* FNV-1a 64 */
/* The cache file opencl-<program>-<key>.bin in the settings' cache
 * directory; false when the cache is off or unusable. */
bool ocl_cache_path(const ocl_settings *s, const char *program, uint64_t key, char *path,
                    size_t cap);
/* The path of the file `name` in the cache directory (created); false when
 * the cache is off or unusable. */
bool ocl_cache_file(const ocl_settings *s, const char *name, char *path, size_t cap);
/* Whether `dir` is a directory owned by this user and not writable by group
 * or others (traced when not). */
bool ocl_cache_dir_usable(const char *dir);
/* A WARNING (host log) naming the settings' cache directory and its owner
 * or mode when it exists but is not private: the cache is then off. Once per
 * context, when it is created. */
void ocl_cache_dir_warn(const ocl_settings *s);
/* Opens `path` for reading with O_NOFOLLOW | O_NONBLOCK: NULL (traced, with
 * `what` as the subject) unless it is a regular file and, when
 * `private_file`, owned by this user and not writable by group or others. */
FILE *ocl_cache_open(const char *path, bool private_file, const char *what);
/* The payload of a valid entry (host->free it), or NULL. */
void *ocl_cache_load(const char *path, uint64_t key, size_t *size);
/* Writes an entry atomically (mkstemp in the cache directory, 0600, + rename);
 * failures are traced. */
void ocl_cache_store(const char *path, uint64_t key, const void *data, size_t size);

/* ---- tuning.c ------------------------------------------------------------ */
/* Applies the CLBlast parameters of settings->tuning_file, else of the
 * device's file in the cache directory, when there is one, and returns in
 * *flash the flash tiles of its "kernel mha_flash" line (all 0 without one).
 * A problem with the cache directory's file is traced; with an explicitly
 * named one it is an error (INVALID_VALUE, UNSUPPORTED past the device's
 * limits, or IO_ERROR when it cannot be read). */
mha_status ocl_tuning_apply(const ocl_device *dev, const ocl_settings *settings,
                            ocl_flash_tiles *flash);
/* The file name of a device's tuning file in the cache directory:
 * clblast-<name>-<driver>.txt, characters outside [A-Za-z0-9._-] as '_'. */
void ocl_tuning_file_name(const ocl_device *dev, char *name, size_t cap);

/* ---- context.c ----------------------------------------------------------- */
struct ocl_context {
    const ocl_device *device; /* platform.c's, or &own_device */
    ocl_device own_device;    /* a caller's device that init() did not list */
    cl_context cl;            /* own, or the caller's (retained) */
    /* Built when first needed (ocl_context_program), under program_lock:
     * attention objects of one context may run on different threads.
     * OCL_PROGRAM_COMMON is built with the context, which every call needs. */
    cl_program programs[OCL_PROGRAM_COUNT];
    pthread_mutex_t program_lock;
    bool program_lock_ready;
    cl_command_queue queue;   /* the caller's default queue (retained), or NULL */
    bool queue_profiling;     /* queue has CL_QUEUE_PROFILING_ENABLE */
    mha_opencl_faults *faults; /* the caller's test hook, or NULL */
    bool gemm_only;           /* settings.gemm_only */
    ocl_settings settings;    /* read at creation */
    /* the device's limits capped by settings.limit_caps: what every call
     * checks against (limits.c) */
    ocl_device_limits limits;
    /* the flash tiles of the device's tuning file (tuning.c; 0: none), below
     * MHA_OPENCL_FLASH's */
    ocl_flash_tiles flash_tuning;
    /* bytes of every buffer of buffer.c on this context (all its attention
     * objects'), what the global-memory checks count as held */
    _Atomic uint64_t device_bytes;
};

mha_status ocl_context_create(const char *device_spec, void **context);
mha_status ocl_context_create_with(const char *device_spec, const mha_extension *options,
                                   void **context);
void ocl_context_destroy(void *context);
mha_status ocl_context_capabilities(void *context, mha_capabilities *caps);
mha_status ocl_context_device_info(void *context, mha_device_info *info);
/* The context's program `id`, built (or loaded from the cache) at the first
 * request; a failed build is reported and tried again at the next request.
 * Thread-safe. */
mha_status ocl_context_program(ocl_context *ctx, ocl_program_id id, cl_program *out);
/* Kernel `name` of `program` (a fault point); when the driver refuses, the
 * error's status with the kernel and the error named, *out NULL. */
mha_status ocl_create_kernel(ocl_context *ctx, cl_program program, const char *name,
                             cl_kernel *out);
/* Checks that a caller's queue is in-order and on the context's cl_context
 * and device; *profiling tells whether it has CL_QUEUE_PROFILING_ENABLE. */
mha_status ocl_check_queue(const ocl_context *ctx, cl_command_queue queue, const char *what,
                           bool *profiling);

/* A fault point of ctx's test hook (faults.h): CL_SUCCESS, or the error to
 * report instead of making the call named `what`. */
static inline cl_int ocl_fault(ocl_context *ctx, const char *what)
{
    return ocl_fault_at(ctx->faults, what);
}
/* Accounting of the events the plugin creates and releases. */
void ocl_event_created(ocl_context *ctx);
void ocl_event_release(ocl_context *ctx, cl_event event);

/* ---- buffer.c ------------------------------------------------------------ */
typedef struct ocl_buffer {
    cl_mem mem;
    size_t size; /* bytes */
} ocl_buffer;

typedef struct ocl_alloc_stats {
    uint64_t allocations; /* clCreateBuffer calls that succeeded */
    uint64_t bytes;       /* bytes currently held */
    uint64_t bytes_peak;  /* the most bytes held at once */
} ocl_alloc_stats;

/* Makes buf at least `bytes` large (never shrinks); counts the allocation. */
mha_status ocl_buffer_reserve(ocl_context *ctx, ocl_alloc_stats *stats, ocl_buffer *buf,
                              size_t bytes, const char *what);
/* Creates a buffer of exactly `bytes`, counted. */
mha_status ocl_buffer_create(ocl_context *ctx, ocl_alloc_stats *stats, ocl_buffer *buf,
                             cl_mem_flags flags, size_t bytes, const char *what);
void ocl_buffer_release(ocl_context *ctx, ocl_alloc_stats *stats, ocl_buffer *buf);

/* ---- attention.c --------------------------------------------------------- */



typedef struct ocl_attention {
    ocl_context *context; /* borrowed; outlives the attention object */
    cl_command_queue queue; /* own queue (attention objects run in parallel), or
                             * the context's caller queue, retained */
    bool queue_profiling;
    /* Completes when the last call is done (the next call waits for it when
     * it runs on another queue); NULL before the first call. */
    cl_event last_event;
    cl_command_queue last_queue;
    /* own instances, indexed by ocl_kernel_id (kernels.h) */
    cl_kernel kernels[OCL_KERNEL_COUNT];
    size_t softmax_wg_max;
    ocl_softmax softmax; /* forced by MHA_OPENCL_SOFTMAX, else OCL_SOFTMAX_AUTO */
    ocl_path path;       /* forced by MHA_OPENCL_ATTENTION, else OCL_PATH_AUTO
                          * (both read at creation: ocl_settings_forced) */
    ocl_flash_tiles flash; /* MHA_OPENCL_FLASH, else the tuning file's (0: the plugin's choice) */

    int64_t E, H, D, kdim, vdim;
    bool bias, add_bias_kv, add_zero_attn;
    float dropout;

    /* The projection weights transposed, each in a buffer of its own (offset
     * 0): Wq^T (E, E), Wk^T (kdim, E), Wv^T (vdim, E), Wo^T (E, E), the
     * layout CLBlast's GEMM kernel reads without copying (layout.c). */
    ocl_buffer w_q, w_k, w_v, w_o;
    /* The biases in one buffer; offsets in floats:
     * b_in (3E) | bo (E) | bias_k (E) | bias_v (E) */
    ocl_buffer biases;
    size_t off_bin, off_bo, off_bias_k, off_bias_v;

    /* Scratch, grown on demand and reused. x_*: uploaded inputs; xt_*: the
     * inputs transposed and padded for the projections (xt_q also serves the
     * merged heads before the output projection); proj_*: projections. */
    ocl_buffer x_q, x_k, x_v, xt_q, xt_k, xt_v, proj_q, proj_k, proj_v;
    ocl_buffer q_h, k_h, v_h, scores, row_scale, o_h, ocat, y, out, avg;
    ocl_buffer attn_mask, kpm, gemm_temp;

    ocl_alloc_stats stats;

    /* Profiling of the last forward (see launch.c): marks[0] ends the
     * uploads, marks[i] ends stage i-1. Resolved into stage_ms lazily. */
    cl_event marks[MHA_MAX_STAGES + 1];
    unsigned mark_count;           /* 0: no stage times for the last forward */
    const char *stage_names[MHA_MAX_STAGES];
    bool stage_gemm[MHA_MAX_STAGES];
    double stage_ms[MHA_MAX_STAGES];
    unsigned stage_count;          /* resolved stage times in stage_ms */
} ocl_attention;

mha_status ocl_attention_create(void *context, const mha_config *config,
                                const mha_weights *weights, void **attention);
void ocl_attention_destroy(void *attention);
mha_status ocl_attention_stats(void *attention, mha_attention_stats *stats);
/* Releases the profiling events of the last forward. */
void ocl_attention_drop_marks(ocl_attention *att);
/* Creates the attention object's kernels of program `id` unless it has
 * them (building the program first if the context has not): all of them,
 * or none and a status. */
mha_status ocl_attention_kernels(ocl_attention *att, ocl_program_id id);

/* ---- forward.c ----------------------------------------------------------- */
mha_status ocl_attention_forward(void *attention, const mha_problem *problem,
                                 const mha_forward_args *args);

#endif /* MHA_OPENCL_INTERNAL_H */
