/*
 * state_dict.c - weights folder loader (see state_dict.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "state_dict.h"
#include "text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const file_names[STATE_DICT_KEY_COUNT] = {
    "in_proj_weight.npy", "q_proj_weight.npy",   "k_proj_weight.npy",
    "v_proj_weight.npy",  "in_proj_bias.npy",    "out_proj.weight.npy",
    "out_proj.bias.npy",  "bias_k.npy",          "bias_v.npy",
};

const char *state_dict_file_name(int index)
{
    if (index < 0 || index >= STATE_DICT_KEY_COUNT)
        return NULL;
    return file_names[index];
}

static void format_shape(char *buf, size_t size, int32_t rank, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf, size, "(");
    for (int32_t i = 0; i < rank && n < size; ++i)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "%s)", rank == 1 ? "," : "");
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dl > 0 && dir[dl - 1] != '/';
    char *p = malloc(dl + (slash ? 1 : 0) + nl + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, dl);
    if (slash)
        p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    return p;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

void state_dict_free(state_dict *sd)
{
    if (sd == NULL)
        return;
    for (int i = 0; i < STATE_DICT_KEY_COUNT; ++i)
        npy_array_free(&sd->arrays[i]);
    memset(sd, 0, sizeof *sd);
}

mha_status state_dict_load(const char *dir, const mha_config *config, state_dict *out, char *err,
                           size_t err_size)
{
    if (out == NULL || dir == NULL || config == NULL) {
        text_format_error(err, err_size, "state_dict_load: NULL argument");
        return MHA_STATUS_NULL_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    const int64_t E = config->embed_dim;
    const int64_t kdim = config->kdim != 0 ? config->kdim : E;
    const int64_t vdim = config->vdim != 0 ? config->vdim : E;
    if (E <= 0 || kdim <= 0 || vdim <= 0 || E > INT64_MAX / 3) {
        text_format_error(err, err_size, "%s: embed_dim, kdim and vdim must be positive and not huge", dir);
        return MHA_STATUS_INVALID_VALUE;
    }
    const bool separate = kdim != E || vdim != E;

    /* Expected rank and shape per key; rank -1 = must be absent. */
    struct {
        int32_t rank;
        int64_t shape[3];
        const char *why_absent;
    } want[STATE_DICT_KEY_COUNT];
    memset(want, 0, sizeof want);
    for (int i = 0; i < STATE_DICT_KEY_COUNT; ++i)
        want[i].rank = -1;
    if (separate) {
        want[STATE_DICT_Q_PROJ_WEIGHT].rank = 2;
        want[STATE_DICT_Q_PROJ_WEIGHT].shape[0] = E;
        want[STATE_DICT_Q_PROJ_WEIGHT].shape[1] = E;
        want[STATE_DICT_K_PROJ_WEIGHT].rank = 2;
        want[STATE_DICT_K_PROJ_WEIGHT].shape[0] = E;
        want[STATE_DICT_K_PROJ_WEIGHT].shape[1] = kdim;
        want[STATE_DICT_V_PROJ_WEIGHT].rank = 2;
        want[STATE_DICT_V_PROJ_WEIGHT].shape[0] = E;
        want[STATE_DICT_V_PROJ_WEIGHT].shape[1] = vdim;
        want[STATE_DICT_IN_PROJ_WEIGHT].why_absent = "kdim or vdim differs from embed_dim";
    } else {
        want[STATE_DICT_IN_PROJ_WEIGHT].rank = 2;
        want[STATE_DICT_IN_PROJ_WEIGHT].shape[0] = 3 * E;
        want[STATE_DICT_IN_PROJ_WEIGHT].shape[1] = E;
        for (int i = STATE_DICT_Q_PROJ_WEIGHT; i <= STATE_DICT_V_PROJ_WEIGHT; ++i)
            want[i].why_absent = "kdim == vdim == embed_dim";
    }
    want[STATE_DICT_OUT_PROJ_WEIGHT].rank = 2;
    want[STATE_DICT_OUT_PROJ_WEIGHT].shape[0] = E;
    want[STATE_DICT_OUT_PROJ_WEIGHT].shape[1] = E;
    if (config->bias) {
        want[STATE_DICT_IN_PROJ_BIAS].rank = 1;
        want[STATE_DICT_IN_PROJ_BIAS].shape[0] = 3 * E;
        want[STATE_DICT_OUT_PROJ_BIAS].rank = 1;
        want[STATE_DICT_OUT_PROJ_BIAS].shape[0] = E;
    } else {
        want[STATE_DICT_IN_PROJ_BIAS].why_absent = "bias is off";
        want[STATE_DICT_OUT_PROJ_BIAS].why_absent = "bias is off";
    }
    if (config->add_bias_kv) {
        for (int i = STATE_DICT_BIAS_K; i <= STATE_DICT_BIAS_V; ++i) {
            want[i].rank = 3;
            want[i].shape[0] = 1;
            want[i].shape[1] = 1;
            want[i].shape[2] = E;
        }
    } else {
        want[STATE_DICT_BIAS_K].why_absent = "add_bias_kv is off";
        want[STATE_DICT_BIAS_V].why_absent = "add_bias_kv is off";
    }

    mha_status st = MHA_STATUS_OK;
    char *path = NULL;
    for (int i = 0; i < STATE_DICT_KEY_COUNT && st == MHA_STATUS_OK; ++i) {
        free(path);
        path = join_path(dir, file_names[i]);
        if (path == NULL) {
            text_format_error(err, err_size, "%s: out of memory", dir);
            st = MHA_STATUS_OUT_OF_MEMORY;
            break;
        }
        bool exists = file_exists(path);
        if (want[i].rank < 0) {
            if (exists) {
                text_format_error(err, err_size, "%s: present but not expected (%s)", path,
                        want[i].why_absent);
                st = MHA_STATUS_INVALID_VALUE;
            }
            continue;
        }
        if (!exists) {
            text_format_error(err, err_size, "%s: missing (required by the configuration)", path);
            st = MHA_STATUS_IO_ERROR;
            break;
        }
        npy_array *a = &out->arrays[i];
        st = npy_read(path, a, err, err_size);
        if (st != MHA_STATUS_OK)
            break;
        if (a->dtype != MHA_DTYPE_F32) {
            text_format_error(err, err_size, "%s: dtype %s but expected float32 ('<f4')", path,
                    mha_dtype_name(a->dtype));
            st = MHA_STATUS_INVALID_DTYPE;
            break;
        }
        bool same = a->rank == want[i].rank;
        for (int32_t d = 0; same && d < a->rank; ++d)
            same = a->shape[d] == want[i].shape[d];
        if (!same) {
            char have_s[96], want_s[96];
            format_shape(have_s, sizeof have_s, a->rank, a->shape);
            format_shape(want_s, sizeof want_s, want[i].rank, want[i].shape);
            text_format_error(err, err_size, "%s: shape %s but expected %s", path, have_s, want_s);
            st = MHA_STATUS_SHAPE_MISMATCH;
            break;
        }
    }
    free(path);
    if (st != MHA_STATUS_OK) {
        state_dict_free(out);
        return st;
    }

    mha_weights_init(&out->weights);
    out->weights.in_proj_weight = out->arrays[STATE_DICT_IN_PROJ_WEIGHT].data;
    out->weights.q_proj_weight = out->arrays[STATE_DICT_Q_PROJ_WEIGHT].data;
    out->weights.k_proj_weight = out->arrays[STATE_DICT_K_PROJ_WEIGHT].data;
    out->weights.v_proj_weight = out->arrays[STATE_DICT_V_PROJ_WEIGHT].data;
    out->weights.in_proj_bias = out->arrays[STATE_DICT_IN_PROJ_BIAS].data;
    out->weights.out_proj_weight = out->arrays[STATE_DICT_OUT_PROJ_WEIGHT].data;
    out->weights.out_proj_bias = out->arrays[STATE_DICT_OUT_PROJ_BIAS].data;
    out->weights.bias_k = out->arrays[STATE_DICT_BIAS_K].data;
    out->weights.bias_v = out->arrays[STATE_DICT_BIAS_V].data;
    return MHA_STATUS_OK;
}
