/*
 * core_tiled.cl - the attention core (cl/core.cl's semantics) for GPUs, in
 * the flash manner. A work-group takes one (b, KV head kh) and a block of
 * its "packed" query rows: row r of the Hq/Hkv = group query heads that read
 * kh, L rows each, is (h = kh * group + r / L, i = r % L), a work-item per
 * row. So the heads that share a KV head share its tiles (decoding with GQA:
 * one read of K and V for `group` rows, not `group` reads). The group walks
 * the keys in tiles of block_k rows: it copies each tile's keys and values
 * into local memory (through core_load, so any storage dtype; rows of DM
 * floats, zeros past D and Dv), then every work-item folds the tile into its
 * online softmax in float32. Per-key bias (mask, causal with offset,
 * windows, valid lengths) is core_bias, the row's offset and valid length
 * core_row_limits: the same helpers as mha_core_rows. Built after core.cl
 * in the core program; no qk_matmul_output (core.c runs mha_core_rows for
 * it).
 *
 * Split-K (decoding: few rows, many keys; and devices whose loop limiter
 * caps the keys one work-item may walk): with splits > 1 the keys are cut
 * into pieces of split_keys (whole tiles), the piece is get_group_id(2), and
 * each work-item writes its piece's partial state to `part` instead of y:
 * record ((split * B + b) * Hq + h) * L + i of Dv + 3 floats, (m, sum,
 * flags, o[0..Dv)) with o not yet divided by sum, flags 1: attended, 2: a
 * NaN or +inf score. mha_core_combine merges the pieces of each row.
 *
 * No -inf arithmetic: the running max starts at the finite CORE_NO_MAX, a
 * masked key (bias -inf) is left out before its score is used, and the
 * classes that matter are read from the bits. Non-finite scores as in
 * mha_core_rows: an unmasked NaN or +inf score makes the row NaN, a row
 * with no key left (masked, or every score -inf) is zeros. One difference:
 * a masked key's score is never computed, so a NaN in a masked key's k or v
 * does not reach the row (mha_core_rows may let it in).
 *
 * Tiles outside [begin, end) are skipped, never loaded: keys outside the
 * group's piece, past the batch's valid length or the mask's columns, past
 * the causal diagonal of the block's last row, or left of the left window
 * of its first row are masked for every row of the group.
 */
#define CORE_NO_MAX (-FLT_MAX) /* the running max before any key */

/* NaN and +inf from the bits, as mha_is_minus_inf (common.cl). */
OCL_INLINE int core_is_nan(float x) { return (as_uint(x) & 0x7fffffffu) > 0x7f800000u; }
OCL_INLINE int core_plus_inf(float x) { return as_uint(x) == 0x7f800000u; }

/* Keys [j0, j0 + count) of (b, kh) into ks and vs, block_k rows of DM
 * floats, zeros past count, D and Dv; the whole group takes part. */
OCL_INLINE void core_tile_load(global const long *g, global const uchar *k,
                                global const uchar *v, global const uchar *past_k,
                                global const uchar *past_v, int dtype, long b, long kh, long j0,
                                long count, int block_k, local float *ks, local float *vs,
                                const int DM)
{
    const long P = g[OCL_CORE_G_PAST], D = g[OCL_CORE_G_D], Dv = g[OCL_CORE_G_DV];
    const int lid = (int)get_local_id(0), wg = (int)get_local_size(0);
    for (int t = lid; t < block_k * DM; t += wg) {
        const long jj = t / DM, d = t % DM, j = j0 + jj;
        float kx = 0.0f, vx = 0.0f;
        if (jj < count) {
            if (j < P) {
                if (d < D)
                    kx = core_load(past_k, core_at(g, OCL_CORE_G_PAST_K, b, kh, j, d), dtype);
                if (d < Dv)
                    vx = core_load(past_v, core_at(g, OCL_CORE_G_PAST_V, b, kh, j, d), dtype);
            } else {
                if (d < D)
                    kx = core_load(k, core_at(g, OCL_CORE_G_K, b, kh, j - P, d), dtype);
                if (d < Dv)
                    vx = core_load(v, core_at(g, OCL_CORE_G_V, b, kh, j - P, d), dtype);
            }
        }
        ks[t] = kx;
        vs[t] = vx;
    }
}

/* The body of mha_core_tiled_DM, inlined into each kernel with its DM (D
 * and Dv padded) and private rows q and o of DM floats: constant indices
 * once the loops over DM are unrolled (registers on a GPU). */
OCL_INLINE void core_tiled(global const long *g, global const uchar *q, global const uchar *k,
                            global const uchar *v, global const uchar *past_k,
                            global const uchar *past_v, global const uchar *mask,
                            global const uchar *nonpad, global uchar *y, int dtype,
                            int mask_dtype, int mask_true_attends, int nonpad_dtype, int causal,
                            int offset_from_nonpad, float scale, float softcap, local float *ks,
                            local float *vs, int block_k, global float *part, int splits,
                            long split_keys, float *qr, float *o, const int DM)
{
    const long Hq = g[OCL_CORE_G_HQ], L = g[OCL_CORE_G_L], T = g[OCL_CORE_G_T];
    const long D = g[OCL_CORE_G_D], Dv = g[OCL_CORE_G_DV], group = g[OCL_CORE_G_GROUP];
    const long Hkv = g[OCL_CORE_G_HKV], packed = group * L;
    const long bkh = get_group_id(1), b = bkh / Hkv, kh = bkh % Hkv;
    const long first = (long)get_group_id(0) * (long)get_local_size(0);
    const long r = first + (long)get_local_id(0);
    const long last = min(first + (long)get_local_size(0), packed) - 1; /* the group's last row */
    const int live = r < packed;
    const long h = kh * group + r / L, i = r % L;
    /* The query positions of the block: from its first row's to its last
     * row's, or all of them when the block crosses from one head to the next. */
    const int one_head = first / L == last / L;
    const long i_first = one_head ? first % L : 0, i_last = one_head ? last % L : L - 1;

    long offset, valid;
    core_row_limits(g, nonpad, nonpad_dtype, offset_from_nonpad, b, &offset, &valid);

    const long split = get_group_id(2);
    long begin = split * split_keys, end = min(T, valid);
    if (splits > 1)
        end = min(end, begin + split_keys);
    if (mask_dtype != 0)
        end = min(end, g[OCL_CORE_G_MASK_COLS]);
    if (causal)
        end = min(end, i_last + offset + 1);
    if (g[OCL_CORE_G_RIGHT] >= 0)
        end = min(end, i_last + offset + g[OCL_CORE_G_RIGHT] + 1);
    if (g[OCL_CORE_G_LEFT] >= 0)
        begin = max(begin, i_first + offset - g[OCL_CORE_G_LEFT]);

    for (int d = 0; d < DM; ++d)
        qr[d] = live && d < D ? core_load(q, core_at(g, OCL_CORE_G_Q, b, h, i, d), dtype) : 0.0f;
    for (int d = 0; d < DM; ++d)
        o[d] = 0.0f;
    float m = CORE_NO_MAX, sum = 0.0f;
    int attended = 0, poisoned = 0;

    for (long j0 = begin; j0 < end; j0 += block_k) {
        const long count = min((long)block_k, end - j0);
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile is used up */
        core_tile_load(g, k, v, past_k, past_v, dtype, b, kh, j0, count, block_k, ks, vs, DM);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (!live)
            continue;
        for (int jj = 0; jj < count; ++jj) {
            const long j = j0 + jj;
            const float bias = core_bias(g, mask, mask_dtype, mask_true_attends, b, h, i, j,
                                         offset, valid, causal);
            if (mha_is_minus_inf(bias))
                continue;
            float dot = 0.0f;
            for (int d = 0; d < DM; ++d)
                dot += qr[d] * ks[jj * DM + d];
            float score = scale * dot;
            if (softcap > 0.0f)
                score = softcap * tanh(score / softcap);
            const float x = score + bias;
            if (mha_is_minus_inf(x))
                continue;
            if (core_is_nan(x) || core_plus_inf(x)) {
                poisoned = 1;
                attended |= core_plus_inf(x); /* a NaN alone leaves the row zeros */
                continue;
            }
            attended = 1;
            if (x > m) {
                const float rescale = m == CORE_NO_MAX ? 0.0f : exp(m - x);
                sum *= rescale;
                for (int e = 0; e < DM; ++e)
                    o[e] *= rescale;
                m = x;
            }
            const float p = exp(x - m);
            sum += p;
            for (int e = 0; e < DM; ++e)
                o[e] += p * vs[jj * DM + e];
        }
    }
    if (!live)
        return;
    if (splits > 1) {
        const long B = g[OCL_CORE_G_B];
        global float *record = part + (((split * B + b) * Hq + h) * L + i) * (Dv + 3);
        record[0] = m;
        record[1] = sum;
        record[2] = (float)(attended | poisoned << 1);
        for (long e = 0; e < Dv; ++e)
            record[3 + e] = o[e];
        return;
    }
    for (long e = 0; e < Dv; ++e) {
        const float value = !attended ? 0.0f : poisoned ? NAN : o[e] / sum;
        core_store(y, core_at(g, OCL_CORE_G_Y, b, h, i, e), dtype, value);
    }
}

#define CORE_TILED_KERNEL(DM)                                                                  \
    kernel void mha_core_tiled_##DM(                                                           \
        global const long *g, global const uchar *q, global const uchar *k,                    \
        global const uchar *v, global const uchar *past_k, global const uchar *past_v,         \
        global const uchar *mask, global const uchar *nonpad, global uchar *y, int dtype,      \
        int mask_dtype, int mask_true_attends, int nonpad_dtype, int causal,                   \
        int offset_from_nonpad, float scale, float softcap, local float *ks, local float *vs,  \
        int block_k, global float *part, int splits, long split_keys)                          \
    {                                                                                          \
        float qr[DM], o[DM];                                                                   \
        core_tiled(g, q, k, v, past_k, past_v, mask, nonpad, y, dtype, mask_dtype,             \
                   mask_true_attends, nonpad_dtype, causal, offset_from_nonpad, scale,         \
                   softcap, ks, vs, block_k, part, splits, split_keys, qr, o, DM);             \
    }

CORE_TILED_KERNEL(16)
CORE_TILED_KERNEL(32)
CORE_TILED_KERNEL(64)
CORE_TILED_KERNEL(128)
CORE_TILED_KERNEL(256)

/* The pieces of split-K merged: a work-item per element (b, h, i, e) of y.
 * Each piece's o and sum are scaled by exp(m_piece - M), M the largest max
 * of the pieces that summed any key (sum > 0: the key at a piece's max adds
 * exp(0) = 1); flags are or-ed, so a row is zeros or NaN exactly as one
 * pass over all its keys would make it. */
kernel void mha_core_combine(global const long *g, global const float *part, global uchar *y,
                             int dtype, int splits)
{
    const long B = g[OCL_CORE_G_B], Hq = g[OCL_CORE_G_HQ], L = g[OCL_CORE_G_L];
    const long Dv = g[OCL_CORE_G_DV], id = get_global_id(0);
    if (id >= B * Hq * L * Dv)
        return;
    const long e = id % Dv, row = id / Dv, stride = B * Hq * L;
    const long i = row % L, h = (row / L) % Hq, b = row / (L * Hq);
    float M = CORE_NO_MAX;
    int flags = 0;
    for (int s = 0; s < splits; ++s) {
        global const float *record = part + (s * stride + row) * (Dv + 3);
        flags |= (int)record[2];
        if (record[1] > 0.0f)
            M = max(M, record[0]);
    }
    float sum = 0.0f, acc = 0.0f;
    for (int s = 0; s < splits; ++s) {
        global const float *record = part + (s * stride + row) * (Dv + 3);
        if (record[1] > 0.0f) {
            const float w = exp(record[0] - M);
            sum += w * record[1];
            acc += w * record[3 + e];
        }
    }
    const float value = !(flags & 1) ? 0.0f : (flags & 2) ? NAN : acc / sum;
    core_store(y, core_at(g, OCL_CORE_G_Y, b, h, i, e), dtype, value);
}
