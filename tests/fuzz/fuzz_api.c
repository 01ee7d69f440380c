/*
 * fuzz_api.c - fuzzes argument validation through the public API on the
 * reference plugin.
 *
 * An input is a header that describes a consistent call (sizes, options,
 * masks) followed by mutations, each of which changes one field: a shape
 * dimension, rank, dtype, memory kind, offset or data pointer of a tensor, a
 * config field or struct_size, a weight pointer, causal, an extension chain.
 * tests/fuzz/make_corpus.py writes seeds in this format.
 *
 * When every size is small, each tensor gets a buffer of exactly the bytes its
 * declared shape and dtype need (so AddressSanitizer catches any read or
 * write the validated call should not make), and the harness calls
 * mha_attention_create and mha_attention_forward. When a size is large, it only
 * calls mha_attention_output_shapes (validation without compute), or, for a
 * large config, mha_attention_create with out_proj_weight missing so that
 * config validation runs but no weight is ever read.
 *
 * Checked besides the sanitizers: a failure has a known status and a message;
 * a forward that succeeds agrees with mha_attention_output_shapes and, since
 * every input is finite, writes only finite outputs.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mha/mha.h"

/* ---- reading the input ----------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static uint8_t u8(reader *r)
{
    if (r->left == 0)
        return 0;
    r->left--;
    return *r->p++;
}

static int64_t i64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v |= (uint64_t)u8(r) << (8 * i);
    int64_t out;
    memcpy(&out, &v, sizeof out);
    return out;
}

/* A dimension: mostly small, sometimes a value that overflows something. */
static int64_t decode_dim(reader *r)
{
    static const int64_t huge[] = {INT64_C(1) << 31, INT64_C(1) << 32, INT64_C(1) << 40,
                                   INT64_C(1) << 62, INT64_MAX,        INT64_MIN,
                                   INT64_C(3037000500), -(INT64_C(1) << 40)};
    uint8_t kind = u8(r);
    switch (kind % 8) {
    case 0: case 1: case 2: case 3:
        return (int64_t)(u8(r) % 10) - 1; /* -1 .. 8 */
    case 4:
        return huge[u8(r) % (sizeof huge / sizeof *huge)];
    case 5:
        return i64(r);
    case 6:
        return 0;
    default:
        return 1 + u8(r) % 64;
    }
}

/* ---- the call ---------------------------------------------------------------- */

enum { T_QUERY, T_KEY, T_VALUE, T_KPM, T_MASK, T_OUTPUT, T_WEIGHTS, T_COUNT };
enum { W_IN, W_Q, W_K, W_V, W_IN_BIAS, W_OUT, W_OUT_BIAS, W_BIAS_K, W_BIAS_V, W_COUNT };

/* Small enough to allocate and compute: every dimension and config size at
 * most SMALL_DIM, every tensor at most SMALL_COUNT elements. */
enum { SMALL_DIM = 64, SMALL_COUNT = 4096 };

typedef struct call {
    mha_config config;
    mha_weights weights;
    bool weight_given[W_COUNT];
    mha_forward_args args;
    bool present[T_COUNT]; /* data pointer given */
    bool self_attention;   /* query, key and value share one buffer */
    mha_extension extensions[2];
} call;

static mha_tensor *tensor_of(call *c, int which)
{
    switch (which) {
    case T_QUERY: return &c->args.query;
    case T_KEY: return &c->args.key;
    case T_VALUE: return &c->args.value;
    case T_KPM: return &c->args.key_padding_mask;
    case T_MASK: return &c->args.attn_mask;
    case T_OUTPUT: return &c->args.attn_output;
    default: return &c->args.attn_weights;
    }
}

static void set_shape(mha_tensor *t, mha_dtype dtype, int32_t rank, int64_t d0, int64_t d1,
                      int64_t d2, int64_t d3)
{
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->rank = rank;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->shape[2] = d2;
    t->shape[3] = d3;
}

/* The 18-byte header: a consistent call. */
static void decode_call(reader *r, call *c)
{
    memset(c, 0, sizeof *c);
    const int64_t H = 1 + u8(r) % 4, D = 1 + u8(r) % 8, E = H * D;
    const int64_t L = 1 + u8(r) % 8, N = 1 + u8(r) % 4, S = 1 + u8(r) % 8;
    const int64_t kdim = u8(r) % 9, vdim = u8(r) % 9;
    const uint8_t options = u8(r), masks = u8(r), dropout = u8(r);
    const int64_t seed = i64(r);

    mha_config_init(&c->config, E, H);
    mha_weights_init(&c->weights);
    c->config.kdim = kdim;
    c->config.vdim = vdim;
    c->config.bias = options & 1;
    c->config.add_bias_kv = options & 2;
    c->config.add_zero_attn = options & 4;
    c->config.batch_first = options & 8;
    static const float odd_dropouts[] = {NAN, 1.0f, -0.5f, INFINITY, 0.999999f, 1e-30f};
    c->config.dropout = dropout < 200 ? (float)dropout / 256.0f
                                      : odd_dropouts[(dropout - 200) % 6];
    if (!(c->config.dropout >= 0.0f && c->config.dropout < 1.0f) && !(options & 128))
        c->config.dropout = 0.0f; /* odd values only when training is asked for */

    const bool batched = !(options & 16);
    const int64_t kd = kdim ? kdim : E, vd = vdim ? vdim : E;
    const int64_t S_total = S + !!c->config.add_bias_kv + !!c->config.add_zero_attn;
    mha_forward_args_init(&c->args);
    c->args.need_weights = options & 32;
    c->args.average_attn_weights = !(options & 64);
    c->args.training = options & 128;
    c->args.dropout_seed = (uint64_t)seed;
    c->args.causal = (mha_causal)((masks >> 5) & 3); /* 3 is invalid */
    c->self_attention = (masks & 128) && kd == E && vd == E;
    const int64_t Lq = L;
    const int64_t Sk = c->self_attention ? L : S; /* self-attention: one tensor */
    const int64_t St = Sk + (S_total - S);

    if (batched) {
        bool bf = c->config.batch_first;
        set_shape(&c->args.query, MHA_DTYPE_F32, 3, bf ? N : Lq, bf ? Lq : N, E, 0);
        set_shape(&c->args.key, MHA_DTYPE_F32, 3, bf ? N : Sk, bf ? Sk : N, kd, 0);
        set_shape(&c->args.value, MHA_DTYPE_F32, 3, bf ? N : Sk, bf ? Sk : N, vd, 0);
        set_shape(&c->args.attn_output, MHA_DTYPE_F32, 3, bf ? N : Lq, bf ? Lq : N, E, 0);
        set_shape(&c->args.key_padding_mask, MHA_DTYPE_BOOL, 2, N, Sk, 0, 0);
        if (c->args.average_attn_weights)
            set_shape(&c->args.attn_weights, MHA_DTYPE_F32, 3, N, Lq, St, 0);
        else
            set_shape(&c->args.attn_weights, MHA_DTYPE_F32, 4, N, H, Lq, St);
    } else {
        set_shape(&c->args.query, MHA_DTYPE_F32, 2, Lq, E, 0, 0);
        set_shape(&c->args.key, MHA_DTYPE_F32, 2, Sk, kd, 0, 0);
        set_shape(&c->args.value, MHA_DTYPE_F32, 2, Sk, vd, 0, 0);
        set_shape(&c->args.attn_output, MHA_DTYPE_F32, 2, Lq, E, 0, 0);
        set_shape(&c->args.key_padding_mask, MHA_DTYPE_BOOL, 1, Sk, 0, 0, 0);
        if (c->args.average_attn_weights)
            set_shape(&c->args.attn_weights, MHA_DTYPE_F32, 2, Lq, St, 0, 0);
        else
            set_shape(&c->args.attn_weights, MHA_DTYPE_F32, 3, H, Lq, St, 0);
    }
    if (masks & 2)
        c->args.key_padding_mask.dtype = MHA_DTYPE_F32;
    if (masks & 8)
        set_shape(&c->args.attn_mask, MHA_DTYPE_BOOL, 3, (batched ? N : 1) * H, Lq, Sk, 0);
    else
        set_shape(&c->args.attn_mask, MHA_DTYPE_BOOL, 2, Lq, Sk, 0, 0);
    if (masks & 16)
        c->args.attn_mask.dtype = MHA_DTYPE_F32;

    c->present[T_QUERY] = c->present[T_KEY] = c->present[T_VALUE] = true;
    c->present[T_OUTPUT] = true;
    c->present[T_KPM] = masks & 1;
    c->present[T_MASK] = masks & 4;
    c->present[T_WEIGHTS] = c->args.need_weights;

    const bool packed = kd == E && vd == E;
    c->weight_given[W_IN] = packed;
    c->weight_given[W_Q] = c->weight_given[W_K] = c->weight_given[W_V] = !packed;
    c->weight_given[W_IN_BIAS] = c->weight_given[W_OUT_BIAS] = c->config.bias;
    c->weight_given[W_OUT] = true;
    c->weight_given[W_BIAS_K] = c->weight_given[W_BIAS_V] = c->config.add_bias_kv;
}

/* Mutations, each taking a few bytes, until the input ends. */
static void mutate(reader *r, call *c)
{
    while (r->left > 0) {
        uint8_t op = u8(r);
        int which = u8(r) % T_COUNT;
        mha_tensor *t = tensor_of(c, which);
        switch (op % 14) {
        case 0: t->shape[u8(r) % MHA_MAX_RANK] = decode_dim(r); break;
        case 1: t->rank = (int8_t)u8(r); break;
        case 2: { static const int dtypes[] = {0, 1, 2, 3, 77, -1};
                  t->dtype = (mha_dtype)dtypes[u8(r) % 6]; break; }
        case 3: t->memory = (mha_memory)(u8(r) % 3); break;
        case 4: t->offset = u8(r); break;
        case 5: c->present[which] = !c->present[which]; break;
        case 6:
            switch (u8(r) % 5) {
            case 0: c->config.embed_dim = decode_dim(r); break;
            case 1: c->config.num_heads = decode_dim(r); break;
            case 2: c->config.kdim = decode_dim(r); break;
            case 3: c->config.vdim = decode_dim(r); break;
            default: c->config.struct_size = u8(r) % (sizeof c->config + 1); break;
            }
            break;
        case 7: { int w = u8(r) % W_COUNT; c->weight_given[w] = !c->weight_given[w]; break; }
        case 8:
            if (u8(r) & 1)
                c->args.struct_size = u8(r) % (sizeof c->args + 1);
            else
                c->weights.struct_size = u8(r) % (sizeof c->weights + 1);
            break;
        case 9: c->args.causal = (mha_causal)((int)u8(r) - 2); break;
        case 10: {
            uint8_t how = u8(r);
            c->extensions[0] = (mha_extension){sizeof(mha_extension), u8(r), NULL};
            c->extensions[1] = (mha_extension){sizeof(mha_extension), u8(r), NULL};
            if (how & 1)
                c->extensions[0].next = &c->extensions[1];
            if (how & 2)
                c->extensions[1].next = &c->extensions[0]; /* a cycle */
            if (how & 4)
                c->config.next = &c->extensions[0];
            else if (how & 8)
                c->weights.next = &c->extensions[0];
            else
                c->args.next = &c->extensions[0];
            break;
        }
        case 11: {
            uint8_t flags = u8(r);
            if (flags & 1) c->args.need_weights = !c->args.need_weights;
            if (flags & 2) c->args.average_attn_weights = !c->args.average_attn_weights;
            if (flags & 4) c->args.training = !c->args.training;
            if (flags & 8) c->config.bias = !c->config.bias;
            if (flags & 16) c->config.add_bias_kv = !c->config.add_bias_kv;
            if (flags & 32) c->config.add_zero_attn = !c->config.add_zero_attn;
            if (flags & 64) c->config.batch_first = !c->config.batch_first;
            break;
        }
        case 12: {
            uint32_t bits = (uint32_t)i64(r);
            memcpy(&c->config.dropout, &bits, sizeof bits);
            break;
        }
        default: c->self_attention = !c->self_attention; break;
        }
    }
}

/* ---- buffers ------------------------------------------------------------------ */

static size_t dtype_bytes(mha_dtype dtype)
{
    return dtype == MHA_DTYPE_BOOL ? 1 : dtype == MHA_DTYPE_F16 ? 2 : 4;
}

/* Elements the declared shape needs, or -1 when it is not small. Invalid
 * shapes (bad rank, dims <= 0) get 1: validation must reject them. */
static long small_count(const mha_tensor *t)
{
    if (t->rank < 0 || t->rank > MHA_MAX_RANK)
        return 1;
    long count = 1;
    for (int32_t i = 0; i < t->rank; ++i) {
        if (t->shape[i] <= 0)
            return 1;
        if (t->shape[i] > SMALL_DIM)
            return -1;
        count *= (long)t->shape[i];
        if (count > SMALL_COUNT)
            return -1;
    }
    return count;
}

static bool config_small(const mha_config *config)
{
    return config->embed_dim <= SMALL_DIM && config->kdim <= SMALL_DIM &&
           config->vdim <= SMALL_DIM;
}

static void *filled(size_t count, size_t element, unsigned seed)
{
    size_t bytes = count * element;
    unsigned char *buffer = malloc(bytes ? bytes : 1);
    if (!buffer)
        abort();
    if (element == 4) {
        for (size_t i = 0; i < count; ++i) {
            float value = (float)((i * 37u + seed * 11u) % 101u) / 50.0f - 1.0f;
            memcpy(buffer + 4 * i, &value, 4);
        }
    } else {
        for (size_t i = 0; i < bytes; ++i)
            buffer[i] = (unsigned char)((i + seed) % 3 == 0);
    }
    return buffer;
}

static void check_failure(mha_status status)
{
    if ((int)status <= (int)MHA_STATUS_OK || (int)status >= (int)MHA_STATUS_INTERNAL)
        abort();
    if (mha_last_error()[0] == '\0')
        abort();
}

static mha_backend *g_backend;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_backend && mha_backend_open("reference", &g_backend) != MHA_STATUS_OK)
        abort(); /* the harness needs the reference plugin */

    reader r = {data, size};
    static call c;
    decode_call(&r, &c);
    mutate(&r, &c);

    /* Weights: exactly what the (possibly mutated) config says a plugin reads. */
    void *weight_buffers[W_COUNT] = {0};
    const float **weight_slots[W_COUNT] = {
        &c.weights.in_proj_weight, &c.weights.q_proj_weight, &c.weights.k_proj_weight,
        &c.weights.v_proj_weight,  &c.weights.in_proj_bias,  &c.weights.out_proj_weight,
        &c.weights.out_proj_bias,  &c.weights.bias_k,        &c.weights.bias_v};
    const bool small_config = config_small(&c.config);
    if (small_config) {
        int64_t E = c.config.embed_dim > 0 ? c.config.embed_dim : 1;
        int64_t kd = c.config.kdim > 0 ? c.config.kdim : E;
        int64_t vd = c.config.vdim > 0 ? c.config.vdim : E;
        const size_t counts[W_COUNT] = {(size_t)(3 * E * E), (size_t)(E * E), (size_t)(E * kd),
                                        (size_t)(E * vd),    (size_t)(3 * E), (size_t)(E * E),
                                        (size_t)E,           (size_t)E,       (size_t)E};
        for (int w = 0; w < W_COUNT; ++w)
            if (c.weight_given[w]) {
                weight_buffers[w] = filled(counts[w], 4, 100u + (unsigned)w);
                *weight_slots[w] = weight_buffers[w];
            }
    } else {
        /* Config validation runs, then weights validation must fail before
         * anything is read. */
        static const float dummy[1];
        for (int w = 0; w < W_COUNT; ++w)
            if (c.weight_given[w] && w != W_OUT)
                *weight_slots[w] = dummy;
    }

    /* Tensors: exact buffers when every declared shape is small. */
    bool small = small_config;
    for (int t = 0; t < T_COUNT; ++t)
        if (c.present[t] && small_count(tensor_of(&c, t)) < 0)
            small = false;
    void *buffers[T_COUNT] = {0};
    static const float placeholder[4];
    for (int t = 0; t < T_COUNT; ++t) {
        mha_tensor *tensor = tensor_of(&c, t);
        if (!c.present[t]) {
            tensor->data = NULL;
            continue;
        }
        if (!small) {
            tensor->data = (void *)(uintptr_t)placeholder; /* never read: shapes only */
            continue;
        }
        long count = small_count(tensor);
        buffers[t] = filled((size_t)count, dtype_bytes(tensor->dtype), (unsigned)t);
        tensor->data = buffers[t];
    }
    if (small && c.self_attention) {
        /* One buffer for query, key and value, as big as the largest. */
        c.args.key.data = c.args.value.data = c.args.query.data;
        long largest = small_count(&c.args.query);
        if (small_count(&c.args.key) > largest)
            largest = small_count(&c.args.key);
        if (small_count(&c.args.value) > largest)
            largest = small_count(&c.args.value);
        free(buffers[T_QUERY]);
        buffers[T_QUERY] = filled((size_t)largest, 4, 0);
        c.args.query.data = c.args.key.data = c.args.value.data = buffers[T_QUERY];
        free(buffers[T_KEY]);
        free(buffers[T_VALUE]);
        buffers[T_KEY] = buffers[T_VALUE] = NULL;
    }

    mha_attention *attention = NULL;
    mha_status status = mha_attention_create(g_backend, &c.config, &c.weights, &attention);
    if (!small_config && status == MHA_STATUS_OK)
        abort(); /* out_proj_weight was missing */
    mha_status last = status; /* of the last call made, for FUZZ_API_VERBOSE */
    if (status != MHA_STATUS_OK) {
        check_failure(status);
    } else {
        mha_tensor shape_output, shape_weights;
        mha_status shapes =
            mha_attention_output_shapes(attention, &c.args, &shape_output, &shape_weights);
        if (shapes != MHA_STATUS_OK)
            check_failure(shapes);
        last = shapes;
        if (small) {
            status = mha_attention_forward(attention, &c.args);
            last = status;
            if (status != MHA_STATUS_OK) {
                check_failure(status);
            } else {
                /* Success must agree with the shapes and write finite values. */
                const mha_tensor *out = &c.args.attn_output;
                if (shapes != MHA_STATUS_OK || shape_output.rank != out->rank ||
                    memcmp(shape_output.shape, out->shape, sizeof(int64_t) * (size_t)out->rank))
                    abort();
                long count = small_count(out);
                for (long i = 0; i < count; ++i)
                    if (!isfinite(((const float *)out->data)[i]))
                        abort();
                if (c.args.need_weights) {
                    const mha_tensor *w = &c.args.attn_weights;
                    if (shape_weights.rank != w->rank ||
                        memcmp(shape_weights.shape, w->shape, sizeof(int64_t) * (size_t)w->rank))
                        abort();
                    count = small_count(w);
                    for (long i = 0; i < count; ++i)
                        if (!isfinite(((const float *)w->data)[i]))
                            abort();
                }
            }
        }
        mha_attention_destroy(attention);
    }

    /* FUZZ_API_VERBOSE=1: one line per input, to see what the seeds reach. */
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_API_VERBOSE") != NULL;
    if (verbose)
        printf("fuzz_api: %s config, %s shapes: %s: %s\n", small_config ? "small" : "large",
               small ? "small" : "large", mha_status_name(last), mha_last_error());
    for (int t = 0; t < T_COUNT; ++t)
        free(buffers[t]);
    for (int w = 0; w < W_COUNT; ++w)
        free(weight_buffers[w]);
    return 0;
}
