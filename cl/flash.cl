/*
 * flash.cl - the attention products in the FlashAttention-2 manner, for GPUs
 * (OpenCL C 1.2, no sub-groups, no cl_khr_fp16):
 *
 *   mha_flash_16 .. mha_flash_128  softmax(scale Q K^T + masks) V, dropout,
 *                                  for head_dim up to 16, 32, 64, 128
 *   mha_flash_combine              the split-K partials of one row merged
 *   mha_flash_weights              the weights the API returns, a second pass
 *                                  from each row's saved max and 1/sum
 *
 * Built after shared.h, philox.cl and common.cl (OCL_MASK_PARAMS,
 * mha_dropout_keep); needs nothing else.
 *
 * A work-group takes BQ = get_local_size(0) queries of one head, a work-item
 * per query, and walks the keys in tiles of block_k: the group copies the
 * tile's keys and values into local memory (block_k rows of DM floats each,
 * zero past head_dim), then every work-item scores its query against the
 * tile FLASH_KEY_STEP keys at a time (all work-items read the same local
 * address at once: a broadcast) and folds them into its online softmax: a
 * running max m, a running sum and the output row o[DM], both rescaled by
 * exp(m_old - m_new) when the max grows. q and o live in private arrays of
 * DM floats whose indices are constant once the loops are unrolled
 * (registers on a GPU); no L x S' matrix exists anywhere.
 *
 * No -inf arithmetic: a masked key is left out of the max and gets p = 0
 * outright, the running max starts at the finite FLASH_NO_MAX, and the float
 * classes that matter (-inf, NaN, +inf) are read from the bits, so the
 * kernel stays right under -cl-fast-relaxed-math (which lets the compiler
 * assume no inf or NaN) for every finite input. With non-finite inputs the
 * rows come out as the other paths give them: a score whose masked value
 * would be NaN or +inf (a NaN in q, k or a float mask, +inf under a mask)
 * makes its row NaN; a row with every key masked (or -inf) is zeros.
 *
 * Views: element (n, h, row, d) of q, k, v and out at
 *   off + n*st.s0 + h*st.s1 + row*st.s2 + d*st.s3 floats,
 * so one kernel reads the forward's per-head Q^T and K, V blocks and writes
 * the merged heads (rows (l, n)), and the attention core's rank-4 views.
 * Query head h reads key/value head h / group (group 1: multi-head).
 * has_kv_bias: K and V are the projections read in place (decoding, see
 * plugins/opencl/path.c), the in_proj bias of head hk, at k_bias_off and
 * v_bias_off in kv_bias, is added as each tile is loaded.
 *
 * Masks, causal and dropout as mha_softmax (cl/attention.cl), with the same
 * dropout stream (element (b, l, j) of the attention matrix, b = n*H + h);
 * keys j >= S (bias_kv, zero_attn) are never masked. Causal: the tiles past
 * the last key any query of the group sees are skipped (never loaded).
 *
 * Split-K (decoding: few queries, many keys): with splits > 1 the keys are
 * cut into pieces of split_keys (a multiple of block_k) and each work-group
 * takes one piece; it writes its unnormalised o with its m and sum into
 * `part`, and mha_flash_combine merges the pieces of each row. The layout of
 * part (floats): (m, sum) of (split, b, l) at 2*((split*B + b)*L + l), then
 * o at 2*splits*B*L + ((split*B + b)*L + l)*D + d; sum is NaN for a row that
 * must become NaN.
 */
#define FLASH_KEY_STEP OCL_FLASH_KEY_STEP /* keys per online-softmax step (16) */
#define FLASH_NO_MAX (-FLT_MAX)           /* the running max before any key */

/* NaN or +inf, what makes a softmax row NaN in the reference, from the bits
 * (as mha_is_minus_inf, common.cl: compares against INFINITY or isnan() may
 * be folded away under -cl-fast-relaxed-math). */
OCL_INLINE int flash_poisons(float x)
{
    const uint u = as_uint(x);
    return (u & 0x7f800000u) == 0x7f800000u && u != 0xff800000u;
}

/* Score x of key j < S for query l with the float masks added; *cut when a
 * bool mask or causality excludes the key (the reference's -inf). */
OCL_INLINE float flash_masked(float x, const mha_masks *mk, ulong b, ulong n, int L, int S,
                                int l, int j, int *cut)
{
    if (mk->attn_kind != OCL_MASK_NONE) {
        const ulong mi = (mk->attn_3d ? b * L * S : 0) + (ulong)l * S + j;
        if (mk->attn_kind == OCL_MASK_BOOL)
            *cut |= mk->attn_mask[mk->attn_off + mi] != 0;
        else
            x += ((__global const float *)(mk->attn_mask + mk->attn_off))[mi];
    }
    if (mk->kpm_kind != OCL_MASK_NONE) {
        const ulong ki = n * S + j;
        if (mk->kpm_kind == OCL_MASK_BOOL)
            *cut |= mk->kpm[mk->kpm_off + ki] != 0;
        else
            x += ((__global const float *)(mk->kpm + mk->kpm_off))[ki];
    }
    if (mk->causal == OCL_CAUSAL_TOP_LEFT)
        *cut |= j > l;
    else if (mk->causal == OCL_CAUSAL_BOTTOM_RIGHT)
        *cut |= j > l + (S - L);
    return x;
}

/* The keys of [j0, j0 + count) of head (n, hk) into ks and vs, block_k rows
 * of DM floats, zeros past count and past D, plus the bias rows bk and bv
 * (NULL: none); the whole group takes part. */
OCL_INLINE void flash_load_tile(__local float *ks, __local float *vs, __global const float *k,
                                  ulong k_at, ulong4 k_st, __global const float *v, ulong v_at,
                                  ulong4 v_st, __global const float *bk, __global const float *bv,
                                  int j0, int count, int block_k, int D, const int DM)
{
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    for (int i = lid; i < block_k * DM; i += wg) {
        const int jj = i / DM, d = i % DM;
        float kx = 0.0f, vx = 0.0f;
        if (jj < count && d < D) {
            const ulong j = (ulong)(j0 + jj);
            kx = k[k_at + j * k_st.s2 + (ulong)d * k_st.s3];
            vx = v[v_at + j * v_st.s2 + (ulong)d * v_st.s3];
            if (bk) {
                kx += bk[d];
                vx += bv[d];
            }
        }
        ks[i] = kx;
        vs[i] = vx;
    }
}

/*
 * The body of mha_flash_DM, inlined into each kernel with its own DM (the
 * padded head_dim) and private arrays q and o of DM floats.
 */
OCL_INLINE void flash_body(const int DM, float *q, float *o, __global const float *qv,
                             ulong q_off, ulong4 q_st, __global const float *k, ulong k_off,
                             ulong4 k_st, __global const float *v, ulong v_off, ulong4 v_st,
                             __global const float *k_bias, __global const float *v_bias,
                             __global float *out, ulong out_off, ulong4 out_st,
                             __global float *part, __global float *stats, int N, int H,
                             int group, int L, int S, int Sp,
                             int D, float scale, int block_k, int splits, int split_keys,
                             const mha_masks *mk, int dropout, float p_drop, float keep_scale,
                             ulong seed, __local float *ks, __local float *vs)
{
    const int BQ = (int)get_local_size(0), lid = (int)get_local_id(0);
    const int QB = (L + BQ - 1) / BQ; /* query blocks per head */
    const ulong B = (ulong)N * H, g = get_group_id(0);
    const int qb = (int)(g % QB);
    const ulong b = (g / QB) % B, n = b / H, h = b % H, hk = h / group;
    const int split = (int)(g / QB / B);
    const int l = qb * BQ + lid, lr = min(l, L - 1); /* past L: row L - 1, not stored */

    const ulong q_at = q_off + n * q_st.s0 + h * q_st.s1 + (ulong)lr * q_st.s2;
    for (int d = 0; d < DM; ++d) {
        const float x = qv[q_at + (ulong)min(d, D - 1) * q_st.s3];
        q[d] = d < D ? x : 0.0f;
        o[d] = 0.0f;
    }
    float m = FLASH_NO_MAX, sum = 0.0f;
    int bad = 0;

    /* this group's keys [jb, je), less the causal tail [klim, S) that no
     * query of the group sees */
    const int jb = split * split_keys, je = min(Sp, jb + split_keys);
    int klim = S;
    if (mk->causal != OCL_CAUSAL_NONE) {
        const int lmax = min(qb * BQ + BQ, L) - 1;
        const int last = mk->causal == OCL_CAUSAL_TOP_LEFT ? lmax : lmax + (S - L);
        klim = clamp(last + 1, 0, S);
    }
    const int masks =
        mk->attn_kind != OCL_MASK_NONE || mk->kpm_kind != OCL_MASK_NONE || mk->causal;
    const ulong k_at = k_off + n * k_st.s0 + hk * k_st.s1;
    /* K and V read from the projections in place: their bias rows of head hk */
    __global const float *bk = k_bias ? k_bias + hk * D : 0;
    __global const float *bv = v_bias ? v_bias + hk * D : 0;
    const ulong v_at = v_off + n * v_st.s0 + hk * v_st.s1;
    const ulong row = b * (ulong)L + (ulong)lr; /* of the attention matrix, for dropout */

    for (int piece = 0; piece < 2; ++piece) {
        const int a = piece ? max(jb, S) : jb, e = piece ? je : min(je, klim);
        for (int j0 = a; j0 < e; j0 += block_k) {
            const int count = min(block_k, e - j0);
            barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile is consumed */
            flash_load_tile(ks, vs, k, k_at, k_st, v, v_at, v_st, bk, bv, j0, count, block_k, D,
                            DM);
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int c0 = 0; c0 < count; c0 += FLASH_KEY_STEP) {
                float s[FLASH_KEY_STEP];
                int live[FLASH_KEY_STEP];
                float mx = m;
                #pragma unroll
                for (int kk = 0; kk < FLASH_KEY_STEP; ++kk) {
                    const int jj = c0 + kk, j = j0 + jj;
                    __local const float *kr = ks + jj * DM;
                    float x = 0.0f;
                    for (int d = 0; d < DM; ++d)
                        x = fma(q[d], kr[d], x);
                    x *= scale;
                    int cut = jj >= count;
                    if (!cut && masks && j < S)
                        x = flash_masked(x, mk, b, n, L, S, lr, j, &cut);
                    const int poisons = flash_poisons(x);
                    bad |= !(jj >= count) && poisons;
                    live[kk] = !cut && !poisons && !mha_is_minus_inf(x);
                    s[kk] = x;
                    if (live[kk])
                        mx = fmax(mx, x);
                }
                /* rescale what was summed under the old max (nothing yet:
                 * alpha 0, never exp of a difference with the sentinel) */
                const float alpha = m == FLASH_NO_MAX ? 0.0f : exp(m - mx);
                m = mx;
                sum *= alpha;
                for (int d = 0; d < DM; ++d)
                    o[d] *= alpha;
                #pragma unroll
                for (int kk = 0; kk < FLASH_KEY_STEP; ++kk) {
                    float p = live[kk] ? exp(s[kk] - m) : 0.0f;
                    sum += p; /* the sum is of kept and dropped p alike */
                    if (dropout && p != 0.0f)
                        p = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)(j0 + c0 + kk),
                                             p_drop)
                                ? p * keep_scale
                                : 0.0f;
                    __local const float *vr = vs + (c0 + kk) * DM;
                    for (int d = 0; d < DM; ++d)
                        o[d] = fma(p, vr[d], o[d]);
                }
            }
        }
    }
    if (l >= L)
        return;
    /* o / sum; a fully masked row (sum 0) is zeros, as mha_merge_heads makes
     * it with the softmax's 1/sum */
    const float r = bad ? NAN : sum == 0.0f ? 0.0f : 1.0f / sum;
    if (splits == 1 && stats) { /* each row's max and 1/sum for mha_flash_weights */
        stats[2 * (b * L + (ulong)l)] = m;
        stats[2 * (b * L + (ulong)l) + 1] = r;
    }
    if (splits > 1) {
        const ulong at = ((ulong)split * B + b) * L + (ulong)l;
        part[2 * at] = m;
        part[2 * at + 1] = bad ? NAN : sum;
        __global float *po = part + 2 * (ulong)splits * B * L + at * D;
        for (int d = DM - 1; d >= 0; --d) /* past D: element D - 1, written last */
            po[min(d, D - 1)] = o[d];
        return;
    }
    const ulong o_at = out_off + n * out_st.s0 + h * out_st.s1 + (ulong)l * out_st.s2;
    for (int d = DM - 1; d >= 0; --d) /* past D: element D - 1, written last */
        out[o_at + (ulong)min(d, D - 1) * out_st.s3] = bad ? r : o[d] * r; /* 0 * NaN: NaN */
}

#define FLASH_KERNEL(DM)                                                                    \
    __kernel void mha_flash_##DM(                                                           \
        __global const float *q, ulong q_off, ulong4 q_st, __global const float *k,         \
        ulong k_off, ulong4 k_st, __global const float *v, ulong v_off, ulong4 v_st,        \
        __global const float *kv_bias, ulong k_bias_off, ulong v_bias_off, int has_kv_bias, \
        __global float *out, ulong out_off, ulong4 out_st, __global float *part,            \
        __global float *stats, int write_stats, int N, int H, int group, int L, int S,      \
        int Sp, int D, float scale, int block_k, int splits, int split_keys,                \
        OCL_MASK_PARAMS, __local float *ks, __local float *vs)                              \
    {                                                                                       \
        const mha_masks mk = OCL_MASKS_OF_PARAMS;                                           \
        float qr[DM], o[DM];                                                                \
        flash_body(DM, qr, o, q, q_off, q_st, k, k_off, k_st, v, v_off, v_st,               \
                   has_kv_bias ? kv_bias + k_bias_off : 0,                                  \
                   has_kv_bias ? kv_bias + v_bias_off : 0, out, out_off, out_st, part,      \
                   write_stats ? stats : 0, N, H, group, L, S, Sp, D, scale, block_k,       \
                   splits, split_keys, &mk, dropout, p_drop, keep_scale, seed, ks, vs);     \
    }

FLASH_KERNEL(16)
FLASH_KERNEL(32)
FLASH_KERNEL(64)
FLASH_KERNEL(128)

/*
 * mha_flash_combine: the splits of row (b, l) merged, a work-item per output
 * element (b, l, d): with M the largest max of the pieces,
 *   out = sum_i exp(m_i - M) o_i / sum_i exp(m_i - M) sum_i;
 * a piece without a live key (sum 0) adds nothing, a NaN sum makes the row
 * NaN, no live key at all gives 0. Same view of out as mha_flash_DM; with
 * write_stats, M and the 1/sum of each row into stats as mha_flash_DM does.
 */
__kernel void mha_flash_combine(__global const float *part, __global float *out, ulong out_off,
                                ulong4 out_st, __global float *stats, int write_stats, int N,
                                int H, int L, int D, int splits)
{
    const ulong B = (ulong)N * H, gid = get_global_id(0);
    if (gid >= B * L * D)
        return;
    const int d = (int)(gid % D);
    const ulong r = gid / D, b = r / L, n = b / H, h = b % H;
    const int l = (int)(r % L);
    float mx = FLASH_NO_MAX;
    for (int i = 0; i < splits; ++i) {
        const ulong at = ((ulong)i * B + b) * L + l;
        if (part[2 * at + 1] != 0.0f)
            mx = fmax(mx, part[2 * at]);
    }
    float acc = 0.0f, sum = 0.0f;
    __global const float *po = part + 2 * (ulong)splits * B * L;
    for (int i = 0; i < splits; ++i) {
        const ulong at = ((ulong)i * B + b) * L + l;
        const float si = part[2 * at + 1];
        if (si == 0.0f)
            continue; /* no live key in this piece */
        const float f = exp(part[2 * at] - mx);
        sum += f * si;
        acc += f * po[at * D + d];
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    if (write_stats && d == 0) { /* the row's max and 1/sum for mha_flash_weights */
        stats[2 * r] = mx;
        stats[2 * r + 1] = inv;
    }
    out[out_off + n * out_st.s0 + h * out_st.s1 + (ulong)l * out_st.s2 + (ulong)d * out_st.s3] =
        flash_poisons(inv) ? inv : acc * inv; /* a NaN row even where acc is 0 */
}

/*
 * mha_flash_weights: the weights the API returns, query-major, from the max
 * m and the r = 1/sum (0: no live key, NaN: a NaN row) of each row that
 * mha_flash_DM or mha_flash_combine saved in stats ((b, l) at 2*(b*L + l)):
 * a work-item per element (c, l, j) of the output planes, which recomputes
 * the score of each of its hp heads (b = c*hp + i: every head of batch entry
 * c when averaging, hp = H; else head c alone), masks it as mha_flash_DM,
 * and writes the mean over them of p = exp(x - m) * r after dropout (same
 * stream and index) to w[w_off + (c*L + l)*S' + j]. No L x S' matrix beyond
 * the weights themselves. q and k as mha_flash_DM sees them.
 */
__kernel void mha_flash_weights(__global const float *q, ulong q_off, ulong4 q_st,
                                __global const float *k, ulong k_off, ulong4 k_st,
                                __global const float *stats, __global float *w, ulong w_off,
                                int hp, int N, int H, int group, int L, int S, int Sp, int D,
                                float scale, OCL_MASK_PARAMS)
{
    const ulong planes = (ulong)N * H / hp, gid = get_global_id(0);
    if (gid >= planes * L * Sp)
        return;
    const int j = (int)(gid % Sp), l = (int)(gid / Sp % L);
    const ulong c = gid / Sp / L;
    const mha_masks mk = OCL_MASKS_OF_PARAMS;
    const int masks = attn_kind != OCL_MASK_NONE || kpm_kind != OCL_MASK_NONE || causal;
    float acc = 0.0f;
    for (int i = 0; i < hp; ++i) {
        const ulong b = c * hp + i, n = b / H, h = b % H, hk = h / group;
        const ulong qa = q_off + n * q_st.s0 + h * q_st.s1 + (ulong)l * q_st.s2;
        const ulong ka = k_off + n * k_st.s0 + hk * k_st.s1 + (ulong)j * k_st.s2;
        float x = 0.0f;
        for (int d = 0; d < D; ++d)
            x = fma(q[qa + (ulong)d * q_st.s3], k[ka + (ulong)d * k_st.s3], x);
        x *= scale;
        int cut = 0;
        if (masks && j < S)
            x = flash_masked(x, &mk, b, n, L, S, l, j, &cut);
        const int live = !cut && !flash_poisons(x) && !mha_is_minus_inf(x);
        const ulong row = b * (ulong)L + (ulong)l;
        const float m = stats[2 * row], r = stats[2 * row + 1];
        /* a NaN row (r NaN): NaN everywhere, masked keys included (written
         * out: compilers that fold 0 * r to 0 exist, llvmpipe's among them) */
        float p = live ? exp(x - m) * r : flash_poisons(r) ? r : 0.0f;
        if (dropout)
            p = mha_dropout_keep(seed, row * (ulong)Sp + (ulong)j, p_drop) ? p * keep_scale
                                                                           : 0.0f;
        acc += p;
    }
    w[w_off + (c * L + (ulong)l) * Sp + (ulong)j] = hp == 1 ? acc : acc / (float)hp;
}
