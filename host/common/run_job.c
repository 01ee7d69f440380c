/*
 * run_job.c - `mha run` options and execution (see run_job.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "run_job.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_dict.h"

/* Largest accepted --embed-dim / --num-heads / --kdim / --vdim. */
#define RUN_MAX_DIM ((int64_t)1 << 30)

/* ---- strict number parsing ---------------------------------------------- */

/* ---- options -------------------------------------------------------------- */

void run_options_free(run_options *options)
{
    if (options == NULL)
        return;
    for (int i = 0; i < options->owned_count_ && i < (int)(sizeof options->owned_ /
                                                              sizeof options->owned_[0]);
         ++i)
        free(options->owned_[i]);
    memset(options, 0, sizeof *options);
}

/* Resolves *path against base_dir (when relative), storing the copy in owned_. */
static bool resolve_path(run_options *o, const char *base_dir, const char **path)
{
    if (base_dir == NULL || *path == NULL || (*path)[0] == '/')
        return true;
    if (o->owned_count_ >= (int)(sizeof o->owned_ / sizeof o->owned_[0]))
        return false;
    size_t bl = strlen(base_dir), pl = strlen(*path);
    bool slash = bl > 0 && base_dir[bl - 1] != '/';
    char *p = malloc(bl + (slash ? 1 : 0) + pl + 1);
    if (p == NULL)
        return false;
    memcpy(p, base_dir, bl);
    if (slash)
        p[bl++] = '/';
    memcpy(p + bl, *path, pl + 1);
    o->owned_[o->owned_count_++] = p;
    *path = p;
    return true;
}

typedef enum opt_kind { OPT_FLAG, OPT_STRING, OPT_INT, OPT_DOUBLE, OPT_U64 } opt_kind;

enum {
    O_PLUGIN, O_DEVICE, O_EMBED_DIM, O_NUM_HEADS, O_KDIM, O_VDIM, O_BATCH_FIRST, O_NO_BIAS,
    O_ADD_BIAS_KV, O_ADD_ZERO_ATTN, O_WEIGHTS, O_QUERY, O_KEY, O_VALUE, O_ATTN_MASK,
    O_KEY_PADDING_MASK, O_CAUSAL, O_CAUSAL_ALIGN, O_NEED_WEIGHTS, O_NO_AVERAGE_WEIGHTS,
    O_WEIGHTS_OUT, O_DROPOUT, O_SEED, O_OUT, O_COUNT
};

static const struct {
    const char *name;
    opt_kind kind;
} options_table[O_COUNT] = {
    [O_PLUGIN] = {"--plugin", OPT_STRING},
    [O_DEVICE] = {"--device", OPT_STRING},
    [O_EMBED_DIM] = {"--embed-dim", OPT_INT},
    [O_NUM_HEADS] = {"--num-heads", OPT_INT},
    [O_KDIM] = {"--kdim", OPT_INT},
    [O_VDIM] = {"--vdim", OPT_INT},
    [O_BATCH_FIRST] = {"--batch-first", OPT_FLAG},
    [O_NO_BIAS] = {"--no-bias", OPT_FLAG},
    [O_ADD_BIAS_KV] = {"--add-bias-kv", OPT_FLAG},
    [O_ADD_ZERO_ATTN] = {"--add-zero-attn", OPT_FLAG},
    [O_WEIGHTS] = {"--weights", OPT_STRING},
    [O_QUERY] = {"--query", OPT_STRING},
    [O_KEY] = {"--key", OPT_STRING},
    [O_VALUE] = {"--value", OPT_STRING},
    [O_ATTN_MASK] = {"--attn-mask", OPT_STRING},
    [O_KEY_PADDING_MASK] = {"--key-padding-mask", OPT_STRING},
    [O_CAUSAL] = {"--causal", OPT_FLAG},
    [O_CAUSAL_ALIGN] = {"--causal-align", OPT_STRING},
    [O_NEED_WEIGHTS] = {"--need-weights", OPT_FLAG},
    [O_NO_AVERAGE_WEIGHTS] = {"--no-average-weights", OPT_FLAG},
    [O_WEIGHTS_OUT] = {"--weights-out", OPT_STRING},
    [O_DROPOUT] = {"--dropout", OPT_DOUBLE},
    [O_SEED] = {"--seed", OPT_U64},
    [O_OUT] = {"--out", OPT_STRING},
};

mha_status run_options_parse(int argc, char **argv, const char *base_dir, run_options *out,
                             char *err, size_t err_size)
{
    if (out == NULL || (argc > 0 && argv == NULL)) {
        text_format_error(err, err_size, "run_options_parse: NULL argument");
        return MHA_STATUS_NULL_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    bool seen[O_COUNT] = {false};
    const char *str[O_COUNT] = {NULL};
    int64_t ints[O_COUNT] = {0};
    double dropout = 0.0;
    unsigned long long seed = 0;

    for (int i = 0; i < argc; ++i) {
        const char *word = argv[i];
        if (word == NULL) {
            text_format_error(err, err_size, "argument %d is NULL", i);
            return MHA_STATUS_INVALID_VALUE;
        }
        int id = -1;
        for (int k = 0; k < O_COUNT; ++k)
            if (strcmp(word, options_table[k].name) == 0) {
                id = k;
                break;
            }
        if (id < 0) {
            if (strncmp(word, "-", 1) == 0)
                text_format_error(err, err_size, "unknown option '%s'", word);
            else
                text_format_error(err, err_size, "unexpected argument '%s'", word);
            return MHA_STATUS_INVALID_VALUE;
        }
        if (seen[id]) {
            text_format_error(err, err_size, "%s is given more than once", word);
            return MHA_STATUS_INVALID_VALUE;
        }
        seen[id] = true;
        if (options_table[id].kind == OPT_FLAG)
            continue;
        if (i + 1 >= argc || argv[i + 1] == NULL || argv[i + 1][0] == '\0' ||
            strncmp(argv[i + 1], "--", 2) == 0) {
            text_format_error(err, err_size, "%s needs a value", word);
            return MHA_STATUS_INVALID_VALUE;
        }
        const char *value = argv[++i];
        switch (options_table[id].kind) {
        case OPT_STRING:
            str[id] = value;
            break;
        case OPT_INT:
            if (!text_parse_int64(value, 1, RUN_MAX_DIM, &ints[id])) {
                text_format_error(err, err_size, "%s: '%s' is not an integer in 1..%lld", word, value,
                        (long long)RUN_MAX_DIM);
                return MHA_STATUS_INVALID_VALUE;
            }
            break;
        case OPT_DOUBLE:
            if (!text_parse_double(value, &dropout) || dropout < 0.0 || dropout >= 1.0) {
                text_format_error(err, err_size, "%s: '%s' is not a probability in [0, 1)", word, value);
                return MHA_STATUS_INVALID_VALUE;
            }
            break;
        case OPT_U64:
            if (!text_parse_u64(value, &seed)) {
                text_format_error(err, err_size, "%s: '%s' is not an integer in 0..18446744073709551615",
                        word, value);
                return MHA_STATUS_INVALID_VALUE;
            }
            break;
        case OPT_FLAG:
            break;
        }
    }

    static const int required[] = {O_EMBED_DIM, O_NUM_HEADS, O_WEIGHTS, O_QUERY,
                                   O_KEY,       O_VALUE,     O_OUT};
    for (size_t k = 0; k < sizeof required / sizeof required[0]; ++k)
        if (!seen[required[k]]) {
            text_format_error(err, err_size, "missing required option %s", options_table[required[k]].name);
            return MHA_STATUS_INVALID_VALUE;
        }
    if (seen[O_CAUSAL_ALIGN] && !seen[O_CAUSAL]) {
        text_format_error(err, err_size, "--causal-align needs --causal");
        return MHA_STATUS_INVALID_VALUE;
    }
    out->causal = seen[O_CAUSAL] ? MHA_CAUSAL_TOP_LEFT : MHA_CAUSAL_NONE;
    if (seen[O_CAUSAL_ALIGN]) {
        if (strcmp(str[O_CAUSAL_ALIGN], "top-left") == 0)
            out->causal = MHA_CAUSAL_TOP_LEFT;
        else if (strcmp(str[O_CAUSAL_ALIGN], "bottom-right") == 0)
            out->causal = MHA_CAUSAL_BOTTOM_RIGHT;
        else {
            text_format_error(err, err_size, "--causal-align: '%s' is not top-left or bottom-right",
                    str[O_CAUSAL_ALIGN]);
            return MHA_STATUS_INVALID_VALUE;
        }
    }
    if (seen[O_NO_AVERAGE_WEIGHTS] && !seen[O_NEED_WEIGHTS]) {
        text_format_error(err, err_size, "--no-average-weights needs --need-weights");
        return MHA_STATUS_INVALID_VALUE;
    }
    if (seen[O_WEIGHTS_OUT] && !seen[O_NEED_WEIGHTS]) {
        text_format_error(err, err_size, "--weights-out needs --need-weights");
        return MHA_STATUS_INVALID_VALUE;
    }
    if (seen[O_DROPOUT] && dropout > 0.0 && !seen[O_SEED]) {
        text_format_error(err, err_size, "--dropout above 0 needs --seed");
        return MHA_STATUS_INVALID_VALUE;
    }
    if (ints[O_EMBED_DIM] % ints[O_NUM_HEADS] != 0) {
        text_format_error(err, err_size, "--embed-dim %lld is not divisible by --num-heads %lld",
                (long long)ints[O_EMBED_DIM], (long long)ints[O_NUM_HEADS]);
        return MHA_STATUS_INVALID_VALUE;
    }

    mha_config_init(&out->config, ints[O_EMBED_DIM], ints[O_NUM_HEADS]);
    out->config.kdim = seen[O_KDIM] ? ints[O_KDIM] : 0;
    out->config.vdim = seen[O_VDIM] ? ints[O_VDIM] : 0;
    out->config.batch_first = seen[O_BATCH_FIRST];
    out->config.bias = !seen[O_NO_BIAS];
    out->config.add_bias_kv = seen[O_ADD_BIAS_KV];
    out->config.add_zero_attn = seen[O_ADD_ZERO_ATTN];
    out->config.dropout = (float)dropout;
    out->training = dropout > 0.0;
    out->seed = seed;
    out->plugin = str[O_PLUGIN];
    out->device = str[O_DEVICE];
    out->weights_dir = str[O_WEIGHTS];
    out->query_path = str[O_QUERY];
    out->key_path = str[O_KEY];
    out->value_path = str[O_VALUE];
    out->attn_mask_path = str[O_ATTN_MASK];
    out->key_padding_mask_path = str[O_KEY_PADDING_MASK];
    out->need_weights = seen[O_NEED_WEIGHTS];
    out->average_attn_weights = !seen[O_NO_AVERAGE_WEIGHTS];
    out->weights_out_path = str[O_WEIGHTS_OUT];
    out->out_path = str[O_OUT];

    const char **paths[] = {&out->weights_dir,    &out->query_path,     &out->key_path,
                            &out->value_path,     &out->attn_mask_path, &out->key_padding_mask_path,
                            &out->weights_out_path, &out->out_path};
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; ++k)
        if (!resolve_path(out, base_dir, paths[k])) {
            run_options_free(out);
            text_format_error(err, err_size, "out of memory resolving paths against '%s'", base_dir);
            return MHA_STATUS_OUT_OF_MEMORY;
        }
    return MHA_STATUS_OK;
}

/* ---- execution ------------------------------------------------------------ */

/* "WHAT: <mha_last_error()> (MHA_STATUS_...)"; the library's message is copied
 * first, since any later mha call may replace it. */
static void set_mha_err(char *err, size_t err_size, const char *what, mha_status st)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mha_last_error());
    const char *name = mha_status_name(st);
    if (msg[0] == '\0')
        text_format_error(err, err_size, "%s: %s (%s)", what, mha_status_string(st), name);
    else
        text_format_error(err, err_size, "%s: %s (%s)", what, msg, name);
}

void run_result_free(run_result *result)
{
    if (result == NULL)
        return;
    npy_array_free(&result->output);
    npy_array_free(&result->weights);
}

static mha_tensor tensor_of(const npy_array *a)
{
    mha_tensor t;
    memset(&t, 0, sizeof t);
    if (a->dtype == MHA_DTYPE_NONE)
        return t;
    t.data = a->data;
    t.dtype = a->dtype;
    t.rank = a->rank;
    for (int32_t i = 0; i < a->rank; ++i)
        t.shape[i] = a->shape[i];
    t.memory = MHA_MEMORY_HOST;
    t.offset = 0;
    return t;
}

/* Allocates an F32 array of the tensor's shape and points the tensor at it. */
static mha_status alloc_output(mha_tensor *t, npy_array *a, const char *what, char *err,
                               size_t err_size)
{
    memset(a, 0, sizeof *a);
    if (t->rank < 0 || t->rank > MHA_MAX_RANK) {
        text_format_error(err, err_size, "%s: the library reported rank %d", what, (int)t->rank);
        return MHA_STATUS_INTERNAL;
    }
    size_t count = 1;
    for (int32_t i = 0; i < t->rank; ++i) {
        if (t->shape[i] < 0) {
            text_format_error(err, err_size, "%s: the library reported a negative dimension", what);
            return MHA_STATUS_INTERNAL;
        }
        uint64_t d = (uint64_t)t->shape[i];
        if (d != 0 && count > SIZE_MAX / sizeof(float) / d) {
            text_format_error(err, err_size, "%s: size overflows", what);
            return MHA_STATUS_SIZE_OVERFLOW;
        }
        count *= (size_t)d;
    }
    void *data = calloc(count > 0 ? count : 1, sizeof(float));
    if (data == NULL) {
        text_format_error(err, err_size, "%s: out of memory for %zu floats", what, count);
        return MHA_STATUS_OUT_OF_MEMORY;
    }
    a->dtype = MHA_DTYPE_F32;
    a->rank = t->rank;
    for (int32_t i = 0; i < t->rank; ++i)
        a->shape[i] = t->shape[i];
    a->count = count;
    a->data = data;
    t->dtype = MHA_DTYPE_F32;
    t->data = data;
    t->memory = MHA_MEMORY_HOST;
    t->offset = 0;
    return MHA_STATUS_OK;
}

mha_status run_job_execute(const run_options *options, mha_backend *backend, run_result *out,
                           char *err, size_t err_size)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (options == NULL || backend == NULL || out == NULL) {
        text_format_error(err, err_size, "run_job_execute: NULL argument");
        return MHA_STATUS_NULL_ARGUMENT;
    }
    npy_array query = {0}, key = {0}, value = {0}, attn_mask = {0}, kpm = {0};
    state_dict sd;
    memset(&sd, 0, sizeof sd);
    mha_attention *attention = NULL;
    run_result result;
    memset(&result, 0, sizeof result);
    mha_status st;

    if ((st = npy_read(options->query_path, &query, err, err_size)) != MHA_STATUS_OK ||
        (st = npy_read(options->key_path, &key, err, err_size)) != MHA_STATUS_OK ||
        (st = npy_read(options->value_path, &value, err, err_size)) != MHA_STATUS_OK)
        goto done;
    if (options->attn_mask_path != NULL &&
        (st = npy_read(options->attn_mask_path, &attn_mask, err, err_size)) != MHA_STATUS_OK)
        goto done;
    if (options->key_padding_mask_path != NULL &&
        (st = npy_read(options->key_padding_mask_path, &kpm, err, err_size)) != MHA_STATUS_OK)
        goto done;
    if ((st = state_dict_load(options->weights_dir, &options->config, &sd, err, err_size)) !=
        MHA_STATUS_OK)
        goto done;

    st = mha_attention_create(backend, &options->config, &sd.weights, &attention);
    if (st != MHA_STATUS_OK) {
        set_mha_err(err, err_size, "cannot create the attention object", st);
        goto done;
    }

    mha_forward_args args;
    mha_forward_args_init(&args);
    args.query = tensor_of(&query);
    args.key = tensor_of(&key);
    args.value = tensor_of(&value);
    args.attn_mask = tensor_of(&attn_mask);
    args.key_padding_mask = tensor_of(&kpm);
    args.causal = options->causal;
    args.need_weights = options->need_weights;
    args.average_attn_weights = options->average_attn_weights;
    args.training = options->training;
    args.dropout_seed = (uint64_t)options->seed;

    mha_tensor out_t, w_t;
    memset(&out_t, 0, sizeof out_t);
    memset(&w_t, 0, sizeof w_t);
    st = mha_attention_output_shapes(attention, &args, &out_t, &w_t);
    if (st != MHA_STATUS_OK) {
        set_mha_err(err, err_size, "invalid inputs", st);
        goto done;
    }
    if ((st = alloc_output(&out_t, &result.output, "attn_output", err, err_size)) != MHA_STATUS_OK)
        goto done;
    args.attn_output = out_t;
    if (options->need_weights) {
        if ((st = alloc_output(&w_t, &result.weights, "attn_weights", err, err_size)) !=
            MHA_STATUS_OK)
            goto done;
        args.attn_weights = w_t;
    }
    st = mha_attention_forward(attention, &args);
    if (st != MHA_STATUS_OK) {
        set_mha_err(err, err_size, "forward failed", st);
        goto done;
    }
    *out = result;
    memset(&result, 0, sizeof result);

done:
    run_result_free(&result);
    mha_attention_destroy(attention);
    state_dict_free(&sd);
    npy_array_free(&query);
    npy_array_free(&key);
    npy_array_free(&value);
    npy_array_free(&attn_mask);
    npy_array_free(&kpm);
    return st;
}
