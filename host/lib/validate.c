/* validate.c - argument checks (see validate.h). */
#include "validate.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

mha_status check_extensions(const char *what, const mha_extension *next,
                            const mha_capabilities *caps)
{
    for (int depth = 0; next; next = next->next, ++depth) {
        if (depth >= 64)
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "%s.next: extension chain is longer than 64 (a cycle?)", what);
        int accepted = 0;
        for (size_t i = 0; i < caps->extension_type_count && caps->extension_types; ++i)
            accepted |= caps->extension_types[i] == next->type;
        if (!accepted)
            return mha_error_set(MHA_STATUS_UNSUPPORTED,
                                 "%s.next: extension type 0x%x is not supported by this backend",
                                 what, (unsigned)next->type);
    }
    return MHA_STATUS_OK;
}

/* a * b into *out, 0 on overflow of int64_t (operands are > 0). */
static int multiply(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* ---- configuration and weights ------------------------------------------ */

mha_status validate_config(const mha_config *config, const mha_capabilities *caps,
                           mha_config *resolved)
{
    /* Only what the caller's struct has is copied; fields it does not know
     * stay 0, their default. */
    mha_status status = mha_copy_in("config", config, MHA_CONFIG_SIZE_V1, "mha_config_init",
                                    resolved, sizeof *resolved);
    if (status != MHA_STATUS_OK)
        return status;
    status = check_extensions("config", resolved->next, caps);
    if (status != MHA_STATUS_OK)
        return status;
    config = resolved;
    if (config->embed_dim <= 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE, "config.embed_dim is %lld but must be > 0",
                             (long long)config->embed_dim);
    if (config->num_heads <= 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE, "config.num_heads is %lld but must be > 0",
                             (long long)config->num_heads);
    if (config->embed_dim % config->num_heads != 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "config.embed_dim %lld is not divisible by config.num_heads %lld",
                             (long long)config->embed_dim, (long long)config->num_heads);
    if (config->kdim < 0 || config->vdim < 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "config.%s is %lld but must be > 0 (or 0 for embed_dim)",
                             config->kdim < 0 ? "kdim" : "vdim",
                             (long long)(config->kdim < 0 ? config->kdim : config->vdim));
    if (!(config->dropout >= 0.0f && config->dropout < 1.0f))
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "config.dropout is %g but must be in [0, 1)", (double)config->dropout);
    int64_t square;
    if (!multiply(config->embed_dim, config->embed_dim, &square) ||
        !multiply(square, 4, &square) || (uint64_t)square > SIZE_MAX / sizeof(float))
        return mha_error_set(MHA_STATUS_SIZE_OVERFLOW,
                             "config.embed_dim %lld makes the weights larger than memory",
                             (long long)config->embed_dim);

    resolved->next = NULL;
    if (resolved->kdim == 0)
        resolved->kdim = resolved->embed_dim;
    if (resolved->vdim == 0)
        resolved->vdim = resolved->embed_dim;

    int64_t largest = resolved->kdim > resolved->vdim ? resolved->kdim : resolved->vdim;
    if (!multiply(largest, resolved->embed_dim, &square) ||
        (uint64_t)square > SIZE_MAX / sizeof(float))
        return mha_error_set(MHA_STATUS_SIZE_OVERFLOW,
                             "config.kdim/vdim %lld with embed_dim %lld overflow",
                             (long long)largest, (long long)resolved->embed_dim);
    if (caps->max_embed_dim > 0 && resolved->embed_dim > caps->max_embed_dim)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "config.embed_dim is %lld but this backend allows at most %lld",
                             (long long)resolved->embed_dim, (long long)caps->max_embed_dim);
    int separate = resolved->kdim != resolved->embed_dim || resolved->vdim != resolved->embed_dim;
    if (separate && !caps->separate_kv_dims)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "config.kdim/vdim differ from embed_dim: not supported by this "
                             "backend");
    if (resolved->add_bias_kv && !caps->add_bias_kv)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "config.add_bias_kv: not supported by this backend");
    if (resolved->add_zero_attn && !caps->add_zero_attn)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "config.add_zero_attn: not supported by this backend");
    if (resolved->dropout > 0.0f && !caps->dropout)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "config.dropout is %g: dropout is not supported by this backend",
                             (double)resolved->dropout);
    if (!(caps->dtypes & (1u << MHA_DTYPE_F32)))
        return mha_error_set(MHA_STATUS_UNSUPPORTED, "this backend does not take float32 weights");
    return MHA_STATUS_OK;
}

static mha_status require_weight(const char *name, const float *pointer, int wanted,
                                 const char *because)
{
    if (wanted && !pointer)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "weights.%s is NULL but %s", name, because);
    if (!wanted && pointer)
        return mha_error_set(MHA_STATUS_INVALID_VALUE, "weights.%s is given but %s", name,
                             because);
    return MHA_STATUS_OK;
}

mha_status validate_weights(const mha_weights *caller, const mha_config *config,
                            mha_weights *weights)
{
    mha_status status = mha_copy_in("weights", caller, MHA_WEIGHTS_SIZE_V1, "mha_weights_init",
                                    weights, sizeof *weights);
    if (status != MHA_STATUS_OK)
        return status;
    if (weights->next)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "weights.next: no weight extensions are defined yet");

    int same_dims = config->kdim == config->embed_dim && config->vdim == config->embed_dim;
    int separate_given = weights->q_proj_weight || weights->k_proj_weight || weights->v_proj_weight;
    /* PyTorch stores in_proj_weight when kdim == vdim == E, else three
     * matrices; with equal dims mha also takes the three separately. */
    int use_packed = same_dims && (weights->in_proj_weight || !separate_given);
    const char *packed_reason = use_packed
                                    ? "kdim == vdim == embed_dim and q/k/v weights are not given"
                                    : (same_dims ? "q/k/v_proj_weight are given instead"
                                                 : "kdim or vdim differs from embed_dim");
    if ((status = require_weight("in_proj_weight", weights->in_proj_weight, use_packed,
                                 packed_reason)) != MHA_STATUS_OK)
        return status;
    const char *separate_reason = use_packed ? "in_proj_weight is used"
                                             : (same_dims ? "q/k/v_proj_weight are used"
                                                          : "kdim or vdim differs from embed_dim");
    if ((status = require_weight("q_proj_weight", weights->q_proj_weight, !use_packed,
                                 separate_reason)) != MHA_STATUS_OK ||
        (status = require_weight("k_proj_weight", weights->k_proj_weight, !use_packed,
                                 separate_reason)) != MHA_STATUS_OK ||
        (status = require_weight("v_proj_weight", weights->v_proj_weight, !use_packed,
                                 separate_reason)) != MHA_STATUS_OK)
        return status;
    const char *bias_reason = config->bias ? "config.bias is true" : "config.bias is false";
    if ((status = require_weight("in_proj_bias", weights->in_proj_bias, config->bias,
                                 bias_reason)) != MHA_STATUS_OK ||
        (status = require_weight("out_proj_bias", weights->out_proj_bias, config->bias,
                                 bias_reason)) != MHA_STATUS_OK ||
        (status = require_weight("out_proj_weight", weights->out_proj_weight, 1,
                                 "it is always required")) != MHA_STATUS_OK)
        return status;
    const char *kv_reason =
        config->add_bias_kv ? "config.add_bias_kv is true" : "config.add_bias_kv is false";
    if ((status = require_weight("bias_k", weights->bias_k, config->add_bias_kv, kv_reason)) !=
            MHA_STATUS_OK ||
        (status = require_weight("bias_v", weights->bias_v, config->add_bias_kv, kv_reason)) !=
            MHA_STATUS_OK)
        return status;
    return MHA_STATUS_OK;
}

/* ---- tensors ------------------------------------------------------------- */

static const char *shape_of(const mha_tensor *tensor, char *buf, size_t size)
{
    int32_t rank = tensor->rank < 0 ? 0 : tensor->rank > MHA_MAX_RANK ? MHA_MAX_RANK : tensor->rank;
    return mha_shape_string(rank, tensor->shape, buf, size);
}

static int memory_allowed(const mha_capabilities *caps, mha_memory memory)
{
    return (unsigned)memory < 32 && (caps->memory_kinds & (1u << memory));
}

/* Checks what every present tensor needs: data, dtype among `dtypes` (bits),
 * rank among `ranks` (bits), positive dims, byte size within size_t. */
static mha_status check_tensor(const char *name, const mha_tensor *tensor, unsigned dtypes,
                               unsigned ranks, const mha_capabilities *caps)
{
    char shape[96];
    if (!tensor->data)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s.data is NULL", name);
    if (!memory_allowed(caps, tensor->memory))
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "%s.memory is %d, a memory kind this backend does not accept", name,
                             (int)tensor->memory);
    if (tensor->memory == MHA_MEMORY_HOST && tensor->offset != 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "%s.offset is %llu but must be 0 for host memory", name,
                             (unsigned long long)tensor->offset);
    if ((unsigned)tensor->dtype >= 32 || !(dtypes & (1u << tensor->dtype)))
        return mha_error_set(MHA_STATUS_INVALID_DTYPE, "%s.dtype is %s, which is not allowed here",
                             name, mha_dtype_name(tensor->dtype));
    if (tensor->rank < 0 || tensor->rank > MHA_MAX_RANK || !(ranks & (1u << tensor->rank)))
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH, "%s.rank is %d but must be %s", name,
                             (int)tensor->rank,
                             ranks == (1u << 2 | 1u << 3) ? "2 or 3"
                             : ranks == (1u << 1 | 1u << 2) ? "1 or 2"
                             : ranks == (1u << 2)           ? "2"
                             : ranks == (1u << 3)           ? "3"
                                                            : "another value");
    int64_t count = 1;
    for (int32_t i = 0; i < tensor->rank; ++i) {
        if (tensor->shape[i] <= 0)
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "%s: shape %s has a dimension of %lld; every size must be > 0",
                                 name, shape_of(tensor, shape, sizeof shape),
                                 (long long)tensor->shape[i]);
        if (!multiply(count, tensor->shape[i], &count))
            return mha_error_set(MHA_STATUS_SIZE_OVERFLOW,
                                 "%s: shape %s has more elements than int64 can count", name,
                                 shape_of(tensor, shape, sizeof shape));
    }
    if ((uint64_t)count > SIZE_MAX / 4)
        return mha_error_set(MHA_STATUS_SIZE_OVERFLOW, "%s: shape %s is larger than memory", name,
                             shape_of(tensor, shape, sizeof shape));
    return MHA_STATUS_OK;
}

/* Compares a tensor's shape with the expected one. */
static mha_status check_shape(const char *name, const mha_tensor *tensor, int32_t rank,
                              const int64_t *expected, const char *why)
{
    int same = tensor->rank == rank;
    for (int32_t i = 0; same && i < rank; ++i)
        same = tensor->shape[i] == expected[i];
    if (same)
        return MHA_STATUS_OK;
    char actual_text[96], expected_text[96];
    return mha_error_set(MHA_STATUS_SHAPE_MISMATCH, "%s: shape %s but expected %s%s%s", name,
                         shape_of(tensor, actual_text, sizeof actual_text),
                         mha_shape_string(rank, expected, expected_text, sizeof expected_text),
                         why ? " " : "", why ? why : "");
}

static int same_tensor(const mha_tensor *a, const mha_tensor *b)
{
    if (a->data != b->data || a->memory != b->memory || a->offset != b->offset ||
        a->rank != b->rank || a->dtype != b->dtype)
        return 0;
    for (int32_t i = 0; i < a->rank; ++i)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

/* Sequence length and batch of a query/key/value tensor in its layout. */
static void sequence_and_batch(const mha_tensor *tensor, int batch_first, int64_t *length,
                               int64_t *batch)
{
    if (tensor->rank == 2) {
        *length = tensor->shape[0];
        *batch = 1;
    } else if (batch_first) {
        *batch = tensor->shape[0];
        *length = tensor->shape[1];
    } else {
        *length = tensor->shape[0];
        *batch = tensor->shape[1];
    }
}

static mha_status check_inputs(const mha_config *config, const mha_capabilities *caps,
                               const mha_forward_args *args, mha_problem *problem)
{
    const unsigned f32 = 1u << MHA_DTYPE_F32, rank23 = 1u << 2 | 1u << 3;
    mha_status status;
    if ((status = check_tensor("query", &args->query, f32 & caps->dtypes, rank23, caps)) ||
        (status = check_tensor("key", &args->key, f32 & caps->dtypes, rank23, caps)) ||
        (status = check_tensor("value", &args->value, f32 & caps->dtypes, rank23, caps)))
        return status;
    char shape[96], other[96];
    if (args->key.rank != args->query.rank || args->value.rank != args->query.rank) {
        const char *name = args->key.rank != args->query.rank ? "key" : "value";
        const mha_tensor *tensor = args->key.rank != args->query.rank ? &args->key : &args->value;
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "%s: shape %s has rank %d but query %s has rank %d", name,
                             shape_of(tensor, shape, sizeof shape), (int)tensor->rank,
                             shape_of(&args->query, other, sizeof other), (int)args->query.rank);
    }
    const int batch_first = config->batch_first;
    int64_t L, N, S, key_batch, value_length, value_batch;
    sequence_and_batch(&args->query, batch_first, &L, &N);
    sequence_and_batch(&args->key, batch_first, &S, &key_batch);
    sequence_and_batch(&args->value, batch_first, &value_length, &value_batch);
    int32_t last = args->query.rank - 1;
    if (args->query.shape[last] != config->embed_dim)
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "query: shape %s has %lld features but embed_dim is %lld",
                             shape_of(&args->query, shape, sizeof shape),
                             (long long)args->query.shape[last], (long long)config->embed_dim);
    if (args->key.shape[last] != config->kdim)
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "key: shape %s has %lld features but kdim is %lld",
                             shape_of(&args->key, shape, sizeof shape),
                             (long long)args->key.shape[last], (long long)config->kdim);
    if (args->value.shape[last] != config->vdim)
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "value: shape %s has %lld features but vdim is %lld",
                             shape_of(&args->value, shape, sizeof shape),
                             (long long)args->value.shape[last], (long long)config->vdim);
    if (key_batch != N || value_batch != N) {
        const char *name = key_batch != N ? "key" : "value";
        const mha_tensor *tensor = key_batch != N ? &args->key : &args->value;
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "%s: shape %s has batch size %lld but query %s has %lld", name,
                             shape_of(tensor, shape, sizeof shape),
                             (long long)(key_batch != N ? key_batch : value_batch),
                             shape_of(&args->query, other, sizeof other), (long long)N);
    }
    if (value_length != S)
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "value: shape %s has %lld rows but key %s has %lld", 
                             shape_of(&args->value, shape, sizeof shape), (long long)value_length,
                             shape_of(&args->key, other, sizeof other), (long long)S);

    memset(problem, 0, sizeof *problem);
    problem->struct_size = sizeof *problem;
    problem->batch = N;
    problem->tgt_len = L;
    problem->src_len = S;
    problem->src_len_total = S + (config->add_bias_kv ? 1 : 0) + (config->add_zero_attn ? 1 : 0);
    problem->embed_dim = config->embed_dim;
    problem->num_heads = config->num_heads;
    problem->head_dim = config->embed_dim / config->num_heads;
    problem->kdim = config->kdim;
    problem->vdim = config->vdim;
    problem->batched = args->query.rank == 3;
    problem->batch_first = batch_first && problem->batched;
    problem->kv_same = same_tensor(&args->key, &args->value);
    problem->self_attention = problem->kv_same && same_tensor(&args->query, &args->key);
    problem->apply_dropout = args->training && config->dropout > 0.0f;
    problem->dropout = problem->apply_dropout ? config->dropout : 0.0f;
    problem->scale = (float)(1.0 / sqrt((double)problem->head_dim));

    /* The largest intermediate is the (N, H, L, S') weight tensor. */
    int64_t elements;
    if (!multiply(N, config->num_heads, &elements) || !multiply(elements, L, &elements) ||
        !multiply(elements, problem->src_len_total, &elements) ||
        (uint64_t)elements > SIZE_MAX / sizeof(float))
        return mha_error_set(MHA_STATUS_SIZE_OVERFLOW,
                             "query/key: N*H*L*S' = %lld*%lld*%lld*%lld overflows", (long long)N,
                             (long long)config->num_heads, (long long)L,
                             (long long)problem->src_len_total);
    int64_t longest = L > problem->src_len_total ? L : problem->src_len_total;
    if (caps->max_sequence > 0 && longest > caps->max_sequence)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "query/key: sequence length %lld but this backend allows at most %lld",
                             (long long)longest, (long long)caps->max_sequence);
    return MHA_STATUS_OK;
}

static mha_status check_masks(const mha_capabilities *caps, const mha_forward_args *args,
                              mha_problem *problem)
{
    const unsigned mask_dtypes = 1u << MHA_DTYPE_BOOL | 1u << MHA_DTYPE_F32;
    const int64_t N = problem->batch, L = problem->tgt_len, S = problem->src_len;
    mha_status status;
    if (args->key_padding_mask.data) {
        const mha_tensor *mask = &args->key_padding_mask;
        unsigned rank = problem->batched ? 1u << 2 : 1u << 1;
        if ((status = check_tensor("key_padding_mask", mask, mask_dtypes, rank, caps)))
            return status;
        int64_t expected[2] = {N, S};
        status = problem->batched
                     ? check_shape("key_padding_mask", mask, 2, expected, "(N, S)")
                     : check_shape("key_padding_mask", mask, 1, expected + 1, "(S) for unbatched input");
        if (status)
            return status;
        unsigned kind = mask->dtype == MHA_DTYPE_BOOL ? MHA_MASK_KEY_PADDING_BOOL
                                                      : MHA_MASK_KEY_PADDING_FLOAT;
        if (!(caps->mask_kinds & kind))
            return mha_error_set(MHA_STATUS_UNSUPPORTED,
                                 "key_padding_mask: %s masks are not supported by this backend",
                                 mha_dtype_name(mask->dtype));
    }
    if (args->attn_mask.data) {
        const mha_tensor *mask = &args->attn_mask;
        if ((status = check_tensor("attn_mask", mask, mask_dtypes, 1u << 2 | 1u << 3, caps)))
            return status;
        if (mask->rank == 2) {
            int64_t expected[2] = {L, S};
            status = check_shape("attn_mask", mask, 2, expected, "(L, S)");
        } else {
            int64_t expected[3] = {N * problem->num_heads, L, S};
            status = check_shape("attn_mask", mask, 3, expected,
                                 problem->batched ? "(N*num_heads, L, S)" : "(num_heads, L, S)");
        }
        if (status)
            return status;
        problem->attn_mask_3d = mask->rank == 3;
        unsigned kind = mask->dtype == MHA_DTYPE_BOOL
                            ? (mask->rank == 2 ? MHA_MASK_ATTN_BOOL_2D : MHA_MASK_ATTN_BOOL_3D)
                            : (mask->rank == 2 ? MHA_MASK_ATTN_FLOAT_2D : MHA_MASK_ATTN_FLOAT_3D);
        if (!(caps->mask_kinds & kind))
            return mha_error_set(MHA_STATUS_UNSUPPORTED,
                                 "attn_mask: %d-D %s masks are not supported by this backend",
                                 (int)mask->rank, mha_dtype_name(mask->dtype));
    }
    switch (args->causal) {
    case MHA_CAUSAL_NONE:
        break;
    case MHA_CAUSAL_TOP_LEFT:
    case MHA_CAUSAL_BOTTOM_RIGHT: {
        unsigned kind = args->causal == MHA_CAUSAL_TOP_LEFT ? MHA_MASK_CAUSAL_TOP_LEFT
                                                            : MHA_MASK_CAUSAL_BOTTOM_RIGHT;
        if (!(caps->mask_kinds & kind))
            return mha_error_set(MHA_STATUS_UNSUPPORTED,
                                 "causal: this alignment is not supported by this backend");
        break;
    }
    default:
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "causal is %d but must be MHA_CAUSAL_NONE, _TOP_LEFT or _BOTTOM_RIGHT",
                             (int)args->causal);
    }
    return MHA_STATUS_OK;
}

mha_status validate_forward_inputs(const mha_attention *attention, const mha_forward_args *caller,
                                   mha_forward_args *args, mha_problem *problem)
{
    const mha_capabilities *caps = &attention->backend->caps;
    mha_status status = mha_copy_in("args", caller, MHA_FORWARD_ARGS_SIZE_V1,
                                    "mha_forward_args_init", args, sizeof *args);
    if (status)
        return status;
    if ((status = check_extensions("args", args->next, caps)))
        return status;
    if ((status = check_inputs(&attention->config, caps, args, problem)))
        return status;
    if ((status = check_masks(caps, args, problem)))
        return status;
    if (problem->apply_dropout && !caps->dropout)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "training with dropout: not supported by this backend");
    if (args->need_weights && !caps->need_weights)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "need_weights: this backend cannot return attention weights");
    return MHA_STATUS_OK;
}

void expected_output_shapes(const mha_problem *problem, const mha_forward_args *args,
                            mha_tensor *attn_output, mha_tensor *attn_weights)
{
    if (attn_output) {
        memset(attn_output, 0, sizeof *attn_output);
        attn_output->dtype = MHA_DTYPE_F32;
        attn_output->rank = args->query.rank;
        memcpy(attn_output->shape, args->query.shape, sizeof attn_output->shape);
        attn_output->shape[args->query.rank - 1] = problem->embed_dim;
    }
    if (attn_weights) {
        memset(attn_weights, 0, sizeof *attn_weights);
        if (!args->need_weights)
            return;
        attn_weights->dtype = MHA_DTYPE_F32;
        int32_t rank = 0;
        if (problem->batched)
            attn_weights->shape[rank++] = problem->batch;
        if (!args->average_attn_weights)
            attn_weights->shape[rank++] = problem->num_heads;
        attn_weights->shape[rank++] = problem->tgt_len;
        attn_weights->shape[rank++] = problem->src_len_total;
        attn_weights->rank = rank;
    }
}

/* Where a present, validated tensor's bytes are: host tensors share one
 * address space (space 0); a cl_mem tensor's are `offset..` of its buffer. */
typedef struct byte_range {
    int memory;
    uintptr_t space;
    uint64_t begin, end;
} byte_range;

static byte_range range_of(const mha_tensor *tensor)
{
    uint64_t bytes = mha_dtype_size(tensor->dtype);
    for (int32_t i = 0; i < tensor->rank; ++i)
        bytes *= (uint64_t)tensor->shape[i];
    byte_range range = {.memory = (int)tensor->memory};
    if (tensor->memory == MHA_MEMORY_HOST) {
        range.begin = (uint64_t)(uintptr_t)tensor->data;
    } else {
        range.space = (uintptr_t)tensor->data; /* the buffer's handle */
        range.begin = tensor->offset;
    }
    range.end = range.begin + bytes;
    return range;
}

/* An output must not share a byte with an input or with the other output:
 * plugins read inputs while they write outputs, in any order. (Two cl_mem
 * sub-buffers of one parent are not seen as one buffer here.) */
static mha_status check_no_overlap(const char *output_name, const mha_tensor *output,
                                   const char *other_name, const mha_tensor *other)
{
    if (!other->data)
        return MHA_STATUS_OK;
    byte_range a = range_of(output), b = range_of(other);
    if (a.memory != b.memory || a.space != b.space || a.end <= b.begin || b.end <= a.begin)
        return MHA_STATUS_OK;
    return mha_error_set(MHA_STATUS_INVALID_VALUE,
                         "%s overlaps %s (bytes 0x%llx..0x%llx and 0x%llx..0x%llx of the same "
                         "%s); outputs must not overlap the inputs or each other",
                         output_name, other_name, (unsigned long long)a.begin,
                         (unsigned long long)a.end, (unsigned long long)b.begin,
                         (unsigned long long)b.end,
                         a.memory == MHA_MEMORY_HOST ? "host memory" : "buffer");
}

static mha_status check_outputs_apart(const mha_forward_args *args)
{
    const struct {
        const char *name;
        const mha_tensor *tensor;
    } inputs[] = {
        {"query", &args->query},
        {"key", &args->key},
        {"value", &args->value},
        {"key_padding_mask", &args->key_padding_mask},
        {"attn_mask", &args->attn_mask},
    };
    mha_status status;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; ++i) {
        if ((status = check_no_overlap("attn_output", &args->attn_output, inputs[i].name,
                                       inputs[i].tensor)))
            return status;
        if (args->need_weights &&
            (status = check_no_overlap("attn_weights", &args->attn_weights, inputs[i].name,
                                       inputs[i].tensor)))
            return status;
    }
    if (args->need_weights &&
        (status = check_no_overlap("attn_output", &args->attn_output, "attn_weights",
                                   &args->attn_weights)))
        return status;
    return MHA_STATUS_OK;
}

mha_status validate_forward_outputs(const mha_attention *attention, const mha_forward_args *args,
                                    const mha_problem *problem)
{
    const mha_capabilities *caps = &attention->backend->caps;
    const unsigned f32 = 1u << MHA_DTYPE_F32, any_rank = 0x1fu;
    mha_tensor expected_output, expected_weights;
    expected_output_shapes(problem, args, &expected_output, &expected_weights);
    mha_status status;
    if ((status = check_tensor("attn_output", &args->attn_output, f32, any_rank, caps)) ||
        (status = check_shape("attn_output", &args->attn_output, expected_output.rank,
                              expected_output.shape, "(the query's layout with embed_dim)")))
        return status;
    if (args->need_weights) {
        const char *why = args->average_attn_weights ? "(averaged over heads)" : "(per head)";
        if ((status = check_tensor("attn_weights", &args->attn_weights, f32, any_rank, caps)) ||
            (status = check_shape("attn_weights", &args->attn_weights, expected_weights.rank,
                                  expected_weights.shape, why)))
            return status;
    }
    return check_outputs_apart(args);
}
