/*
 * small_forwards.c - a fixed set of small forwards on the OpenCL plugin,
 * each compared with the reference plugin, under every path and softmax
 * kernel named on the command line. Sized for Oclgrind (about a thousand
 * times slower than PoCL), on which oclgrind_check.sh runs it: the point is
 * that every kernel of every path runs at least once under the simulator's
 * checks, with every mask kind, causal both ways, weights (averaged and per
 * head), dropout, bias_kv / zero_attn rows, kdim / vdim, batch-first and
 * unbatched inputs, fully masked rows, head widths up to 128, and more than
 * one work-item or work-group where a kernel tiles its rows.
 *
 * Usage: small_forwards CONFIG...   where CONFIG is PATH or PATH:SOFTMAX,
 * PATH a value of MHA_OPENCL_ATTENTION ("default": unset) and SOFTMAX one of
 * MHA_OPENCL_SOFTMAX. Both are read when an attention object is created, so
 * one process (one build of CLBlast's kernels) runs them all.
 *
 * Every attention object (and with it its device buffers) is kept until the
 * end of the run, not destroyed after its case: Oclgrind 21.10's
 * uninitialised-value checker keeps the state of a released buffer and
 * applies it to the next buffer given the same index (Oclgrind reuses the
 * indices of released buffers), so that a case's buffers would inherit the
 * state of the previous case's: values our kernels wrote reported as
 * unwritten, or the reverse (docs/portability.md). Kept, no attention's
 * buffer is released before the end, and each starts unwritten, as it is.
 *
 * Progress goes to stderr, unbuffered, so that a diagnostic of Oclgrind's
 * (also on stderr) follows the line of the case that caused it. Exit status:
 * 0 every case within tolerance, 1 otherwise, 77 when there is no OpenCL
 * device.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "testkit_case.h"
#include "testkit_compare.h"

#define CASE_COUNT 15

/* Case k of the set; the data come from tk_case_fill with seed 100 + k. */
static void make_case(tk_case *c, int k)
{
    memset(c, 0, sizeof *c);
    c->bias = true;
    c->N = 2, c->batched = true;
    switch (k) {
    case 0: /* self-attention, bool padding, causal top-left */
        c->E = 8, c->H = 2, c->L = c->S = 5;
        c->self_attention = true, c->kpm = TK_MASK_BOOL, c->causal = MHA_CAUSAL_TOP_LEFT;
        break;
    case 1: /* cross, kdim / vdim, 3-D float mask, bottom-right, per-head weights */
        c->E = 6, c->H = 3, c->kdim = 5, c->vdim = 7, c->L = 3, c->S = 7;
        c->attn_mask = TK_MASK_FLOAT, c->attn_mask_3d = true;
        c->causal = MHA_CAUSAL_BOTTOM_RIGHT, c->need_weights = true;
        break;
    case 2: /* batch-first, 2-D bool mask and float padding, averaged weights */
        c->E = 8, c->H = 2, c->L = 4, c->S = 6, c->batch_first = true;
        c->attn_mask = TK_MASK_BOOL, c->kpm = TK_MASK_FLOAT;
        c->need_weights = true, c->average = true;
        break;
    case 3: /* dropout with averaged weights */
        c->E = 8, c->H = 2, c->L = c->S = 5, c->self_attention = true;
        c->training = true, c->dropout = 0.3f, c->seed = 0x1234567887654321ull;
        c->need_weights = true, c->average = true;
        break;
    case 4: /* dropout, no weights (the kernels that defer the 1/sum) */
        c->E = 12, c->H = 3, c->L = 4, c->S = 9, c->kpm = TK_MASK_BOOL;
        c->training = true, c->dropout = 0.5f, c->seed = 7;
        break;
    case 5: /* bias_kv and zero_attn rows, causal top-left, per-head weights */
        c->E = 8, c->H = 2, c->L = 3, c->S = 4, c->add_bias_kv = true, c->add_zero_attn = true;
        c->kpm = TK_MASK_BOOL, c->causal = MHA_CAUSAL_TOP_LEFT, c->need_weights = true;
        break;
    case 6: /* unbatched decoding step over 50 keys (flash: several key blocks), no bias */
        c->N = 1, c->batched = false, c->bias = false;
        c->E = 8, c->H = 2, c->L = 1, c->S = 50;
        break;
    case 7: /* fully masked rows: every key of the second batch entry padded */
        c->E = 8, c->H = 2, c->L = 3, c->S = 5, c->kpm_tail = 5, c->need_weights = true;
        break;
    case 8: /* key == value, a long softmax row (loops of the work-group kernel) */
        c->N = 1, c->E = 4, c->H = 1, c->L = 2, c->S = 77, c->kv_same = true;
        c->attn_mask = TK_MASK_FLOAT, c->need_weights = true, c->average = true;
        break;
    case 9: /* 26 queries: two blocks of the fused kernels, partial 8x8 weight tiles */
        c->N = 1, c->E = 4, c->H = 2, c->L = c->S = 26, c->self_attention = true;
        c->causal = MHA_CAUSAL_TOP_LEFT, c->need_weights = true;
        break;
    case 10: /* 260 softmax rows (N*H*L): two work-items of mha_softmax_items */
        c->N = 1, c->E = 2, c->H = 2, c->L = 130, c->S = 3, c->kpm = TK_MASK_BOOL;
        break;
    case 12: /* head width 32, 64, 128: each width class of the flash kernels */
    case 13:
    case 14:
        c->N = 1, c->H = 1, c->E = 32 << (k - 12), c->L = 3, c->S = 5, c->kpm = TK_MASK_BOOL;
        c->causal = MHA_CAUSAL_BOTTOM_RIGHT;
        break;
    default: /* float masks both, bottom-right with L > S, dropout, per-head weights */
        c->E = 6, c->H = 2, c->L = 6, c->S = 4, c->attn_mask = TK_MASK_FLOAT;
        c->kpm = TK_MASK_FLOAT, c->causal = MHA_CAUSAL_BOTTOM_RIGHT;
        c->training = true, c->dropout = 0.25f, c->seed = 99, c->need_weights = true;
        break;
    }
    if (c->kdim == 0)
        c->kdim = c->E;
    if (c->vdim == 0)
        c->vdim = c->E;
    if (c->self_attention)
        c->S = c->L;
}

/* The stage names of the last call (which path ran), into buf. */
static void stage_names(const mha_attention *att, char *buf, size_t size)
{
    mha_attention_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    buf[0] = '\0';
    if (mha_attention_get_stats(att, &st) != MHA_STATUS_OK || !st.stats_supported)
        return;
    size_t used = 0;
    for (uint32_t i = 0; i < st.stage_count && used + 1 < size; ++i) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? " " : "", st.stages[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Runs case k on both backends; false (with a line on stderr) when it fails.
 * The attention object it made goes to *kept, for the caller to destroy at
 * the end (see the top of the file). */
static bool check_case(mha_backend *ocl, mha_backend *ref, const char *config, int k,
                       mha_attention **kept)
{
    tk_case c;
    make_case(&c, k);
    char desc[512], stages[256] = "";
    tk_case_describe(&c, desc, sizeof desc);
    fprintf(stderr, "small_forwards: %s case %d: %s\n", config, k, desc);
    if (!tk_case_fill(&c, 100u + (uint32_t)k)) {
        fprintf(stderr, "small_forwards: out of memory\n");
        return false;
    }
    bool ok = false;
    mha_attention *att = NULL;
    float *out[2] = {calloc(c.out_count, sizeof(float)), calloc(c.out_count, sizeof(float))};
    float *weights[2] = {calloc(c.weights_count + 1, sizeof(float)),
                         calloc(c.weights_count + 1, sizeof(float))};
    mha_status st = MHA_STATUS_OUT_OF_MEMORY;
    if (!out[0] || !out[1] || !weights[0] || !weights[1])
        goto done;
    st = tk_case_attention(&c, ocl, &att);
    if (st == MHA_STATUS_OK)
        st = tk_case_run(&c, ocl, att, out[0], weights[0], NULL);
    if (st == MHA_STATUS_OK)
        stage_names(att, stages, sizeof stages);
    if (st == MHA_STATUS_OK)
        st = tk_case_run(&c, ref, NULL, out[1], weights[1], NULL);
    if (st != MHA_STATUS_OK) {
        fprintf(stderr, "small_forwards: %s case %d: FAIL: %s: %s\n", config, k,
                mha_status_name(st), mha_last_error());
        goto done;
    }
    const tk_tolerance tol = tk_tolerance_for(TK_ACCUMULATE_F32);
    tk_diff diff;
    tk_diff_init(&diff);
    tk_compare(out[0], out[1], c.out_count, tol, &diff);
    if (c.need_weights)
        tk_compare(weights[0], weights[1], c.weights_count, tol, &diff);
    ok = diff.bad == 0;
    fprintf(stderr, "small_forwards: %s case %d: stages %s: max abs err %.3g: %s\n", config, k,
            stages, diff.max_abs, ok ? "ok" : "FAIL");
done:
    *kept = att;
    for (int i = 0; i < 2; ++i) {
        free(out[i]);
        free(weights[i]);
    }
    tk_case_free(&c);
    return ok;
}

/* Sets MHA_OPENCL_ATTENTION and MHA_OPENCL_SOFTMAX from "PATH[:SOFTMAX]". */
static bool apply_config(const char *config)
{
    char path[64];
    const char *colon = strchr(config, ':');
    size_t n = colon ? (size_t)(colon - config) : strlen(config);
    if (n == 0 || n >= sizeof path)
        return false;
    memcpy(path, config, n);
    path[n] = '\0';
    if (strcmp(path, "default") == 0)
        unsetenv("MHA_OPENCL_ATTENTION");
    else
        setenv("MHA_OPENCL_ATTENTION", path, 1);
    if (colon)
        setenv("MHA_OPENCL_SOFTMAX", colon + 1, 1);
    else
        unsetenv("MHA_OPENCL_SOFTMAX");
    return true;
}

int main(int argc, char **argv)
{
    setvbuf(stderr, NULL, _IONBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: small_forwards PATH[:SOFTMAX]...\n");
        return 2;
    }
    size_t devices = 0;
    if (mha_plugin_device_count("opencl", &devices) != MHA_STATUS_OK || devices == 0) {
        fprintf(stderr, "small_forwards: no OpenCL device: skipped\n");
        return 77;
    }
    mha_backend *ocl = NULL, *ref = NULL;
    if (mha_backend_open("opencl", &ocl) != MHA_STATUS_OK ||
        mha_backend_open("reference", &ref) != MHA_STATUS_OK) {
        fprintf(stderr, "small_forwards: cannot open a backend: %s\n", mha_last_error());
        mha_backend_close(ocl);
        return 1;
    }
    mha_attention **kept = calloc((size_t)(argc - 1) * CASE_COUNT, sizeof *kept);
    if (!kept) {
        fprintf(stderr, "small_forwards: out of memory\n");
        mha_backend_close(ref);
        mha_backend_close(ocl);
        return 1;
    }
    size_t kept_count = 0;
    int failed = 0, passed = 0;
    for (int i = 1; i < argc; ++i) {
        if (!apply_config(argv[i])) {
            fprintf(stderr, "small_forwards: '%s' is not PATH or PATH:SOFTMAX\n", argv[i]);
            failed++;
            continue;
        }
        for (int k = 0; k < CASE_COUNT; ++k) {
            if (check_case(ocl, ref, argv[i], k, &kept[kept_count++]))
                passed++;
            else
                failed++;
        }
    }
    fprintf(stderr, "small_forwards: %d passed, %d failed\n", passed, failed);
    for (size_t i = 0; i < kept_count; ++i)
        mha_attention_destroy(kept[i]);
    free(kept);
    mha_backend_close(ref);
    mha_backend_close(ocl);
    return failed ? 1 : 0;
}
