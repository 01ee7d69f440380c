/*
 * fused.cl - mha_attention_fused: scores, masks, softmax, dropout and P.V in
 * one kernel, for CPU devices when no weights are asked for. Built after
 * attention.cl (masked_score, nan_maxv, mha_dropout_keep).
 *
 * The L x S' attention matrix is never stored: a work-item takes FQ*8 = 24
 * queries l of one head b and walks the keys FK = 4 at a time with an online
 * softmax (running max m and sum per query, the partial output rescaled by
 * exp(m_old - m_new) when the max grows). The queries are the lanes of float8
 * vectors: the max, sum and masks of a key are lane-wise, with no horizontal
 * reductions; the scores of 4 keys x 24 queries stay in 12 registers, and the
 * output, O^T (D, 24), in private memory that stays in L1.
 * On a 2-core EPYC under PoCL 3.1 this ran at 80-110 GFLOP/s at L = 512 to
 * 4096, against about 35 for CLBlast's two GEMMs with the softmax between
 * them (FQ x FK = 2 x 8: 88, 4 x 4: 107, 3 x 8: 94, 3 x 4: 114 at L = 2048).
 * Every loop over keys (kk < FK) and query vectors (u < FQ) is unrolled, so
 * that s, alpha and kr stay in registers: without the pragmas PoCL 3.1 kept
 * them in memory, 2.7x slower.
 * On a GPU the private arrays would be far too large: the plugin uses this
 * kernel on CPUs only (docs/opencl.md).
 *
 * qt: Q^T per head (N*H, D, L); k, v: per head (N*H, S', D); output: the
 * merged heads, row (l, n) of E = H*D columns, head h at columns h*D.., for
 * the output projection. Masks, causal and dropout as mha_softmax
 * (attention.cl), with the same dropout stream (element (b, l, j) of the
 * attention matrix). D <= FD_MAX.
 */
#define FQ 3       /* float8 vectors of queries per work-item */
#define FK 4       /* keys per step */
#define FD_MAX 128 /* the largest head_dim (OCL_FUSED_HEAD_DIM_MAX) */

/* Scores x of key j for lanes l0.., with the masks; j >= S (bias_kv,
 * zero_attn) is never masked. */
static float8 fused_masked(float8 x, __global const uchar *attn_mask, ulong attn_off, int attn_kind,
                           int attn_3d, __global const uchar *kpm, ulong kpm_off, int kpm_kind,
                           int causal, ulong b, ulong n, int L, int S, int l0, int j)
{
    if (j >= S)
        return x;
    if (attn_kind != MASK_NONE) { /* a different mask row per lane: element by element */
        float xs[8];
        vstore8(x, 0, xs);
        for (int i = 0; i < 8; ++i) /* lanes past L (never written) read row L - 1 */
            xs[i] = masked_score(xs[i], attn_mask, attn_off, attn_kind, attn_3d, kpm, kpm_off,
                                 kpm_kind, causal, b, n, L, S, min(l0 + i, L - 1), j);
        return vload8(0, xs);
    }
    if (kpm_kind == MASK_BOOL && kpm[kpm_off + n * S + j])
        x -= INFINITY;
    else if (kpm_kind == MASK_FLOAT)
        x += ((__global const float *)(kpm + kpm_off))[n * S + j];
    if (causal) {
        const int8 l = (int8)(0, 1, 2, 3, 4, 5, 6, 7) + l0;
        const int8 last = causal == CAUSAL_TOP_LEFT ? l : l + (S - L); /* last key seen */
        x = select(x, x - (float8)(INFINITY), (int8)(j) > last);
    }
    return x;
}

/* p of key j for lanes l0.. after dropout (kept: scaled; dropped: 0). */
static float8 fused_dropout(float8 p, float p_drop, float keep_scale, ulong seed, ulong b, int L,
                            int Sp, int l0, int j)
{
    float ps[8];
    vstore8(p, 0, ps);
    for (int i = 0; i < 8; ++i) {
        ulong row = b * (ulong)L + (ulong)(l0 + i);
        ps[i] = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p_drop) ? ps[i] * keep_scale
                                                                           : 0.0f;
    }
    return vload8(0, ps);
}

__kernel void mha_attention_fused(__global const float *qt, __global const float *k,
                                  __global const float *v, __global float *out, int N, int H,
                                  int L, int S, int Sp, int D, float scale,
                                  __global const uchar *attn_mask, ulong attn_off, int attn_kind,
                                  int attn_3d, __global const uchar *kpm, ulong kpm_off,
                                  int kpm_kind, int causal, int dropout, float p_drop,
                                  float keep_scale, ulong seed)
{
    const int rows = 8 * FQ;
    const int Lb = (L + rows - 1) / rows;
    ulong gid = get_global_id(0);
    if (gid >= (ulong)N * H * Lb)
        return;
    ulong b = gid / Lb;
    ulong n = b / H;
    const int h = (int)(b % H);
    const int l0 = (int)(gid % Lb) * rows;
    const bool masks = attn_kind != MASK_NONE || kpm_kind != MASK_NONE || causal;

    /* this block of Q^T, lanes past L zero */
    float8 q[FD_MAX * FQ];
    __global const float *qb = qt + b * (ulong)D * L + l0;
    for (int d = 0; d < D; ++d)
        for (int u = 0; u < FQ; ++u) {
            __global const float *src = qb + (ulong)d * L + u * 8;
            if (l0 + u * 8 + 8 <= L) {
                q[d * FQ + u] = vload8(0, src);
            } else {
                float t[8];
                for (int i = 0; i < 8; ++i)
                    t[i] = l0 + u * 8 + i < L ? src[i] : 0.0f;
                q[d * FQ + u] = vload8(0, t);
            }
        }

    float8 o[FD_MAX * FQ]; /* O^T: o[d*FQ + u] lane i = output (l0 + 8u + i, d) */
    float8 m[FQ], sum[FQ];
    for (int i = 0; i < D * FQ; ++i)
        o[i] = (float8)(0.0f);
    for (int u = 0; u < FQ; ++u) {
        m[u] = (float8)(-INFINITY);
        sum[u] = (float8)(0.0f);
    }
    __global const float *kb = k + b * (ulong)Sp * D;
    __global const float *vb = v + b * (ulong)Sp * D;

    for (int j0 = 0; j0 < Sp; j0 += FK) {
        /* keys j0..j0+FK-1; past S' the last key is read again, its p is 0 */
        int kr[FK];
        #pragma unroll
        for (int kk = 0; kk < FK; ++kk)
            kr[kk] = min(j0 + kk, Sp - 1) * D;
        float8 s[FK][FQ];
        #pragma unroll
        for (int kk = 0; kk < FK; ++kk)
            #pragma unroll
            for (int u = 0; u < FQ; ++u)
                s[kk][u] = (float8)(0.0f);
        for (int d = 0; d < D; ++d)
            #pragma unroll
            for (int kk = 0; kk < FK; ++kk) {
                const float8 kd = (float8)(kb[kr[kk] + d]);
                #pragma unroll
                for (int u = 0; u < FQ; ++u)
                    s[kk][u] = fma(kd, q[d * FQ + u], s[kk][u]);
            }
        #pragma unroll
        for (int kk = 0; kk < FK; ++kk)
            #pragma unroll
            for (int u = 0; u < FQ; ++u) {
                float8 x = s[kk][u] * scale;
                if (j0 + kk >= Sp)
                    x = (float8)(-INFINITY);
                else if (masks)
                    x = fused_masked(x, attn_mask, attn_off, attn_kind, attn_3d, kpm, kpm_off,
                                     kpm_kind, causal, b, n, L, S, l0 + u * 8, j0 + kk);
                s[kk][u] = x;
            }

        /* online softmax; while every key so far is masked (max -inf) the
         * reference is 0, so exp gives 0 and never -inf - -inf = NaN. A NaN
         * score makes the max NaN and with it the row, as in mha_softmax. */
        float8 alpha[FQ];
        bool rescale = false;
        #pragma unroll
        for (int u = 0; u < FQ; ++u) {
            float8 mn = m[u];
            #pragma unroll
            for (int kk = 0; kk < FK; ++kk)
                mn = nan_maxv(mn, s[kk][u]);
            const float8 ref = select(mn, (float8)(0.0f), mn == (float8)(-INFINITY));
            alpha[u] = exp(m[u] - ref);
            rescale = rescale || any(alpha[u] != (float8)(1.0f));
            m[u] = mn;
            float8 add = (float8)(0.0f);
            #pragma unroll
            for (int kk = 0; kk < FK; ++kk) {
                s[kk][u] = exp(s[kk][u] - ref);
                add += s[kk][u];
            }
            sum[u] = sum[u] * alpha[u] + add;
        }
        if (dropout) /* the sums above are of the kept and dropped p alike */
            #pragma unroll
            for (int kk = 0; kk < FK; ++kk)
                #pragma unroll
                for (int u = 0; u < FQ; ++u)
                    s[kk][u] = fused_dropout(s[kk][u], p_drop, keep_scale, seed, b, L, Sp,
                                             l0 + u * 8, j0 + kk);

        /* O^T += V^T p, rescaling O^T first when a max grew */
        if (rescale) {
            for (int d = 0; d < D; ++d)
                #pragma unroll
                for (int u = 0; u < FQ; ++u) {
                    float8 acc = o[d * FQ + u] * alpha[u];
                    #pragma unroll
                    for (int kk = 0; kk < FK; ++kk)
                        acc = fma((float8)(vb[kr[kk] + d]), s[kk][u], acc);
                    o[d * FQ + u] = acc;
                }
        } else {
            for (int d = 0; d < D; ++d)
                #pragma unroll
                for (int u = 0; u < FQ; ++u) {
                    float8 acc = o[d * FQ + u];
                    #pragma unroll
                    for (int kk = 0; kk < FK; ++kk)
                        acc = fma((float8)(vb[kr[kk] + d]), s[kk][u], acc);
                    o[d * FQ + u] = acc;
                }
        }
    }

    /* out row (l, n), columns h*D + d: O / sum, 0 for a fully masked row
     * (sum 0), as mha_merge_heads does with the softmax's 1/sum */
    const ulong E = (ulong)H * D;
    for (int u = 0; u < FQ; ++u) {
        float r[8];
        vstore8(select((float8)(1.0f) / sum[u], (float8)(0.0f), sum[u] == (float8)(0.0f)), 0, r);
        for (int i = 0; i < 8; ++i) {
            const int l = l0 + u * 8 + i;
            if (l >= L)
                break;
            __global float *row = out + ((ulong)l * N + n) * E + (ulong)h * D;
            for (int d = 0; d < D; ++d)
                row[d] = ((float *)&o[d * FQ + u])[i] * r[i];
        }
    }
}
