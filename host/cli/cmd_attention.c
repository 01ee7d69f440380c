/*
 * cmd_attention.c - `mha attention`: one call of the attention core (ONNX
 * Attention semantics, include/mha/core.h) on .npy files. Option names are
 * ONNX's, kebab-cased; outputs are written only when the call succeeded, and
 * all of them or none (output_file.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mha/core.h"
#include "mha/mha.h"
#include "npy.h"
#include "output_file.h"

static void attention_usage(void)
{
    printf("usage: mha attention [--plugin NAME] [--device SPEC]\n"
           "    --q Q.npy --k K.npy --v V.npy [--q-num-heads HQ --kv-num-heads HKV]\n"
           "    [--attn-mask M.npy] [--past-key PK.npy --past-value PV.npy]\n"
           "    [--nonpad-kv-seqlen N.npy] [--is-causal] [--scale X] [--softcap X]\n"
           "    [--left-window-size N] [--right-window-size N]\n"
           "    [--qk-matmul-output-mode 0|1|2|3] [--softmax-precision N]\n"
           "    --y Y.npy [--present-key PK.npy --present-value PV.npy]\n"
           "    [--qk-matmul-output QK.npy]\n"
           "\n"
           "One call of the attention core with the semantics of the ONNX Attention operator\n"
           "(opsets 23-24, and opset 25's windows): Q (B, Hq, L, D), K (B, Hkv, S, D),\n"
           "V (B, Hkv, S, Dv), or 3-D (B, L, H*D) with --q-num-heads/--kv-num-heads; GQA when\n"
           "Hq > Hkv; a bool mask attends where true, a float mask is added; is-causal is\n"
           "bottom-right (offset: the past length, or nonpad_kv_seqlen - L). Inputs are\n"
           "float32 or float16 .npy (Q, K, V and the past of one dtype); masks bool, float32\n"
           "or float16; nonpad_kv_seqlen int64. Outputs have the inputs' dtype; Y has Q's\n"
           "rank, present and qk_matmul_output are 4-D. Written only when the call succeeded.\n"
           "Exit status: 0 success, 1 error, 2 usage error.\n");
}

typedef struct attention_options {
    const char *plugin, *device;
    const char *q, *k, *v, *mask, *past_key, *past_value, *nonpad;
    const char *y, *present_key, *present_value, *qk;
    long long q_heads, kv_heads, left, right, qk_mode, softmax_precision;
    double scale, softcap;
    bool causal;
} attention_options;

/* The options that take a file name, by flag. */
static const char **path_option(attention_options *o, const char *flag)
{
    static const struct {
        const char *flag;
        size_t offset;
    } paths[] = {
        {"--plugin", offsetof(attention_options, plugin)},
        {"--device", offsetof(attention_options, device)},
        {"--q", offsetof(attention_options, q)},
        {"--k", offsetof(attention_options, k)},
        {"--v", offsetof(attention_options, v)},
        {"--attn-mask", offsetof(attention_options, mask)},
        {"--past-key", offsetof(attention_options, past_key)},
        {"--past-value", offsetof(attention_options, past_value)},
        {"--nonpad-kv-seqlen", offsetof(attention_options, nonpad)},
        {"--y", offsetof(attention_options, y)},
        {"--present-key", offsetof(attention_options, present_key)},
        {"--present-value", offsetof(attention_options, present_value)},
        {"--qk-matmul-output", offsetof(attention_options, qk)},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; ++i)
        if (strcmp(flag, paths[i].flag) == 0)
            return (const char **)(void *)((char *)o + paths[i].offset);
    return NULL;
}

/* The options that take an integer, with their ranges. */
static long long *int_option(attention_options *o, const char *flag, long long *min,
                             long long *max)
{
    const struct {
        const char *flag;
        long long *value, min, max;
    } ints[] = {
        {"--q-num-heads", &o->q_heads, 1, INT32_MAX},
        {"--kv-num-heads", &o->kv_heads, 1, INT32_MAX},
        {"--left-window-size", &o->left, -1, INT64_MAX},
        {"--right-window-size", &o->right, -1, INT64_MAX},
        {"--qk-matmul-output-mode", &o->qk_mode, 0, 3},
        {"--softmax-precision", &o->softmax_precision, 0, INT32_MAX},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; ++i)
        if (strcmp(flag, ints[i].flag) == 0) {
            *min = ints[i].min;
            *max = ints[i].max;
            return ints[i].value;
        }
    return NULL;
}

static int parse_options(int argc, char **argv, attention_options *o)
{
    memset(o, 0, sizeof *o);
    o->left = o->right = -1;
    for (int i = 1; i < argc; ++i) {
        const char *flag = argv[i];
        if (cli_is_help(flag)) {
            attention_usage();
            return -1;
        }
        if (strcmp(flag, "--is-causal") == 0) {
            o->causal = true;
            continue;
        }
        const char **path = path_option(o, flag);
        long long min = 0, max = 0, *integer = int_option(o, flag, &min, &max);
        int is_double = strcmp(flag, "--scale") == 0 || strcmp(flag, "--softcap") == 0;
        if (!path && !integer && !is_double) {
            cli_error("attention: unknown option '%s' (try 'mha attention --help')", flag);
            return CLI_USAGE;
        }
        if (i + 1 >= argc) {
            cli_error("attention: %s needs a value", flag);
            return CLI_USAGE;
        }
        const char *value = argv[++i];
        if (path) {
            *path = value;
        } else if (integer) {
            if (!cli_parse_int(value, min, max, integer)) {
                cli_error("attention: %s is '%s' but must be an integer in [%lld, %lld]", flag,
                          value, min, max);
                return CLI_USAGE;
            }
        } else {
            double *target = strcmp(flag, "--scale") == 0 ? &o->scale : &o->softcap;
            if (!cli_parse_double(value, target) || !isfinite(*target) || *target < 0.0) {
                cli_error("attention: %s is '%s' but must be a number >= 0", flag, value);
                return CLI_USAGE;
            }
        }
    }
    const char *missing = !o->q ? "--q" : !o->k ? "--k" : !o->v ? "--v" : !o->y ? "--y" : NULL;
    if (missing) {
        cli_error("attention: missing required option %s", missing);
        return CLI_USAGE;
    }
    if (o->device && !o->plugin) {
        cli_error("attention: --device needs --plugin");
        return CLI_USAGE;
    }
    if ((o->present_key != NULL) != (o->present_value != NULL)) {
        cli_error("attention: --present-key and --present-value go together");
        return CLI_USAGE;
    }
    const char *outputs[] = {o->y, o->present_key, o->present_value, o->qk};
    for (int a = 0; a < 4; ++a)
        for (int b = a + 1; b < 4; ++b)
            if (outputs[a] && outputs[b] && output_files_same(outputs[a], outputs[b])) {
                cli_error("attention: two outputs name the same file: '%s' and '%s'",
                          outputs[a], outputs[b]);
                return CLI_USAGE;
            }
    return CLI_OK;
}

/* A view of a whole .npy array (absent when the array is). */
static mha_view view_of(npy_array *array)
{
    mha_view view;
    mha_view_init(&view);
    if (!array->data)
        return view;
    return mha_view_host(array->data, array->dtype, array->rank, array->shape);
}

typedef struct attention_files {
    npy_array q, k, v, mask, past_key, past_value, nonpad;
    npy_array y, present_key, present_value, qk; /* outputs: data allocated here */
} attention_files;

static void free_files(attention_files *f)
{
    npy_array *arrays[] = {&f->q,           &f->k,           &f->v,  &f->mask,
                           &f->past_key,    &f->past_value,  &f->nonpad, &f->y,
                           &f->present_key, &f->present_value, &f->qk};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i)
        npy_array_free(arrays[i]);
}

/* An output array of `rank` and `shape` in `dtype` (zeroed), or a message. */
static int allocate_output(npy_array *out, mha_dtype dtype, int32_t rank, const int64_t *shape,
                           const char *what)
{
    size_t count = 1;
    for (int32_t i = 0; i < rank; ++i) {
        if (shape[i] <= 0 || count > SIZE_MAX / (size_t)shape[i] / 8) {
            cli_error("attention: cannot size %s from the inputs' shapes (dimension %d is "
                      "%lld); check --q-num-heads/--kv-num-heads and the shapes",
                      what, (int)i, (long long)shape[i]);
            return 0;
        }
        count *= (size_t)shape[i];
    }
    out->data = calloc(count, mha_dtype_size(dtype));
    if (!out->data) {
        cli_error("attention: out of memory for %s", what);
        return 0;
    }
    out->dtype = dtype;
    out->rank = rank;
    memcpy(out->shape, shape, (size_t)rank * sizeof shape[0]);
    out->count = count;
    return 1;
}

/* The output shapes follow from the inputs (the library checks them all). */
static int allocate_outputs(const attention_options *o, attention_files *f)
{
    const npy_array *q = &f->q, *k = &f->k, *v = &f->v;
    if (q->rank != 3 && q->rank != 4) {
        cli_error("attention: %s has rank %d but must have rank 3 or 4", o->q, (int)q->rank);
        return 0;
    }
    int64_t B = q->shape[0], Hq, L, Hkv, D, Dv, S;
    if (q->rank == 4) {
        Hq = q->shape[1];
        L = q->shape[2];
        Hkv = k->rank == 4 ? k->shape[1] : 0;
        D = k->rank == 4 ? k->shape[3] : 0;
        S = k->rank == 4 ? k->shape[2] : 0;
        Dv = v->rank == 4 ? v->shape[3] : 0;
    } else {
        Hq = o->q_heads;
        L = q->shape[1];
        Hkv = o->kv_heads;
        S = k->rank == 3 ? k->shape[1] : 0;
        D = k->rank == 3 && Hkv > 0 ? k->shape[2] / Hkv : 0;
        Dv = v->rank == 3 && Hkv > 0 ? v->shape[2] / Hkv : 0;
    }
    int64_t P = f->past_key.data && f->past_key.rank == 4 ? f->past_key.shape[2] : 0;
    int64_t y4[4] = {B, Hq, L, Dv}, y3[3] = {B, L, Hq * Dv};
    if (!allocate_output(&f->y, q->dtype, q->rank, q->rank == 4 ? y4 : y3, "Y"))
        return 0;
    int64_t pk[4] = {B, Hkv, P + S, D}, pv[4] = {B, Hkv, P + S, Dv};
    if (o->present_key && (!allocate_output(&f->present_key, q->dtype, 4, pk, "present_key") ||
                           !allocate_output(&f->present_value, q->dtype, 4, pv, "present_value")))
        return 0;
    int64_t qk[4] = {B, Hq, L, P + S};
    if (o->qk && !allocate_output(&f->qk, q->dtype, 4, qk, "qk_matmul_output"))
        return 0;
    return 1;
}

/* Writes every requested output, all or none. */
static int write_outputs(const attention_options *o, attention_files *f)
{
    struct {
        const char *path;
        npy_array *array;
        output_file file;
    } outputs[] = {
        {o->y, &f->y, {0}},
        {o->present_key, &f->present_key, {0}},
        {o->present_value, &f->present_value, {0}},
        {o->qk, &f->qk, {0}},
    };
    const size_t count = sizeof outputs / sizeof outputs[0];
    char err[1024];
    mha_status st = MHA_STATUS_OK;
    for (size_t i = 0; i < count && st == MHA_STATUS_OK; ++i) {
        if (!outputs[i].path)
            continue;
        st = output_file_open(&outputs[i].file, outputs[i].path, err, sizeof err);
        if (st == MHA_STATUS_OK)
            st = npy_write_file(&outputs[i].file, outputs[i].array->dtype,
                                outputs[i].array->rank, outputs[i].array->shape,
                                outputs[i].array->data, err, sizeof err);
    }
    for (size_t i = 0; i < count && st == MHA_STATUS_OK; ++i)
        if (outputs[i].path)
            st = output_file_commit(&outputs[i].file, err, sizeof err);
    for (size_t i = 0; i < count; ++i)
        output_file_discard(&outputs[i].file);
    if (st != MHA_STATUS_OK)
        cli_error("%s", err);
    return st == MHA_STATUS_OK;
}

static int read_inputs(const attention_options *o, attention_files *f)
{
    const struct {
        const char *path;
        npy_array *array;
    } inputs[] = {
        {o->q, &f->q},
        {o->k, &f->k},
        {o->v, &f->v},
        {o->mask, &f->mask},
        {o->past_key, &f->past_key},
        {o->past_value, &f->past_value},
        {o->nonpad, &f->nonpad},
    };
    char err[1024];
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; ++i) {
        if (!inputs[i].path)
            continue;
        if (npy_read(inputs[i].path, inputs[i].array, err, sizeof err) != MHA_STATUS_OK) {
            cli_error("%s", err);
            return 0;
        }
    }
    return 1;
}

int cmd_attention(int argc, char **argv)
{
    attention_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    rc = CLI_ERROR;
    attention_files f;
    memset(&f, 0, sizeof f);
    mha_backend *backend = NULL;
    char *spec = cli_backend_spec(o.plugin, o.device);
    if (o.plugin && !spec) {
        cli_error("out of memory");
        goto done;
    }
    if (!read_inputs(&o, &f) || !allocate_outputs(&o, &f))
        goto done;
    mha_status st = mha_backend_open(spec, &backend);
    if (st != MHA_STATUS_OK) {
        cli_error("cannot open backend '%s': %s", spec ? spec : "(default)", cli_last_error());
        goto done;
    }
    mha_core_args args;
    mha_core_args_init(&args);
    args.q = view_of(&f.q);
    args.k = view_of(&f.k);
    args.v = view_of(&f.v);
    args.q_num_heads = o.q_heads;
    args.kv_num_heads = o.kv_heads;
    args.attn_mask = view_of(&f.mask);
    args.past_key = view_of(&f.past_key);
    args.past_value = view_of(&f.past_value);
    args.nonpad_kv_seqlen = view_of(&f.nonpad);
    args.is_causal = o.causal;
    args.scale = (float)o.scale;
    args.softcap = (float)o.softcap;
    args.left_window_size = o.left;
    args.right_window_size = o.right;
    args.qk_matmul_output_mode = (int32_t)o.qk_mode;
    args.softmax_precision = (int32_t)o.softmax_precision;
    args.y = view_of(&f.y);
    args.present_key = view_of(&f.present_key);
    args.present_value = view_of(&f.present_value);
    args.qk_matmul_output = view_of(&f.qk);
    st = mha_core_forward(backend, &args);
    if (st != MHA_STATUS_OK) {
        cli_error("attention: %s (%s)", cli_last_error(), mha_status_name(st));
        goto done;
    }
    if (write_outputs(&o, &f))
        rc = CLI_OK;

done:
    mha_backend_close(backend);
    free(spec);
    free_files(&f);
    return rc;
}
