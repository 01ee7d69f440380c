/*
 * attention.cl - the kernels of the OpenCL plugin (OpenCL C 1.2).
 * Built as one program together with philox.cl (which comes first).
 * GEMMs are CLBlast's; these kernels do the element-wise and row work:
 *
 *   mha_split_heads    projection rows -> (N, H, T, D) head-major blocks, adding
 *                      the projection bias and writing the bias_kv / zero_attn rows
 *   mha_softmax        one work-group per score row: scale, masks, causal,
 *                      stable softmax, fully-masked rows -> 0, a NaN score
 *                      makes its row NaN, dropout (GPUs)
 *   mha_softmax_rows   the same, one work-item per row in float8 vectors (CPUs)
 *   mha_average_heads  (N, H, L, S') -> (N, L, S') mean over heads
 *   mha_output         output rows (l, n) -> the caller's layout, adding out_proj.bias
 */

/* From philox.cl. */
int mha_dropout_keep(ulong seed, ulong idx, float p);

/* Mask kinds (MHA_OCL_MASK_* in plugins/opencl/internal.h). */
#define MASK_NONE 0
#define MASK_BOOL 1
#define MASK_FLOAT 2

/* Causal kinds (mha_causal). */
#define CAUSAL_TOP_LEFT 1
#define CAUSAL_BOTTOM_RIGHT 2

/*
 * dst[((n*H + h)*T + t)*D + d] =
 *   t <  S: src[src_off + (t*step_t + n*step_n)*src_ld + h*D + d] (+ bias[bias_off + h*D + d])
 *   t == S and has_extra: extra[extra_off + h*D + d]   (add_bias_kv row)
 *   otherwise 0                                         (add_zero_attn row)
 * One work-item per (n, h, t) row of D values, in float4 vectors.
 */
__kernel void mha_split_heads(__global const float *src, ulong src_off, ulong src_ld,
                              ulong step_t, ulong step_n,
                              __global const float *bias, ulong bias_off, int has_bias,
                              __global const float *extra, ulong extra_off, int has_extra,
                              __global float *dst, int N, int H, int T, int S, int D)
{
    ulong gid = get_global_id(0);
    if (gid >= (ulong)N * H * T)
        return;
    int t = (int)(gid % T);
    ulong r = gid / T;
    int h = (int)(r % H);
    int n = (int)(r / H);
    __global float *out = dst + gid * D;
    ulong col = (ulong)h * D;
    int d = 0;
    if (t < S) {
        __global const float *in = src + src_off + ((ulong)t * step_t + (ulong)n * step_n) * src_ld + col;
        if (has_bias) {
            __global const float *bi = bias + bias_off + col;
            for (; d + 4 <= D; d += 4)
                vstore4(vload4(0, in + d) + vload4(0, bi + d), 0, out + d);
            for (; d < D; ++d)
                out[d] = in[d] + bi[d];
        } else {
            for (; d + 4 <= D; d += 4)
                vstore4(vload4(0, in + d), 0, out + d);
            for (; d < D; ++d)
                out[d] = in[d];
        }
    } else if (t == S && has_extra) {
        __global const float *ex = extra + extra_off + col;
        for (; d < D; ++d)
            out[d] = ex[d];
    } else {
        for (; d < D; ++d)
            out[d] = 0.0f;
    }
}

/* max that propagates NaN (fmax drops it): a row whose only unmasked score
 * is NaN must become NaN, as in PyTorch, not a fully masked row of zeros. */
static float nan_max(float a, float b)
{
    return isnan(a) ? a : isnan(b) ? b : fmax(a, b);
}

/* Work-group tree reductions; the local size is a power of two. */
static float group_max(__local float *red, float x)
{
    int lid = (int)get_local_id(0);
    red[lid] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = (int)get_local_size(0) / 2; off > 0; off >>= 1) {
        if (lid < off)
            red[lid] = nan_max(red[lid], red[lid + off]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

static float group_sum(__local float *red, float x)
{
    int lid = (int)get_local_id(0);
    red[lid] = x;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int off = (int)get_local_size(0) / 2; off > 0; off >>= 1) {
        if (lid < off)
            red[lid] = red[lid] + red[lid + off];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/*
 * scores: (N*H, L, Sp) raw q.k products, replaced by the attention weights.
 * One work-group per row (b, l), b = n*H + h. Columns j >= S (bias_kv,
 * zero_attn) are never masked. attn_mask: (L, S) or (N*H, L, S) when attn_3d;
 * masks add (a bool or causal mask adds -inf, so a NaN score or a NaN in a
 * float mask stays NaN, as in PyTorch and the reference plugin);
 * key_padding_mask: (N, S). A bool mask is one byte per element. The masks
 * start attn_off / kpm_off bytes into their buffers (a multiple of 4 for
 * float masks).
 */
__kernel void mha_softmax(__global float *scores, int H, int L, int S, int Sp, float scale,
                          __global const uchar *attn_mask, ulong attn_off, int attn_kind,
                          int attn_3d, __global const uchar *kpm, ulong kpm_off, int kpm_kind,
                          int causal,
                          int dropout, float p, float keep_scale, ulong seed,
                          __local float *red)
{
    ulong row = get_group_id(0);
    int lid = (int)get_local_id(0);
    int lsz = (int)get_local_size(0);
    int l = (int)(row % L);
    ulong b = row / L;
    ulong n = b / H;
    __global float *s = scores + row * Sp;

    /* Every loop runs the same trip count in every work-item (j0 steps by the
     * local size; j = j0 + lid may fall off the row): uniform control flow
     * around the barriers, and PoCL 3.1 miscompiles the j = lid; j < Sp
     * form when some work-items get no column. */
    float m = -INFINITY;
    for (int j0 = 0; j0 < Sp; j0 += lsz) {
        int j = j0 + lid;
        if (j >= Sp)
            continue;
        float x = s[j] * scale;
        if (j < S) {
            if (attn_kind != MASK_NONE) {
                ulong mi = (attn_3d ? b * L * S : 0) + (ulong)l * S + j;
                if (attn_kind == MASK_BOOL) {
                    if (attn_mask[attn_off + mi])
                        x -= INFINITY;
                } else {
                    x += ((__global const float *)(attn_mask + attn_off))[mi];
                }
            }
            if (kpm_kind != MASK_NONE) {
                ulong ki = n * S + j;
                if (kpm_kind == MASK_BOOL) {
                    if (kpm[kpm_off + ki])
                        x -= INFINITY;
                } else {
                    x += ((__global const float *)(kpm + kpm_off))[ki];
                }
            }
            if (causal == CAUSAL_TOP_LEFT && j > l)
                x -= INFINITY;
            else if (causal == CAUSAL_BOTTOM_RIGHT && j > l + (S - L))
                x -= INFINITY;
        }
        s[j] = x;
        m = nan_max(m, x);
    }
    m = group_max(red, m);

    /* m is NaN when a score is: then every exp below is NaN, as in PyTorch */
    if (m == -INFINITY) { /* fully masked row: zeros, never NaN */
        for (int j0 = 0; j0 < Sp; j0 += lsz)
            if (j0 + lid < Sp)
                s[j0 + lid] = 0.0f;
        return;
    }

    float sum = 0.0f;
    for (int j0 = 0; j0 < Sp; j0 += lsz) {
        int j = j0 + lid;
        if (j >= Sp)
            continue;
        float e = exp(s[j] - m);
        s[j] = e;
        sum += e;
    }
    sum = group_sum(red, sum);

    for (int j0 = 0; j0 < Sp; j0 += lsz) {
        int j = j0 + lid;
        if (j >= Sp)
            continue;
        float w = s[j] / sum;
        if (dropout)
            w = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p) ? w * keep_scale : 0.0f;
        s[j] = w;
    }
}

/*
 * mha_softmax_rows: the same as mha_softmax, one work-item per row, for CPU
 * devices (PoCL): a work-group reduction costs log2(local size) passes over
 * the group per barrier there, more than the row itself. Rows are walked in
 * float8 vectors (masks too), then the remainder one by one; the arithmetic is
 * that of mha_softmax, element by element.
 */
#define VW 8
typedef float8 floatv;
typedef int8 intv;
#define vloadv vload8
#define vstorev vstore8
#define convert_intv convert_int8

static float8 nan_maxv(float8 a, float8 b)
{
    float8 r = fmax(a, b);
    r = select(r, b, isnan(b));
    return select(r, a, isnan(a));
}

static float4 nan_maxv4(float4 a, float4 b)
{
    float4 r = fmax(a, b);
    r = select(r, b, isnan(b));
    return select(r, a, isnan(a));
}

__kernel void mha_softmax_rows(__global float *scores, int H, int L, int S, int Sp, float scale,
                               __global const uchar *attn_mask, ulong attn_off, int attn_kind,
                               int attn_3d, __global const uchar *kpm, ulong kpm_off,
                               int kpm_kind, int causal,
                               int dropout, float p, float keep_scale, ulong seed, int rows)
{
    ulong row = get_global_id(0);
    if (row >= (ulong)rows)
        return;
    int l = (int)(row % L);
    ulong b = row / L;
    ulong n = b / H;
    __global float *s = scores + row * Sp;
    __global const uchar *am = attn_mask + attn_off + (attn_3d ? b * L * S : 0) + (ulong)l * S;
    __global const float *amf = (__global const float *)(attn_mask + attn_off) +
                                (attn_3d ? b * L * S : 0) + (ulong)l * S;
    __global const uchar *km = kpm + kpm_off + n * S;
    __global const float *kmf = (__global const float *)(kpm + kpm_off) + n * S;
    /* columns j > limit are masked by causality (j < S only) */
    int limit = causal == CAUSAL_TOP_LEFT ? l : causal == CAUSAL_BOTTOM_RIGHT ? l + (S - L) : S;
    const intv lane = (intv)(0, 1, 2, 3, 4, 5, 6, 7);

    floatv mv = (floatv)(-INFINITY);
    int j = 0;
    for (; j + VW <= S; j += VW) {
        floatv x = vloadv(0, s + j) * scale;
        if (attn_kind == MASK_BOOL)
            x = select(x, x - (floatv)(INFINITY), convert_intv(vload8(0, am + j)) != 0);
        else if (attn_kind == MASK_FLOAT)
            x += vloadv(0, amf + j);
        if (kpm_kind == MASK_BOOL)
            x = select(x, x - (floatv)(INFINITY), convert_intv(vload8(0, km + j)) != 0);
        else if (kpm_kind == MASK_FLOAT)
            x += vloadv(0, kmf + j);
        if (causal)
            x = select(x, x - (floatv)(INFINITY), lane + j > limit);
        vstorev(x, 0, s + j);
        mv = nan_maxv(mv, x);
    }
    float4 m4 = nan_maxv4(mv.lo, mv.hi);
    float m = nan_max(nan_max(m4.s0, m4.s1), nan_max(m4.s2, m4.s3));
    for (; j < Sp; ++j) {
        float x = s[j] * scale;
        if (j < S) {
            if (attn_kind == MASK_BOOL) {
                if (am[j])
                    x -= INFINITY;
            } else if (attn_kind == MASK_FLOAT) {
                x += amf[j];
            }
            if (kpm_kind == MASK_BOOL) {
                if (km[j])
                    x -= INFINITY;
            } else if (kpm_kind == MASK_FLOAT) {
                x += kmf[j];
            }
            if (causal && j > limit)
                x -= INFINITY;
        }
        s[j] = x;
        m = nan_max(m, x);
    }

    if (m == -INFINITY) { /* fully masked row: zeros, never NaN */
        for (j = 0; j + VW <= Sp; j += VW)
            vstorev((floatv)(0.0f), 0, s + j);
        for (; j < Sp; ++j)
            s[j] = 0.0f;
        return;
    }

    floatv sv = (floatv)(0.0f);
    for (j = 0; j + VW <= Sp; j += VW) {
        floatv e = exp(vloadv(0, s + j) - m);
        vstorev(e, 0, s + j);
        sv += e;
    }
    float4 s4 = sv.lo + sv.hi;
    float sum = (s4.s0 + s4.s1) + (s4.s2 + s4.s3);
    for (; j < Sp; ++j) {
        float e = exp(s[j] - m);
        s[j] = e;
        sum += e;
    }

    if (!dropout) {
        for (j = 0; j + VW <= Sp; j += VW)
            vstorev(vloadv(0, s + j) / sum, 0, s + j);
        for (; j < Sp; ++j)
            s[j] = s[j] / sum;
        return;
    }
    for (j = 0; j < Sp; ++j) {
        float w = s[j] / sum;
        s[j] = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p) ? w * keep_scale : 0.0f;
    }
}

/* out[out_off + (n, l, j)] = mean over h of w[n, h, l, j]. */
__kernel void mha_average_heads(__global const float *w, __global float *out, ulong out_off,
                                int N, int H, int L, int Sp)
{
    ulong gid = get_global_id(0);
    ulong plane = (ulong)L * Sp;
    if (gid >= (ulong)N * plane)
        return;
    ulong n = gid / plane, rem = gid % plane;
    float acc = 0.0f;
    for (int h = 0; h < H; ++h)
        acc += w[(n * H + h) * plane + rem];
    out[out_off + gid] = acc / (float)H;
}

/* y rows are ordered (l, n); out rows (n, l) if batch_first, else (l, n),
 * starting out_off floats into out. */
__kernel void mha_output(__global const float *y, __global float *out, ulong out_off,
                         __global const float *bias, ulong bias_off, int has_bias,
                         int N, int L, int E, int batch_first)
{
    ulong gid = get_global_id(0);
    if (gid >= (ulong)N * L * E)
        return;
    int e = (int)(gid % E);
    ulong r = gid / E;
    ulong l = r / N, n = r % N;
    ulong dst_row = batch_first ? n * L + l : r;
    float v = y[gid];
    if (has_bias)
        v += bias[bias_off + e];
    out[out_off + dst_row * E + e] = v;
}
