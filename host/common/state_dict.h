/*
 * state_dict.h - load an mha_weights from a folder holding one .npy file per
 * PyTorch state_dict key of torch.nn.MultiheadAttention:
 *
 *   in_proj_weight.npy   (3E, E)     when kdim == vdim == E
 *   q_proj_weight.npy    (E, E)      \
 *   k_proj_weight.npy    (E, kdim)    } instead, when kdim or vdim != E
 *   v_proj_weight.npy    (E, vdim)   /
 *   in_proj_bias.npy     (3E)        when bias
 *   out_proj.weight.npy  (E, E)
 *   out_proj.bias.npy    (E)         when bias
 *   bias_k.npy, bias_v.npy (1, 1, E) when add_bias_kv
 *
 * Every file must be float32 with exactly the expected shape. A required file
 * that is missing is an error; so is a file that the configuration says
 * PyTorch would not have saved (it means the folder and the options disagree).
 */
#ifndef MHA_STATE_DICT_H
#define MHA_STATE_DICT_H

#include <stddef.h>

#include "mha/mha.h"
#include "npy.h"

enum {
    STATE_DICT_IN_PROJ_WEIGHT,
    STATE_DICT_Q_PROJ_WEIGHT,
    STATE_DICT_K_PROJ_WEIGHT,
    STATE_DICT_V_PROJ_WEIGHT,
    STATE_DICT_IN_PROJ_BIAS,
    STATE_DICT_OUT_PROJ_WEIGHT,
    STATE_DICT_OUT_PROJ_BIAS,
    STATE_DICT_BIAS_K,
    STATE_DICT_BIAS_V,
    STATE_DICT_KEY_COUNT
};

/* The file name (without folder) of key `index` ("out_proj.weight.npy"). */
const char *state_dict_file_name(int index);

typedef struct state_dict {
    mha_weights weights;                   /* points into arrays[] */
    npy_array arrays[STATE_DICT_KEY_COUNT]; /* owned; dtype NONE when not loaded */
} state_dict;

/* Loads the files of `dir` that `config` calls for. On failure returns
 * MHA_STATUS_IO_ERROR (missing/unreadable file), SHAPE_MISMATCH, INVALID_DTYPE,
 * INVALID_VALUE (unexpected file or bad config) or a reader status, with a
 * one-line message naming the file; *out is then empty (no need to free, but
 * state_dict_free is harmless). */
mha_status state_dict_load(const char *dir, const mha_config *config, state_dict *out, char *err,
                           size_t err_size);
/* Frees the arrays; accepts NULL and an already freed or zeroed state_dict. */
void state_dict_free(state_dict *sd);

#endif
