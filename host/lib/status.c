/* status.c - status names and messages, dtype helpers, struct initialisers. */
#include <string.h>

#include "mha/mha.h"

#define MHA_STR_(x) #x
#define MHA_XSTR_(x) MHA_STR_(x)

const char *mha_version_string(void)
{
    return MHA_XSTR_(MHA_VERSION_MAJOR) "." MHA_XSTR_(MHA_VERSION_MINOR) "." MHA_XSTR_(
        MHA_VERSION_PATCH);
}

const char *mha_status_name(mha_status status)
{
    switch (status) {
#define MHA_STATUS_NAME_(name, code, message) \
    case MHA_STATUS_##name:                   \
        return "MHA_STATUS_" #name;
        MHA_STATUS_MAP(MHA_STATUS_NAME_)
#undef MHA_STATUS_NAME_
    }
    return "MHA_STATUS_UNKNOWN";
}

const char *mha_status_string(mha_status status)
{
    switch (status) {
#define MHA_STATUS_STRING_(name, code, message) \
    case MHA_STATUS_##name:                     \
        return message;
        MHA_STATUS_MAP(MHA_STATUS_STRING_)
#undef MHA_STATUS_STRING_
    }
    return "unknown status code";
}

const char *mha_dtype_name(mha_dtype dtype)
{
    switch (dtype) {
    case MHA_DTYPE_NONE:
        return "none";
    case MHA_DTYPE_F32:
        return "float32";
    case MHA_DTYPE_BOOL:
        return "bool";
    case MHA_DTYPE_F16:
        return "float16";
    case MHA_DTYPE_BF16:
        return "bfloat16";
    case MHA_DTYPE_I32:
        return "int32";
    case MHA_DTYPE_I64:
        return "int64";
    }
    return "unknown";
}

size_t mha_dtype_size(mha_dtype dtype)
{
    switch (dtype) {
    case MHA_DTYPE_F32:
        return 4;
    case MHA_DTYPE_BOOL:
        return 1;
    case MHA_DTYPE_F16:
    case MHA_DTYPE_BF16:
        return 2;
    case MHA_DTYPE_I32:
        return 4;
    case MHA_DTYPE_I64:
        return 8;
    case MHA_DTYPE_NONE:
        break;
    }
    return 0;
}

static mha_tensor make_tensor(void *data, mha_dtype dtype, int32_t rank, const int64_t *shape)
{
    mha_tensor tensor;
    memset(&tensor, 0, sizeof tensor);
    tensor.data = data;
    tensor.dtype = dtype;
    tensor.rank = rank;
    for (int32_t i = 0; shape && i < rank && i < MHA_MAX_RANK; ++i)
        tensor.shape[i] = shape[i];
    tensor.memory = MHA_MEMORY_HOST;
    return tensor;
}

/* The const is dropped because mha_tensor also describes outputs; inputs are
 * never written through it. */
mha_tensor mha_tensor_f32(const float *data, int32_t rank, const int64_t *shape)
{
    void *pointer;
    memcpy(&pointer, &data, sizeof pointer);
    return make_tensor(pointer, MHA_DTYPE_F32, rank, shape);
}

mha_tensor mha_tensor_bool(const uint8_t *data, int32_t rank, const int64_t *shape)
{
    void *pointer;
    memcpy(&pointer, &data, sizeof pointer);
    return make_tensor(pointer, MHA_DTYPE_BOOL, rank, shape);
}

void mha_config_init(mha_config *config, int64_t embed_dim, int64_t num_heads)
{
    if (!config)
        return;
    memset(config, 0, sizeof *config);
    config->struct_size = sizeof *config;
    config->embed_dim = embed_dim;
    config->num_heads = num_heads;
    config->bias = true;
}

void mha_weights_init(mha_weights *weights)
{
    if (!weights)
        return;
    memset(weights, 0, sizeof *weights);
    weights->struct_size = sizeof *weights;
}

void mha_forward_args_init(mha_forward_args *args)
{
    if (!args)
        return;
    memset(args, 0, sizeof *args);
    args->struct_size = sizeof *args;
    args->average_attn_weights = true;
}
