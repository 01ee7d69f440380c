/*
 * attention.cl - the kernels every path of the OpenCL plugin shares, and the
 * softmax between the GEMM path's products (OpenCL C 1.2). Built after
 * shared.h, philox.cl and common.cl (plugins/opencl/kernels.h).
 * GEMMs are CLBlast's; these kernels do the element-wise and row work:
 *
 *   mha_transpose      rows (R, C) -> (C, R'), R' >= R zero-padded: the
 *                      operand layout CLBlast's GEMM kernel reads without copies
 *   mha_split_heads    projection rows -> per (n, h) head blocks, (T, D) or
 *                      transposed (D, T), adding the projection bias and writing
 *                      the bias_kv / zero_attn rows
 *   mha_softmax        one work-group per score row: scale, masks, causal,
 *                      stable softmax, fully-masked rows -> 0, a NaN score
 *                      makes its row NaN, dropout (GPUs, few rows)
 *   mha_softmax_items  the same, one work-item per 256 rows, no reductions (CPUs)
 *   mha_softmax_columns the same, one work-item per row (GPUs, many rows)
 *   mha_weights_out    keys-major weights (N, H, S', L) -> (N, L, S') mean over heads,
 *                      or per head (N*H, L, S')
 *   mha_merge_heads    head outputs (N*H, L, D) -> rows (l, n) of E = H*D columns,
 *                      scaled by the softmax's 1/sum when it deferred it
 *   mha_output         output rows (l, n) -> the caller's layout, adding out_proj.bias
 *
 * The attention matrix is kept keys-major, (N*H, S', L): P^T per head. Then
 * neither CLBlast GEMM that touches it has to transpose it first (its
 * column-major kernels want P.V's right operand that way), which on a CPU
 * cost as much as the P.V product itself.
 */

/*
 * Row t of head (n, h), value d, goes to dst[((n*H + h)*T + t)*D + d], or to
 * dst[((n*H + h)*D + d)*T + t] when transposed:
 *   t <  S: src[src_off + (t*step_t + n*step_n)*src_ld + h*D + d] (+ bias[bias_off + h*D + d])
 *   t == S and has_extra: extra[extra_off + h*D + d]   (add_bias_kv row)
 *   otherwise 0                                         (add_zero_attn row)
 * Not transposed: one work-item per (n, h, t) row of D values, in float4
 * vectors. Transposed: one work-item per (n, h) and 8 rows t0..t0+7, writing
 * float8 vectors along t (a work-item per row wrote one float per 4*T bytes:
 * 3x slower for keys of S = 2048).
 */
static float head_value(__global const float *in, __global const float *bi, int has_bias,
                        __global const float *ex, int kind, int d)
{
    if (kind == 0)
        return has_bias ? in[d] + bi[d] : in[d];
    return kind == 1 ? ex[d] : 0.0f;
}

/* kind of row t: 0 projection, 1 bias_kv, 2 zero */
static int head_row_kind(int t, int S, int has_extra)
{
    return t < S ? 0 : (t == S && has_extra) ? 1 : 2;
}

__kernel void mha_split_heads(__global const float *src, ulong src_off, ulong src_ld,
                              ulong step_t, ulong step_n,
                              __global const float *bias, ulong bias_off, int has_bias,
                              __global const float *extra, ulong extra_off, int has_extra,
                              __global float *dst, int N, int H, int T, int S, int D,
                              int transposed)
{
    ulong gid = get_global_id(0);
    const int Tb = transposed ? (T + 7) / 8 : T; /* work-items per (n, h) */
    if (gid >= (ulong)N * H * Tb)
        return;
    ulong r = gid / Tb;
    int h = (int)(r % H);
    int n = (int)(r / H);
    ulong col = (ulong)h * D;
    __global const float *bi = bias + bias_off + col;
    __global const float *ex = extra + extra_off + col;
    /* row t of this (n, h) starts t*step_t*src_ld floats after `rows` */
    __global const float *rows = src + src_off + (ulong)n * step_n * src_ld + col;
    if (transposed) {
        int t0 = (int)(gid % Tb) * 8;
        __global float *out = dst + r * (ulong)D * T + t0; /* + d*T + (t - t0) */
        if (t0 + 8 <= S) { /* eight projection rows */
            __global const float *in0 = rows + (ulong)t0 * step_t * src_ld;
            const ulong step = step_t * src_ld;
            for (int d = 0; d < D; ++d) {
                float8 v = (float8)(in0[d], in0[step + d], in0[2 * step + d], in0[3 * step + d],
                                    in0[4 * step + d], in0[5 * step + d], in0[6 * step + d],
                                    in0[7 * step + d]);
                if (has_bias)
                    v += bi[d];
                vstore8(v, 0, out + (ulong)d * T);
            }
            return;
        }
        for (int t = t0; t < T && t < t0 + 8; ++t) {
            int kind = head_row_kind(t, S, has_extra);
            __global const float *in = kind == 0 ? rows + (ulong)t * step_t * src_ld : src;
            for (int d = 0; d < D; ++d)
                out[(ulong)d * T + (t - t0)] = head_value(in, bi, has_bias, ex, kind, d);
        }
        return;
    }
    int t = (int)(gid % Tb);
    int kind = head_row_kind(t, S, has_extra);
    __global const float *in = kind == 0 ? rows + (ulong)t * step_t * src_ld : src;
    __global float *out = dst + gid * D;
    int d = 0;
    if (kind == 0) {
        if (has_bias) {
            for (; d + 4 <= D; d += 4)
                vstore4(vload4(0, in + d) + vload4(0, bi + d), 0, out + d);
        } else {
            for (; d + 4 <= D; d += 4)
                vstore4(vload4(0, in + d), 0, out + d);
        }
    }
    for (; d < D; ++d)
        out[d] = head_value(in, bi, has_bias, ex, kind, d);
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
 * scores: (N*H, Sp, L) q.k products, keys-major (row (b, l) of the attention
 * matrix is the column l of plane b: element j at (b*Sp + j)*L + l), multiplied
 * by `scale` (the plugin passes 1: its scores GEMM applies the scale) and
 * replaced by the attention weights. One work-group per row (b, l),
 * b = n*H + h. Columns j >= S (bias_kv, zero_attn) are never masked.
 * attn_mask: (L, S) or (N*H, L, S) when attn_3d;
 * masks add (a bool or causal mask adds -inf, so a NaN score or a NaN in a
 * float mask stays NaN, as in PyTorch and the reference plugin);
 * key_padding_mask: (N, S). The mask, causal and dropout parameters:
 * OCL_MASK_PARAMS (common.cl).
 */
__kernel void mha_softmax(__global float *scores, int H, int L, int S, int Sp, float scale,
                          OCL_MASK_PARAMS, __local float *red)
{
    ulong row = get_group_id(0);
    int lid = (int)get_local_id(0);
    int lsz = (int)get_local_size(0);
    int l = (int)(row % L);
    ulong b = row / L;
    ulong n = b / H;
    __global float *s = scores + b * (ulong)Sp * L + l; /* s[j * L] */

    /* Every loop runs the same trip count in every work-item (j0 steps by the
     * local size; j = j0 + lid may fall off the row): uniform control flow
     * around the barriers, and PoCL 3.1 miscompiles the j = lid; j < Sp
     * form when some work-items get no column. */
    float m = -INFINITY;
    for (int j0 = 0; j0 < Sp; j0 += lsz) {
        int j = j0 + lid;
        if (j >= Sp)
            continue;
        float x = s[(ulong)j * L] * scale;
        if (j < S)
            x = masked_score(x, attn_mask, attn_off, attn_kind, attn_3d, kpm, kpm_off, kpm_kind,
                             causal, b, n, L, S, l, j);
        s[(ulong)j * L] = x;
        m = nan_max(m, x);
    }
    m = group_max(red, m);

    /* m is NaN when a score is: then every exp below is NaN, as in PyTorch */
    if (m == -INFINITY) { /* fully masked row: zeros, never NaN */
        for (int j0 = 0; j0 < Sp; j0 += lsz)
            if (j0 + lid < Sp)
                s[(ulong)(j0 + lid) * L] = 0.0f;
        return;
    }

    float sum = 0.0f;
    for (int j0 = 0; j0 < Sp; j0 += lsz) {
        int j = j0 + lid;
        if (j >= Sp)
            continue;
        float e = exp(s[(ulong)j * L] - m);
        s[(ulong)j * L] = e;
        sum += e;
    }
    sum = group_sum(red, sum);

    for (int j0 = 0; j0 < Sp; j0 += lsz) {
        int j = j0 + lid;
        if (j >= Sp)
            continue;
        float w = s[(ulong)j * L] / sum;
        if (dropout)
            w = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p_drop) ? w * keep_scale
                                                                           : 0.0f;
        s[(ulong)j * L] = w;
    }
}

/*
 * mha_softmax_items: the same as mha_softmax without work-group reductions,
 * for CPU devices (PoCL), where a reduction costs log2(local size) passes over
 * the group per barrier, more than the row itself. A work-item takes up to
 * VW*U = 256 consecutive rows l of one plane b, as U float8 vectors with their
 * running max and sum in private arrays: in the keys-major layout step j of
 * those rows is 1 KB of consecutive floats, which the caches prefetch. (Fewer
 * rows per work-item walk down the columns in short pieces 4*L bytes apart: 8
 * rows took 2.2x as long at L = 2048, 32 rows 2.7x, 128 rows 1.3x; 512 rows
 * 1.3x.) The arithmetic is that of mha_softmax, element by element. Rows past
 * the last whole vector of a plane (L not a multiple of VW) are done one at a
 * time. Work-item gid: plane gid / Lw, rows from (gid % Lw) * VW*U. (float16
 * vectors were no faster, and PoCL 3.1 got their dropout case wrong.)
 *
 * deferred (no weights asked for): the last pass, dividing by the sum, is left
 * out; P holds exp(x - max) (times the dropout's keep scale, or 0) and
 * row_scale[b*L + l] gets 1/sum (0 for a fully masked row), which
 * mha_merge_heads applies to the rows of P.V: one pass less over the L x S'
 * matrix, which at L = S = 4096 no longer fits any cache.
 */
#define VW 8
#define U OCL_SOFTMAX_ITEM_VECTORS
typedef float8 floatv;
typedef int8 intv;
#define vloadv vload8
#define vstorev vstore8

/* One row l of plane b (s = plane + l), scalar. */
static void softmax_row(__global float *s, __global const uchar *attn_mask, ulong attn_off,
                        int attn_kind, int attn_3d, __global const uchar *kpm, ulong kpm_off,
                        int kpm_kind, int causal, float scale, int dropout, float p,
                        float keep_scale, ulong seed, ulong b, ulong n, int L, int S, int Sp,
                        int l, __global float *row_scale)
{
    ulong row = b * (ulong)L + (ulong)l;
    float m = -INFINITY;
    for (int j = 0; j < Sp; ++j) {
        float x = s[(ulong)j * L] * scale;
        if (j < S)
            x = masked_score(x, attn_mask, attn_off, attn_kind, attn_3d, kpm, kpm_off, kpm_kind,
                             causal, b, n, L, S, l, j);
        s[(ulong)j * L] = x;
        m = nan_max(m, x);
    }
    if (m == -INFINITY) { /* fully masked row: zeros, never NaN */
        for (int j = 0; j < Sp; ++j)
            s[(ulong)j * L] = 0.0f;
        if (row_scale)
            row_scale[row] = 0.0f;
        return;
    }
    float sum = 0.0f;
    for (int j = 0; j < Sp; ++j) {
        float e = exp(s[(ulong)j * L] - m);
        sum += e;
        if (row_scale && dropout) /* deferred: the dropped e, scaled */
            e = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p) ? e * keep_scale : 0.0f;
        s[(ulong)j * L] = e;
    }
    if (row_scale) {
        row_scale[row] = 1.0f / sum;
        return;
    }
    for (int j = 0; j < Sp; ++j) {
        float w = s[(ulong)j * L] / sum;
        if (dropout)
            w = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p) ? w * keep_scale : 0.0f;
        s[(ulong)j * L] = w;
    }
}

__kernel void mha_softmax_items(__global float *scores, int H, int L, int S, int Sp, float scale,
                                OCL_MASK_PARAMS, int B, __global float *row_scale, int deferred)
{
    const int rows = VW * U;
    if (!deferred)
        row_scale = 0;
    const int Lw = (L + rows - 1) / rows;
    ulong gid = get_global_id(0);
    if (gid >= (ulong)B * Lw)
        return;
    ulong b = gid / Lw;
    int l0 = (int)(gid % Lw) * rows;
    ulong n = b / H;
    __global float *plane = scores + b * (ulong)Sp * L; /* element (l, j) at j*L + l */
    int nv = (L - l0) / VW; /* whole vectors */
    if (nv > U)
        nv = U;
    for (int l = l0 + nv * VW; l < L && l < l0 + rows; ++l) /* the rest, one at a time */
        softmax_row(plane + l, attn_mask, attn_off, attn_kind, attn_3d, kpm, kpm_off, kpm_kind,
                    causal, scale, dropout, p_drop, keep_scale, seed, b, n, L, S, Sp, l, row_scale);
    if (nv == 0)
        return;

    __global float *s = plane + l0;
    const intv lane = (intv)(0, 1, 2, 3, 4, 5, 6, 7);
    const intv first = causal == OCL_CAUSAL_TOP_LEFT ? lane + l0
                       : causal == OCL_CAUSAL_BOTTOM_RIGHT ? lane + l0 + (S - L)
                                                       : (intv)(S);
    const bool lane_masks = attn_kind != OCL_MASK_NONE;
    /* without masks or scale, pass 1 only reads */
    const bool rewrite = lane_masks || kpm_kind != OCL_MASK_NONE || causal || scale != 1.0f;
    floatv m[U], sum[U];
    for (int u = 0; u < nv; ++u) {
        m[u] = (floatv)(-INFINITY);
        sum[u] = (floatv)(0.0f);
    }
    if (!rewrite) { /* the common case, kept free of the mask code */
        for (int j = 0; j < Sp; ++j) {
            __global float *sj = s + (ulong)j * L;
            for (int u = 0; u < nv; ++u)
                m[u] = nan_maxv(m[u], vloadv(u, sj));
        }
    } else {
        for (int j = 0; j < Sp; ++j) {
            __global float *sj = s + (ulong)j * L;
            /* key padding: one value per column, the same for every row */
            float kadd = 0.0f;
            if (j < S && kpm_kind == OCL_MASK_BOOL && kpm[kpm_off + n * S + j])
                kadd = -INFINITY;
            else if (j < S && kpm_kind == OCL_MASK_FLOAT)
                kadd = ((__global const float *)(kpm + kpm_off))[n * S + j];
            for (int u = 0; u < nv; ++u) {
                floatv x = vloadv(u, sj) * scale;
                if (j < S) {
                    if (lane_masks) { /* a different mask row per lane */
                        float xs[VW];
                        vstorev(x, 0, xs);
                        for (int i = 0; i < VW; ++i)
                            xs[i] = masked_score(xs[i], attn_mask, attn_off, attn_kind, attn_3d,
                                                 kpm, kpm_off, kpm_kind, 0, b, n, L, S,
                                                 l0 + u * VW + i, j);
                        x = vloadv(0, xs);
                    } else if (kpm_kind != OCL_MASK_NONE) {
                        x += kadd; /* x - inf for a masked bool, as in mha_softmax */
                    }
                    if (causal)
                        x = select(x, x - (floatv)(INFINITY), (intv)(j) > first + u * VW);
                }
                vstorev(x, u, sj);
                m[u] = nan_maxv(m[u], x);
            }
        }
    }

    /* Fully masked rows (m = -inf) must end as zeros, never NaN: exp against
     * 0 gives zeros there, and a sum of exactly 0 marks them below (any other
     * row has a term exp(0) = 1, or is NaN). */
    for (int u = 0; u < nv; ++u)
        m[u] = select(m[u], (floatv)(0.0f), m[u] == (floatv)(-INFINITY));
    for (int j = 0; j < Sp; ++j) {
        __global float *sj = s + (ulong)j * L;
        for (int u = 0; u < nv; ++u) {
            floatv e = exp(vloadv(u, sj) - m[u]);
            sum[u] += e;
            if (row_scale && dropout) { /* deferred: the dropped e, scaled */
                float es[VW];
                vstorev(e, 0, es);
                for (int i = 0; i < VW; ++i) {
                    ulong row = b * (ulong)L + (ulong)(l0 + u * VW + i);
                    es[i] = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p_drop)
                                ? es[i] * keep_scale
                                : 0.0f;
                }
                e = vloadv(0, es);
            }
            vstorev(e, u, sj);
        }
    }
    if (row_scale) { /* P.V is scaled by 1/sum per row afterwards (mha_merge_heads) */
        for (int u = 0; u < nv; ++u)
            vstorev(select((floatv)(1.0f) / sum[u], (floatv)(0.0f), sum[u] == (floatv)(0.0f)), 0,
                    row_scale + b * (ulong)L + (ulong)(l0 + u * VW));
        return;
    }
    if (!dropout) {
        for (int j = 0; j < Sp; ++j) {
            __global float *sj = s + (ulong)j * L;
            for (int u = 0; u < nv; ++u)
                vstorev(select(vloadv(u, sj) / sum[u], (floatv)(0.0f), sum[u] == (floatv)(0.0f)),
                        u, sj);
        }
        return;
    }
    for (int j = 0; j < Sp; ++j) {
        __global float *sj = s + (ulong)j * L;
        for (int u = 0; u < nv; ++u) {
            floatv w = select(vloadv(u, sj) / sum[u], (floatv)(0.0f), sum[u] == (floatv)(0.0f));
            float ws[VW];
            vstorev(w, 0, ws);
            for (int i = 0; i < VW; ++i) {
                ulong row = b * (ulong)L + (ulong)(l0 + u * VW + i);
                ws[i] = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p_drop) ? ws[i] * keep_scale
                                                                               : 0.0f;
            }
            vstorev(vloadv(0, ws), u, sj);
        }
    }
}

/*
 * mha_softmax_columns: the same again, one work-item per row (b, l) walking it
 * one float at a time; consecutive work-items take consecutive l, so each step
 * j is one coalesced read across them on a GPU (mha_softmax reads a row of the
 * keys-major matrix with a stride of L). Arguments as mha_softmax_items.
 */
__kernel void mha_softmax_columns(__global float *scores, int H, int L, int S, int Sp,
                                  float scale, OCL_MASK_PARAMS, int B,
                                  __global float *row_scale, int deferred)
{
    ulong gid = get_global_id(0);
    if (gid >= (ulong)B * L)
        return;
    ulong b = gid / L;
    int l = (int)(gid % L);
    softmax_row(scores + b * (ulong)Sp * L + l, attn_mask, attn_off, attn_kind, attn_3d, kpm,
                kpm_off, kpm_kind, causal, scale, dropout, p_drop, keep_scale, seed, b, b / H, L, S, Sp,
                l, deferred ? row_scale : 0);
}

/*
 * The weights the API returns, query-major, from the keys-major P:
 *   out[out_off + (c*L + l)*Sp + j] = (sum over h < hp of w[((c*hp + h)*Sp + j)*L + l]) / hp
 * hp = H: averaged over heads (c = n); hp = 1: per head (c = b). One work-item
 * per 8x8 tile (j0.., l0..): float8 reads along l, transposed in registers,
 * float8 writes along j (a work-item per element read one float per 4*L
 * bytes). Tiles cut by the edges go element by element.
 */
__kernel void mha_weights_out(__global const float *w, __global float *out, ulong out_off,
                              int C, int hp, int L, int Sp)
{
    const int Lb = (L + 7) / 8, Jb = (Sp + 7) / 8;
    ulong gid = get_global_id(0);
    if (gid >= (ulong)C * Jb * Lb)
        return;
    ulong c = gid / ((ulong)Jb * Lb);
    int rem = (int)(gid % ((ulong)Jb * Lb));
    int j0 = rem / Lb * 8, l0 = rem % Lb * 8;
    const ulong plane = (ulong)Sp * L;
    __global const float *in = w + c * hp * plane;
    __global float *dst = out + out_off + c * (ulong)L * Sp;
    if (j0 + 8 <= Sp && l0 + 8 <= L) {
        float8 acc[8];
        for (int jj = 0; jj < 8; ++jj)
            acc[jj] = (float8)(0.0f);
        for (int h = 0; h < hp; ++h)
            for (int jj = 0; jj < 8; ++jj)
                acc[jj] += vload8(0, in + h * plane + (ulong)(j0 + jj) * L + l0);
        float t[8][8];
        for (int jj = 0; jj < 8; ++jj)
            vstore8(acc[jj], 0, t[jj]);
        for (int i = 0; i < 8; ++i) {
            float8 row = (float8)(t[0][i], t[1][i], t[2][i], t[3][i], t[4][i], t[5][i], t[6][i],
                                  t[7][i]);
            vstore8(row / (float)hp, 0, dst + (ulong)(l0 + i) * Sp + j0);
        }
        return;
    }
    for (int l = l0; l < L && l < l0 + 8; ++l)
        for (int j = j0; j < Sp && j < j0 + 8; ++j) {
            float acc = 0.0f;
            for (int h = 0; h < hp; ++h)
                acc += in[h * plane + (ulong)j * L + l];
            dst[(ulong)l * Sp + j] = acc / (float)hp;
        }
}

/* ocat[(l*N + n)*E + h*D + d] = o[((n*H + h)*L + l)*D + d], E = H*D, times
 * row_scale[(n*H + h)*L + l] when scaled (the softmax's deferred 1/sum). */
__kernel void mha_merge_heads(__global const float *o, __global float *ocat, int N, int H, int L,
                              int D, __global const float *row_scale, int scaled)
{
    ulong gid = get_global_id(0);
    ulong E = (ulong)H * D;
    if (gid >= (ulong)N * L * E)
        return;
    ulong e = gid % E, r = gid / E;
    ulong l = r / N, n = r % N;
    ulong h = e / D, d = e % D;
    ulong row = (n * H + h) * L + l;
    float v = o[row * D + d];
    ocat[gid] = scaled ? v * row_scale[row] : v;
}

/*
 * dst[c*dst_ld + r] = src[src_off + r*src_ld + c] for r < rows, c < cols, and
 * 0 for rows <= r < dst_ld (the padding of CLBlast's tiles: finite, so the
 * padded products it computes cost nothing odd). A work-item per 8x8 block,
 * blocks along r first, so consecutive work-items write consecutive float8s.
 * (CLBlast's own transposing copy, which it makes when handed row-major
 * inputs, ran at under 1 GB/s on PoCL: 60-120 ms for a 32 MB input.)
 */
__kernel void mha_transpose(__global const float *src, ulong src_off, ulong src_ld, int rows,
                            int cols, __global float *dst, int dst_ld)
{
    const ulong gid = get_global_id(0);
    const ulong row_blocks = ((ulong)dst_ld + 7) / 8;
    if (gid >= row_blocks * (((ulong)cols + 7) / 8))
        return;
    const int r0 = (int)(gid % row_blocks) * 8, c0 = (int)(gid / row_blocks) * 8;
    __global float *d = dst + (ulong)c0 * dst_ld + r0;
    if (r0 + 8 <= rows && c0 + 8 <= cols) {
        __global const float *s = src + src_off + (ulong)r0 * src_ld + c0;
        float8 v0 = vload8(0, s), v1 = vload8(0, s + src_ld), v2 = vload8(0, s + 2 * src_ld),
               v3 = vload8(0, s + 3 * src_ld), v4 = vload8(0, s + 4 * src_ld),
               v5 = vload8(0, s + 5 * src_ld), v6 = vload8(0, s + 6 * src_ld),
               v7 = vload8(0, s + 7 * src_ld);
        const ulong ld = (ulong)dst_ld;
        vstore8((float8)(v0.s0, v1.s0, v2.s0, v3.s0, v4.s0, v5.s0, v6.s0, v7.s0), 0, d);
        vstore8((float8)(v0.s1, v1.s1, v2.s1, v3.s1, v4.s1, v5.s1, v6.s1, v7.s1), 0, d + ld);
        vstore8((float8)(v0.s2, v1.s2, v2.s2, v3.s2, v4.s2, v5.s2, v6.s2, v7.s2), 0, d + 2 * ld);
        vstore8((float8)(v0.s3, v1.s3, v2.s3, v3.s3, v4.s3, v5.s3, v6.s3, v7.s3), 0, d + 3 * ld);
        vstore8((float8)(v0.s4, v1.s4, v2.s4, v3.s4, v4.s4, v5.s4, v6.s4, v7.s4), 0, d + 4 * ld);
        vstore8((float8)(v0.s5, v1.s5, v2.s5, v3.s5, v4.s5, v5.s5, v6.s5, v7.s5), 0, d + 5 * ld);
        vstore8((float8)(v0.s6, v1.s6, v2.s6, v3.s6, v4.s6, v5.s6, v6.s6, v7.s6), 0, d + 6 * ld);
        vstore8((float8)(v0.s7, v1.s7, v2.s7, v3.s7, v4.s7, v5.s7, v6.s7, v7.s7), 0, d + 7 * ld);
        return;
    }
    for (int c = 0; c < 8 && c0 + c < cols; ++c)
        for (int r = 0; r < 8 && r0 + r < dst_ld; ++r)
            d[(ulong)c * dst_ld + r] =
                r0 + r < rows ? src[src_off + (ulong)(r0 + r) * src_ld + c0 + c] : 0.0f;
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
