/*
 * run_job.h - one `mha run` job: its options, parsed from command-line words,
 * and its execution through the public API on .npy inputs. Shared by the mha
 * command line (host/cli) and the tests that replay PyTorch-made cases.
 */
#ifndef MHA_RUN_JOB_H
#define MHA_RUN_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "mha/mha.h"
#include "npy.h"

typedef struct run_options {
    mha_config config;            /* embed_dim, num_heads, kdim, vdim, flags, dropout */
    const char *plugin;           /* --plugin, NULL = default */
    const char *device;           /* --device, NULL = plugin default */
    const char *weights_dir;      /* --weights DIR */
    const char *query_path, *key_path, *value_path;
    const char *attn_mask_path;   /* NULL if absent */
    const char *key_padding_mask_path;
    mha_causal causal;            /* --causal [--causal-align top-left|bottom-right] */
    bool need_weights;            /* --need-weights */
    bool average_attn_weights;    /* false with --no-average-weights */
    const char *weights_out_path; /* --weights-out */
    bool training;                /* true when --dropout P > 0 was given */
    unsigned long long seed;      /* --seed */
    const char *out_path;         /* --out */
    /* Appended: strings allocated by run_options_parse (paths resolved
     * against base_dir); freed by run_options_free. Not for callers. */
    char *owned_[12];
    int owned_count_;
} run_options;

/* Parses the words after "run" (argv[0] is the first option). Strings point
 * into argv. Paths may be made relative to `base_dir` when it is non-NULL
 * (used by tests replaying a case folder). On error returns
 * MHA_STATUS_INVALID_VALUE with a one-line message in err. */
mha_status run_options_parse(int argc, char **argv, const char *base_dir, run_options *out,
                             char *err, size_t err_size);
void run_options_free(run_options *options);

/* Result of a job: output arrays (float32), owned by the caller. */
typedef struct run_result {
    npy_array output;
    npy_array weights;  /* dtype NONE unless need_weights */
} run_result;

/* Loads the inputs and weights named by `options`, creates the attention
 * object on `backend`, runs one forward and returns the outputs. Writes
 * nothing to disk. On error returns the status and a one-line message. */
mha_status run_job_execute(const run_options *options, mha_backend *backend, run_result *out,
                           char *err, size_t err_size);
void run_result_free(run_result *result);

#endif
