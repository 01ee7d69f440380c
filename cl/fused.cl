/*
 * fused.cl - the attention products in one kernel, for CPU devices:
 *
 *   mha_attention_fused          scores, masks, softmax, dropout and P.V
 *   mha_attention_fused_weights  the same, and the weights the API returns
 *
 * Built after shared.h, philox.cl and common.cl (masked_score, nan_maxv,
 * mha_dropout_keep, OCL_MASK_PARAMS); needs nothing of attention.cl.
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
 * qt: Q^T per head (N*H, D, L). k, v: key j of batch entry n, head h at
 * j*key_stride + n*batch_stride + h*head_stride, D floats: either per head
 * (N*H, S', D), or the projections as the GEMMs left them (rows of E, no
 * bias; S' = S), read in place when decoding (path.c). Their bias then
 * comes in here: q.(k + b_k) = q.k + q.b_k starts each score (softmax would
 * ignore that constant of the row, but a NaN or inf in b_k must still reach
 * it), and sum_j p_j (v_j + b_v) = P.V + b_v sum_j p_j (p after dropout)
 * ends the output.
 * output: the merged heads, row (l, n) of E = H*D columns, head h at columns
 * h*D.., for the output projection. Masks, causal and dropout as mha_softmax
 * (attention.cl), with the same dropout stream (element (b, l, j) of the
 * attention matrix). D <= FD_MAX.
 */
#define FQ OCL_FUSED_QUERY_VECTORS /* float8 vectors of queries per work-item (3) */
#define FK 4       /* keys per step (the weights are stored as float4) */
#define FD_MAX OCL_FUSED_HEAD_DIM_MAX /* the largest head_dim (128) */

/* Helpers are forced inline: PoCL 3.1 left them as calls, which kept s and
 * alpha in memory (10-30% slower). */
/* Scores x of key j for lanes l0.., with the masks; j >= S (bias_kv,
 * zero_attn) is never masked. */
OCL_INLINE float8 fused_masked(float8 x, const mha_masks *mk, ulong b, ulong n, int L, int S,
                                 int l0, int j)
{
    if (j >= S)
        return x;
    if (mk->attn_kind != OCL_MASK_NONE) { /* a different mask row per lane: element by element */
        float xs[8];
        vstore8(x, 0, xs);
        for (int i = 0; i < 8; ++i) /* lanes past L (never written) read row L - 1 */
            xs[i] = masked_score(xs[i], mk->attn_mask, mk->attn_off, mk->attn_kind, mk->attn_3d,
                                 mk->kpm, mk->kpm_off, mk->kpm_kind, mk->causal, b, n, L, S,
                                 min(l0 + i, L - 1), j);
        return vload8(0, xs);
    }
    if (mk->kpm_kind == OCL_MASK_BOOL && mk->kpm[mk->kpm_off + n * S + j])
        x -= INFINITY;
    else if (mk->kpm_kind == OCL_MASK_FLOAT)
        x += ((__global const float *)(mk->kpm + mk->kpm_off))[n * S + j];
    if (mk->causal) {
        const int8 l = (int8)(0, 1, 2, 3, 4, 5, 6, 7) + l0;
        const int8 last = mk->causal == OCL_CAUSAL_TOP_LEFT ? l : l + (S - L); /* last key seen */
        x = select(x, x - (float8)(INFINITY), (int8)(j) > last);
    }
    return x;
}

/* p of key j for lanes l0.. after dropout (kept: scaled; dropped: 0). */
OCL_INLINE float8 fused_dropout(float8 p, float p_drop, float keep_scale, ulong seed, ulong b,
                                  int L, int Sp, int l0, int j)
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

/* q = the work-item's block of Q^T of head b, (D, FQ) vectors, lanes past L zero. */
OCL_INLINE void fused_load_q(float8 *q, __global const float *qt, ulong b, int D, int L, int l0)
{
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
}

/* cb = q.b_k per lane, the key bias's share of every score (zero without
 * one: bk NULL). */
OCL_INLINE void fused_key_bias(float8 *cb, const float8 *q, __global const float *bk, int D)
{
    for (int u = 0; u < FQ; ++u)
        cb[u] = (float8)(0.0f);
    if (!bk)
        return;
    for (int d = 0; d < D; ++d)
        for (int u = 0; u < FQ; ++u)
            cb[u] = fma((float8)(bk[d]), q[d * FQ + u], cb[u]);
}

/* kr: the offsets of keys j0..j0+FK-1 in K and V (past S' the last key
 * again, its score is -inf); s: their scaled, masked scores, from cb. */
OCL_INLINE void fused_scores(float8 s[FK][FQ], ulong *kr, const float8 *q, const float8 *cb,
                               __global const float *kb, ulong key_stride, int D, float scale,
                               const mha_masks *mk, ulong b, ulong n, int L, int S, int Sp,
                               int l0, int j0)
{
    #pragma unroll
    for (int kk = 0; kk < FK; ++kk)
        kr[kk] = (ulong)min(j0 + kk, Sp - 1) * key_stride;
    #pragma unroll
    for (int kk = 0; kk < FK; ++kk)
        #pragma unroll
        for (int u = 0; u < FQ; ++u)
            s[kk][u] = cb[u];
    for (int d = 0; d < D; ++d)
        #pragma unroll
        for (int kk = 0; kk < FK; ++kk) {
            const float8 kd = (float8)(kb[kr[kk] + d]);
            #pragma unroll
            for (int u = 0; u < FQ; ++u)
                s[kk][u] = fma(kd, q[d * FQ + u], s[kk][u]);
        }
    const bool masks = mk->attn_kind != OCL_MASK_NONE || mk->kpm_kind != OCL_MASK_NONE || mk->causal;
    #pragma unroll
    for (int kk = 0; kk < FK; ++kk)
        #pragma unroll
        for (int u = 0; u < FQ; ++u) {
            float8 x = s[kk][u] * scale;
            if (j0 + kk >= Sp)
                x = (float8)(-INFINITY);
            else if (masks)
                x = fused_masked(x, mk, b, n, L, S, l0 + u * 8, j0 + kk);
            s[kk][u] = x;
        }
}

/* One step of the online softmax over the keys of s: ref is the new max m,
 * or 0 while every key so far is masked (max -inf), so exp gives 0 and never
 * -inf - -inf = NaN; a NaN score makes the max NaN and with it the row, as in
 * mha_softmax. s becomes exp(s - ref), alpha exp(m_old - ref), the factor of
 * what was summed before; returns whether some alpha is not 1. */
OCL_INLINE bool fused_softmax_step(float8 s[FK][FQ], float8 *m, float8 *sum, float8 *alpha)
{
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
    return rescale;
}

/* O^T += V^T p for the keys of kr, rescaling O^T by alpha first when given. */
OCL_INLINE void fused_pv(float8 *o, float8 s[FK][FQ], bool rescale, const float8 *alpha,
                           __global const float *vb, const ulong *kr, int D)
{
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

/* kept = kept * alpha + the p of s, when the value bias needs that sum. */
OCL_INLINE void fused_kept(float8 *kept, float8 s[FK][FQ], const float8 *alpha)
{
    #pragma unroll
    for (int u = 0; u < FQ; ++u) {
        float8 add = (float8)(0.0f);
        #pragma unroll
        for (int kk = 0; kk < FK; ++kk)
            add += s[kk][u];
        kept[u] = kept[u] * alpha[u] + add;
    }
}

/* O^T += b_v kept^T, the value bias's share (nothing without one: bv NULL). */
OCL_INLINE void fused_value_bias(float8 *o, const float8 *kept, __global const float *bv, int D)
{
    if (!bv)
        return;
    for (int d = 0; d < D; ++d)
        for (int u = 0; u < FQ; ++u)
            o[d * FQ + u] = fma((float8)(bv[d]), kept[u], o[d * FQ + u]);
}

/* out rows (l, n), columns h*D + d, of lanes l < L: O^T times r per lane. */
OCL_INLINE void fused_store(__global float *out, const float8 *o, const float8 *r, int N, int H,
                              int L, int D, ulong n, int h, int l0)
{
    const ulong E = (ulong)H * D;
    for (int u = 0; u < FQ; ++u) {
        float rs[8];
        vstore8(r[u], 0, rs);
        for (int i = 0; i < 8; ++i) {
            const int l = l0 + u * 8 + i;
            if (l >= L)
                break;
            __global float *row = out + ((ulong)l * N + n) * E + (ulong)h * D;
            for (int d = 0; d < D; ++d)
                row[d] = ((const float *)&o[d * FQ + u])[i] * rs[i];
        }
    }
}

/* Online softmax over the keys: a work-item per FQ*8 queries of head b. */
__kernel void mha_attention_fused(__global const float *qt, __global const float *k,
                                  __global const float *v, ulong key_stride, ulong batch_stride,
                                  ulong head_stride, __global const float *kv_bias,
                                  ulong k_bias_off, ulong v_bias_off, int has_kv_bias,
                                  __global float *out, int N, int H,
                                  int L, int S, int Sp, int D, float scale, OCL_MASK_PARAMS)
{
    const int rows = 8 * FQ;
    const int Lb = (L + rows - 1) / rows;
    ulong gid = get_global_id(0);
    if (gid >= (ulong)N * H * Lb)
        return;
    const ulong b = gid / Lb, n = b / H;
    const int l0 = (int)(gid % Lb) * rows;
    const mha_masks mk = OCL_MASKS_OF_PARAMS;
    const ulong h = b % H, at = n * batch_stride + h * head_stride;
    __global const float *kb = k + at, *vb = v + at;
    __global const float *bk = has_kv_bias ? kv_bias + k_bias_off + h * D : 0;
    __global const float *bv = has_kv_bias ? kv_bias + v_bias_off + h * D : 0;

    float8 q[FD_MAX * FQ], cb[FQ];
    fused_load_q(q, qt, b, D, L, l0);
    fused_key_bias(cb, q, bk, D);
    float8 o[FD_MAX * FQ]; /* O^T: o[d*FQ + u] lane i = output (l0 + 8u + i, d) */
    float8 m[FQ], sum[FQ], kept[FQ];
    for (int i = 0; i < D * FQ; ++i)
        o[i] = (float8)(0.0f);
    for (int u = 0; u < FQ; ++u) {
        m[u] = (float8)(-INFINITY);
        sum[u] = (float8)(0.0f);
        kept[u] = (float8)(0.0f);
    }

    for (int j0 = 0; j0 < Sp; j0 += FK) {
        ulong kr[FK];
        float8 s[FK][FQ];
        fused_scores(s, kr, q, cb, kb, key_stride, D, scale, &mk, b, n, L, S, Sp, l0, j0);

        float8 alpha[FQ];
        const bool rescale = fused_softmax_step(s, m, sum, alpha);
        if (dropout) /* the sums above are of the kept and dropped p alike */
            #pragma unroll
            for (int kk = 0; kk < FK; ++kk)
                #pragma unroll
                for (int u = 0; u < FQ; ++u)
                    s[kk][u] = fused_dropout(s[kk][u], p_drop, keep_scale, seed, b, L, Sp,
                                             l0 + u * 8, j0 + kk);
        if (bv)
            fused_kept(kept, s, alpha);
        fused_pv(o, s, rescale, alpha, vb, kr, D); /* rescaled when a max grew */
    }
    fused_value_bias(o, kept, bv, D);

    /* O / sum, 0 for a fully masked row (sum 0), as mha_merge_heads does
     * with the softmax's 1/sum */
    float8 r[FQ];
    for (int u = 0; u < FQ; ++u)
        r[u] = select((float8)(1.0f) / sum[u], (float8)(0.0f), sum[u] == (float8)(0.0f));
    fused_store(out, o, r, N, H, L, D, n, (int)h, l0);
}

/*
 * mha_attention_fused_weights: the same, and the weights the API returns,
 * query-major: averaged over the heads into w[w_off + (n*L + l)*S' + j]
 * (hp = H), or per head into w[w_off + (b*L + l)*S' + j] (hp = 1). Two passes
 * over the keys: the first finds each row's max and sum, the second
 * recomputes the scores, normalises them (so the weights need no later
 * rescale), applies dropout, writes them and accumulates P.V. A work-item
 * takes FQ*8 queries of hp heads in turn (those of n, or head b), so it alone
 * writes its rows of w and the average needs no atomics. Three products of
 * L*S'*D per head instead of two, but no L x S' matrix in scratch memory and
 * no GEMM around it.
 */
__kernel void mha_attention_fused_weights(__global const float *qt, __global const float *k,
                                          __global const float *v, ulong key_stride,
                                          ulong batch_stride, ulong head_stride,
                                          __global const float *kv_bias, ulong k_bias_off,
                                          ulong v_bias_off, int has_kv_bias, __global float *out,
                                          __global float *w, ulong w_off, int hp, int N, int H,
                                          int L, int S, int Sp, int D, float scale,
                                          OCL_MASK_PARAMS)
{
    const int rows = 8 * FQ;
    const int Lb = (L + rows - 1) / rows;
    const ulong planes = (ulong)N * H / hp; /* output planes (L, S') */
    ulong gid = get_global_id(0);
    if (gid >= planes * Lb)
        return;
    const ulong c = gid / Lb; /* plane: n when averaging, else b */
    const int l0 = (int)(gid % Lb) * rows;
    const mha_masks mk = OCL_MASKS_OF_PARAMS;
    const float8 share = (float8)(1.0f / hp);
    __global float *wc = w + w_off + c * (ulong)L * Sp; /* element (l, j) at l*Sp + j */
    float8 q[FD_MAX * FQ], cb[FQ];
    float8 o[FD_MAX * FQ];

    for (int hi = 0; hi < hp; ++hi) {
        const ulong b = c * hp + hi, n = b / H, h = b % H, at = n * batch_stride + h * head_stride;
        __global const float *kb = k + at, *vb = v + at;
        __global const float *bk = has_kv_bias ? kv_bias + k_bias_off + h * D : 0;
        __global const float *bv = has_kv_bias ? kv_bias + v_bias_off + h * D : 0;
        fused_load_q(q, qt, b, D, L, l0);
        fused_key_bias(cb, q, bk, D);

        /* pass 1: max and sum per row */
        float8 m[FQ], sum[FQ];
        for (int u = 0; u < FQ; ++u) {
            m[u] = (float8)(-INFINITY);
            sum[u] = (float8)(0.0f);
        }
        for (int j0 = 0; j0 < Sp; j0 += FK) {
            ulong kr[FK];
            float8 s[FK][FQ], alpha[FQ];
            fused_scores(s, kr, q, cb, kb, key_stride, D, scale, &mk, b, n, L, S, Sp, l0, j0);
            fused_softmax_step(s, m, sum, alpha);
        }
        /* p = exp(x - ref) / sum: a fully masked row (sum 0) gets zeros, a
         * NaN row (max NaN) NaNs */
        float8 ref[FQ], inv[FQ];
        for (int u = 0; u < FQ; ++u) {
            ref[u] = select(m[u], (float8)(0.0f), m[u] == (float8)(-INFINITY));
            inv[u] = select((float8)(1.0f) / sum[u], (float8)(0.0f), sum[u] == (float8)(0.0f));
        }

        /* pass 2: weights and P.V */
        float8 kept[FQ], one[FQ];
        for (int i = 0; i < D * FQ; ++i)
            o[i] = (float8)(0.0f);
        for (int u = 0; u < FQ; ++u) {
            kept[u] = (float8)(0.0f);
            one[u] = (float8)(1.0f);
        }
        for (int j0 = 0; j0 < Sp; j0 += FK) {
            ulong kr[FK];
            float8 s[FK][FQ];
            fused_scores(s, kr, q, cb, kb, key_stride, D, scale, &mk, b, n, L, S, Sp, l0, j0);
            #pragma unroll
            for (int kk = 0; kk < FK; ++kk)
                #pragma unroll
                for (int u = 0; u < FQ; ++u) {
                    float8 p = exp(s[kk][u] - ref[u]) * inv[u];
                    if (dropout)
                        p = fused_dropout(p, p_drop, keep_scale, seed, b, L, Sp, l0 + u * 8,
                                          j0 + kk);
                    s[kk][u] = p;
                }
            /* the weights of keys j0.. < S' for lanes l < L (the first head
             * stores, the others add): FK = 4 consecutive floats of row l */
            #pragma unroll
            for (int u = 0; u < FQ; ++u) {
                float ps[FK][8];
                #pragma unroll
                for (int kk = 0; kk < FK; ++kk)
                    vstore8(s[kk][u] * share, 0, ps[kk]);
                for (int i = 0; i < 8 && l0 + u * 8 + i < L; ++i) {
                    __global float *wl = wc + (ulong)(l0 + u * 8 + i) * Sp + j0;
                    if (j0 + FK <= Sp) {
                        float4 x = (float4)(ps[0][i], ps[1][i], ps[2][i], ps[3][i]);
                        vstore4(hi == 0 ? x : x + vload4(0, wl), 0, wl);
                    } else {
                        for (int kk = 0; j0 + kk < Sp; ++kk)
                            wl[kk] = hi == 0 ? ps[kk][i] : wl[kk] + ps[kk][i];
                    }
                }
            }
            if (bv)
                fused_kept(kept, s, one);
            fused_pv(o, s, false, s[0], vb, kr, D);
        }
        fused_value_bias(o, kept, bv, D);
        fused_store(out, o, one, N, H, L, D, n, (int)h, l0);
    }
}
