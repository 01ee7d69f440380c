/*
 * core.cl - the attention core (include/mha/core.h, ONNX Attention
 * semantics) for any OpenCL 1.2 device: one work-item per query row
 * (b, h, i), one pass over the keys with an online softmax (a second only
 * for qk_matmul_output's probabilities), so no L x T matrix is ever held:
 * the CPUs' kernel, and the one for qk_matmul_output (cl/core_tiled.cl is
 * the GPUs', built after this file and using its helpers). Storage may be
 * float32, float16 (vload_half / vstore_half: no cl_khr_fp16 needed) or
 * bfloat16; arithmetic is float32.
 *
 * Every tensor arrives as a byte buffer plus, in `geometry`, its element
 * offset and four element strides (the host's rank-4 views; a broadcast
 * dimension has stride 0). Layout of `geometry` (longs): OCL_CORE_G_* in
 * cl/shared.h.
 */

/* Element `index` of a buffer of storage `dtype` (mha_dtype values). */
inline float core_load(global const uchar *base, long index, int dtype)
{
    if (dtype == OCL_DTYPE_F16)
        return vload_half((size_t)index, (global const half *)base);
    if (dtype == OCL_DTYPE_BF16)
        return as_float((uint)((global const ushort *)base)[index] << 16);
    if (dtype == OCL_DTYPE_BOOL)
        return base[index] ? 1.0f : 0.0f;
    return ((global const float *)base)[index];
}

inline void core_store(global uchar *base, long index, int dtype, float value)
{
    if (dtype == OCL_DTYPE_F16) {
        vstore_half_rte(value, (size_t)index, (global half *)base);
    } else if (dtype == OCL_DTYPE_BF16) {
        uint bits = as_uint(value);
        if ((bits & 0x7fffffffu) > 0x7f800000u)
            bits |= 0x00400000u; /* NaN stays a (quiet) NaN */
        else
            bits += 0x7fffu + ((bits >> 16) & 1u); /* round to nearest even */
        ((global ushort *)base)[index] = (ushort)(bits >> 16);
    } else {
        ((global float *)base)[index] = value;
    }
}

/* The element offset of (a, b, c, d) in the view whose offset and strides
 * start at geometry[at]. */
inline long core_at(global const long *g, int at, long a, long b, long c, long d)
{
    return g[at] + a * g[at + 1] + b * g[at + 2] + c * g[at + 3] + d * g[at + 4];
}

/* The additive bias of key j for query (b, h, i): 0, the float mask's value,
 * or -INFINITY where the key is excluded (mask, causal, window, length). */
inline float core_bias(global const long *g, global const uchar *mask, int mask_dtype,
                       int mask_true_attends, long b, long h, long i, long j, long offset,
                       long valid, int causal)
{
    float bias = 0.0f;
    if (mask_dtype != 0) {
        if (j >= g[OCL_CORE_G_MASK_COLS])
            return -INFINITY;
        float m = core_load(mask, core_at(g, OCL_CORE_G_MASK, b, h, i, j), mask_dtype);
        if (mask_dtype == OCL_DTYPE_BOOL) {
            if ((m != 0.0f) != (mask_true_attends != 0))
                return -INFINITY;
        } else {
            bias = m;
        }
    }
    if (causal && j > i + offset)
        return -INFINITY;
    long distance = i + offset - j;
    if (g[OCL_CORE_G_LEFT] >= 0 && distance > g[OCL_CORE_G_LEFT])
        return -INFINITY;
    if (g[OCL_CORE_G_RIGHT] >= 0 && -distance > g[OCL_CORE_G_RIGHT])
        return -INFINITY;
    if (j >= valid)
        return -INFINITY;
    return bias;
}

/* Batch b's causal offset (query i sits at key i + offset) and valid key
 * count: the past and T, or nonpad_kv_seqlen[b] (the offset from it too when
 * offset_from_nonpad). */
inline void core_row_limits(global const long *g, global const uchar *nonpad, int nonpad_dtype,
                            int offset_from_nonpad, long b, long *offset, long *valid)
{
    *offset = g[OCL_CORE_G_PAST];
    *valid = g[OCL_CORE_G_T];
    if (nonpad_dtype != 0) {
        const long at = g[OCL_CORE_G_NONPAD] + b * g[OCL_CORE_G_NONPAD + 1];
        *valid = nonpad_dtype == OCL_DTYPE_I64 ? ((global const long *)nonpad)[at]
                                               : ((global const int *)nonpad)[at];
        if (offset_from_nonpad)
            *offset = *valid - g[OCL_CORE_G_L];
    }
}

/* The score of key j: scale * q.k, softcapped. Key rows j < P come from the
 * past, the others from k. */
inline float core_score(global const long *g, const float *q_row, global const uchar *k,
                        global const uchar *past_k, int dtype, long b, long kh, long j,
                        float scale, float softcap)
{
    const long P = g[OCL_CORE_G_PAST], D = g[OCL_CORE_G_D];
    float dot = 0.0f;
    if (j < P) {
        for (long d = 0; d < D; ++d)
            dot += q_row[d] * core_load(past_k, core_at(g, OCL_CORE_G_PAST_K, b, kh, j, d), dtype);
    } else {
        for (long d = 0; d < D; ++d)
            dot += q_row[d] * core_load(k, core_at(g, OCL_CORE_G_K, b, kh, j - P, d), dtype);
    }
    float score = scale * dot;
    if (softcap > 0.0f)
        score = softcap * tanh(score / softcap);
    return score;
}

kernel void mha_core_rows(global const long *g, global const uchar *q, global const uchar *k,
                          global const uchar *v, global const uchar *past_k,
                          global const uchar *past_v, global const uchar *mask,
                          global const uchar *nonpad, global uchar *y, global uchar *qk,
                          int dtype, int mask_dtype, int mask_true_attends, int nonpad_dtype,
                          int causal, int offset_from_nonpad, int qk_mode, float scale,
                          float softcap)
{
    const long Hq = g[OCL_CORE_G_HQ], L = g[OCL_CORE_G_L], T = g[OCL_CORE_G_T];
    const long P = g[OCL_CORE_G_PAST], D = g[OCL_CORE_G_D], Dv = g[OCL_CORE_G_DV];
    const long row = get_global_id(0);
    if (row >= g[OCL_CORE_G_B] * Hq * L)
        return;
    const long i = row % L, h = (row / L) % Hq, b = row / (L * Hq);
    const long kh = h / g[OCL_CORE_G_GROUP];

    long offset, valid;
    core_row_limits(g, nonpad, nonpad_dtype, offset_from_nonpad, b, &offset, &valid);

    float q_row[OCL_CORE_HEAD_DIM_MAX];
    for (long d = 0; d < D; ++d)
        q_row[d] = core_load(q, core_at(g, OCL_CORE_G_Q, b, h, i, d), dtype);

    /* One pass over the keys with an online softmax: the running maximum,
     * the sum of exp(x - max) and the weighted values, both rescaled when
     * the maximum grows. */
    float acc[OCL_CORE_HEAD_DIM_MAX];
    for (long e = 0; e < Dv; ++e)
        acc[e] = 0.0f;
    float max = -INFINITY, sum = 0.0f;
    int all_masked = 1;
    for (long j = 0; j < T; ++j) {
        float bias = core_bias(g, mask, mask_dtype, mask_true_attends, b, h, i, j, offset, valid,
                               causal);
        all_masked &= bias == -INFINITY;
        float score = core_score(g, q_row, k, past_k, dtype, b, kh, j, scale, softcap);
        float x = score + bias;
        if (qk_mode >= 0 && qk_mode != 3)
            core_store(qk, core_at(g, OCL_CORE_G_QK, b, h, i, j), dtype,
                       qk_mode == 2 ? x : score);
        if (x > max) {
            float rescale = exp(max - x); /* exp(-inf) = 0 for the first key */
            sum *= rescale;
            for (long e = 0; e < Dv; ++e)
                acc[e] *= rescale;
            max = x;
        }
        if (max == -INFINITY && !isnan(x))
            continue; /* nothing attended yet */
        float p = exp(x - max);
        sum += p;
        if (j < P) {
            for (long e = 0; e < Dv; ++e)
                acc[e] += p * core_load(past_v, core_at(g, OCL_CORE_G_PAST_V, b, kh, j, e), dtype);
        } else {
            for (long e = 0; e < Dv; ++e)
                acc[e] += p * core_load(v, core_at(g, OCL_CORE_G_V, b, kh, j - P, e), dtype);
        }
    }
    /* A row with no key left (by its bias, or whose scores are all -inf) is
     * zeros, never NaN. */
    const int zero_row = all_masked || max == -INFINITY;
    for (long e = 0; e < Dv; ++e)
        acc[e] = zero_row ? 0.0f : acc[e] / sum;
    if (qk_mode == 3) /* the probabilities: a second pass, only when asked */
        for (long j = 0; j < T; ++j) {
            float bias = core_bias(g, mask, mask_dtype, mask_true_attends, b, h, i, j, offset,
                                   valid, causal);
            float score = core_score(g, q_row, k, past_k, dtype, b, kh, j, scale, softcap);
            core_store(qk, core_at(g, OCL_CORE_G_QK, b, h, i, j), dtype,
                       zero_row ? 0.0f : exp(score + bias - max) / sum);
        }
    for (long e = 0; e < Dv; ++e)
        core_store(y, core_at(g, OCL_CORE_G_Y, b, h, i, e), dtype, acc[e]);
}

/* Copies `rows` rows of `width` elements of every (batch, KV head) from the
 * view at geometry[from] (its rows from_row..) to the view at geometry[to]
 * (rows to_row..), element by element, bit for bit (2- or 4-byte elements):
 * present_key/value and the in-place cache. One work-item per element. */
kernel void mha_core_copy_rows(global const long *g, global const uchar *src, global uchar *dst,
                               int from, int to, long from_row, long to_row, long rows,
                               long width, int element_size)
{
    const long H = g[OCL_CORE_G_HKV];
    const long id = get_global_id(0);
    if (id >= g[OCL_CORE_G_B] * H * rows * width)
        return;
    const long d = id % width, r = (id / width) % rows, h = (id / (width * rows)) % H,
               b = id / (width * rows * H);
    const long s = core_at(g, from, b, h, from_row + r, d), t = core_at(g, to, b, h, to_row + r, d);
    if (element_size == 2)
        ((global ushort *)dst)[t] = ((global const ushort *)src)[s];
    else
        ((global uint *)dst)[t] = ((global const uint *)src)[s];
}
