/*
 * absorbed.cl - attention with the key and value projections absorbed, for
 * few queries against many keys (decoding-like cross attention):
 *
 *   mha_absorb_queries   a = scale W_k,h^T q, c = scale q.b_k,h per query and head
 *   mha_absorbed_scores  scores a.x_j + c against the key rows x_j as given
 *   mha_absorbed_values  u = sum_j p_j x_j over the value rows as given, and sum_j p_j
 *   mha_absorbed_output  W_v,h u + b_v,h sum_j p_j: the merged heads
 *
 * The algebra, for head h (W_k,h: rows h*D.. of W_k, D x kdim):
 *   q.(W_k,h x_j + b_k,h) = (W_k,h^T q).x_j + q.b_k,h
 *   sum_j p_j (W_v,h x_j + b_v,h) = W_v,h (sum_j p_j x_j) + b_v,h sum_j p_j
 * Projecting S keys and values costs 2 S E (kdim + vdim) flops per batch
 * entry; the right-hand sides cost 2 H L S (kdim + vdim) + 2 L E (kdim + vdim),
 * less when H L < E, i.e. L < head_dim (plugins/opencl/path.c chooses by that count).
 * The softmax between scores and values is attention.cl's, on the same
 * keys-major matrix (N*H, S, L) as the GEMM path; p after dropout.
 *
 * Query rows r = (n*H + h)*L + l, the softmax's row order. Rows of q (the
 * query projection, E = H*D columns, without its bias) and of x (the caller's
 * key and value rows) follow ocl_row_steps_of in heads.c: row t of batch entry n
 * at t*step_t + n*step_n.
 *
 * Built after shared.h, philox.cl and common.cl (plugins/opencl/kernels.h).
 */

/* a[r*kdim + c] = scale sum_d (q + b_q)[h*D + d] W_k[h*D + d, c] for c < kdim,
 * and after the N*H*L rows of a, c[r] = scale (q + b_q).b_k (0 without bias).
 * wkt: W_k^T, (kdim, E). One work-item per (r, c), c <= kdim. */
__kernel void mha_absorb_queries(__global const float *q, ulong step_t, ulong step_n,
                                 __global const float *wkt, __global const float *bias,
                                 ulong bq_off, ulong bk_off, int has_bias, __global float *a,
                                 int N, int H, int L, int D, int kdim, float scale)
{
    const ulong gid = get_global_id(0);
    const ulong rows = (ulong)N * H * L, E = (ulong)H * D;
    if (gid >= rows * (ulong)(kdim + 1))
        return;
    const int c = (int)(gid % (ulong)(kdim + 1));
    const ulong r = gid / (ulong)(kdim + 1);
    const int l = (int)(r % (ulong)L);
    const ulong b = r / (ulong)L, h = b % (ulong)H, n = b / (ulong)H;
    if (c == kdim && !has_bias) {
        a[rows * kdim + r] = 0.0f;
        return;
    }
    __global const float *qr = q + ((ulong)l * step_t + n * step_n) * E + h * D;
    __global const float *bq = bias + bq_off + h * D;
    __global const float *w = c < kdim ? wkt + (ulong)c * E + h * D : bias + bk_off + h * D;
    float acc = 0.0f;
    for (int d = 0; d < D; ++d)
        acc += (has_bias ? qr[d] + bq[d] : qr[d]) * w[d];
    if (c < kdim)
        a[r * kdim + c] = scale * acc;
    else
        a[rows * kdim + r] = scale * acc;
}

/* x[0..n) as a float8, zeros past n (the last columns of a row; all zeros,
 * nothing read, when n <= 0). */
static float8 load_part8(__global const float *x, int n)
{
    if (n >= 8)
        return vload8(0, x);
    float t[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; ++i)
        t[i] = x[i];
    return vload8(0, t);
}

/* The sum of a float8's lanes. */
static float sum8(float8 v)
{
    const float4 s4 = v.lo + v.hi;
    const float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}

#define AS_KEYS OCL_ABSORBED_KEYS /* keys per work-item of mha_absorbed_scores (8) */
#define AS_ROWS 4 /* query rows per step */

/* scores[((n*H + h)*S + j)*L + l] = a[r].x_j + c[r] (a, c from
 * mha_absorb_queries; x_j: key j of batch entry n, kdim floats at
 * x_off + (j*step_t + n*step_n)*kdim). One work-item per batch entry and
 * AS_KEYS keys; each step takes 2 keys against AS_ROWS rows, 8 columns at a
 * time (the last rows and key of a step repeat when they run out). */
__kernel void mha_absorbed_scores(__global const float *a, __global const float *x, ulong x_off,
                                  ulong step_t, ulong step_n, __global float *scores, int N,
                                  int H, int L, int S, int kdim)
{
    const ulong gid = get_global_id(0);
    const ulong blocks = ((ulong)S + AS_KEYS - 1) / AS_KEYS;
    if (gid >= (ulong)N * blocks)
        return;
    const ulong n = gid / blocks;
    const int j0 = (int)(gid % blocks) * AS_KEYS, HL = H * L;
    __global const float *an = a + n * HL * (ulong)kdim;
    __global const float *cn = a + (ulong)N * HL * kdim + n * HL;
    __global float *plane = scores + n * HL * (ulong)S; /* plane of head 0 */
    for (int j = j0; j < S && j < j0 + AS_KEYS; j += 2) {
        const int j1 = min(j + 1, S - 1);
        __global const float *xa = x + x_off + ((ulong)j * step_t + n * step_n) * kdim;
        __global const float *xb = x + x_off + ((ulong)j1 * step_t + n * step_n) * kdim;
        for (int r0 = 0; r0 < HL; r0 += AS_ROWS) {
            __global const float *ar[AS_ROWS];
            float8 sa[AS_ROWS], sb[AS_ROWS];
#pragma unroll
            for (int i = 0; i < AS_ROWS; ++i) {
                ar[i] = an + (ulong)min(r0 + i, HL - 1) * kdim;
                sa[i] = sb[i] = (float8)(0.0f);
            }
            int c = 0;
            for (; c + 8 <= kdim; c += 8) {
                const float8 va = vload8(0, xa + c), vb = vload8(0, xb + c);
#pragma unroll
                for (int i = 0; i < AS_ROWS; ++i) {
                    const float8 w = vload8(0, ar[i] + c);
                    sa[i] = mad(w, va, sa[i]);
                    sb[i] = mad(w, vb, sb[i]);
                }
            }
            if (c < kdim) {
                const float8 va = load_part8(xa + c, kdim - c), vb = load_part8(xb + c, kdim - c);
#pragma unroll
                for (int i = 0; i < AS_ROWS; ++i) {
                    const float8 w = load_part8(ar[i] + c, kdim - c);
                    sa[i] = mad(w, va, sa[i]);
                    sb[i] = mad(w, vb, sb[i]);
                }
            }
#pragma unroll
            for (int i = 0; i < AS_ROWS; ++i) {
                const int r = r0 + i, h = r / L, l = r % L;
                if (r >= HL)
                    break;
                plane[((ulong)h * S + j) * L + l] = sum8(sa[i]) + cn[r];
                if (j1 > j)
                    plane[((ulong)h * S + j1) * L + l] = sum8(sb[i]) + cn[r];
            }
        }
    }
}

#define AV_ROWS 8 /* query rows per pass of mha_absorbed_values */
#define AV_COLUMNS OCL_ABSORBED_VALUE_COLUMNS /* columns per work-item: lo and hi, 2 float8 */

/* Columns c0..c0+7 of value row xj as a float8: zeros past vdim, except 1 in
 * column vdim (so that the weighted sum there is sum_j p_j). */
static float8 value_part8(__global const float *xj, int c0, int vdim)
{
    if (c0 + 8 <= vdim)
        return vload8(0, xj + c0);
    const int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7);
    return load_part8(xj + c0, vdim - c0) +
           select((float8)(0.0f), (float8)(1.0f), lane == (int8)(vdim - c0));
}

/* u[r*(vdim + 1) + c] = sum_j p[r, j] x_j[c] for c < vdim, and sum_j p[r, j]
 * at c = vdim (p: the keys-major matrix, row r, key j at
 * ((n*H + h)*S + j)*L + l; x_j: value j of batch entry n). One work-item per
 * batch entry and AV_COLUMNS columns, AV_ROWS rows per pass over the values (the last
 * row of a pass repeats when they run out). */
__kernel void mha_absorbed_values(__global const float *p, __global const float *x, ulong x_off,
                                  ulong step_t, ulong step_n, __global float *u, int N, int H,
                                  int L, int S, int vdim)
{
    const ulong gid = get_global_id(0);
    const int width = vdim + 1;
    const ulong blocks = ((ulong)width + AV_COLUMNS - 1) / AV_COLUMNS;
    if (gid >= (ulong)N * blocks)
        return;
    const ulong n = gid / blocks;
    const int c0 = (int)(gid % blocks) * AV_COLUMNS, HL = H * L;
    for (int r0 = 0; r0 < HL; r0 += AV_ROWS) {
        ulong row_at[AV_ROWS]; /* where row r0 + i of P starts */
        float8 lo[AV_ROWS], hi[AV_ROWS];
#pragma unroll
        for (int i = 0; i < AV_ROWS; ++i) {
            const int r = min(r0 + i, HL - 1), h = r / L, l = r % L;
            row_at[i] = (n * H + h) * (ulong)S * L + l;
            lo[i] = hi[i] = (float8)(0.0f);
        }
        for (int j = 0; j < S; ++j) {
            __global const float *xj = x + x_off + ((ulong)j * step_t + n * step_n) * vdim;
            const float8 xl = value_part8(xj, c0, vdim), xh = value_part8(xj, c0 + 8, vdim);
#pragma unroll
            for (int i = 0; i < AV_ROWS; ++i) {
                const float8 pj = (float8)(p[row_at[i] + (ulong)j * L]);
                lo[i] = mad(pj, xl, lo[i]);
                hi[i] = mad(pj, xh, hi[i]);
            }
        }
        for (int i = 0; i < AV_ROWS && r0 + i < HL; ++i) {
            __global float *ur = u + (n * HL + r0 + i) * (ulong)width;
            float t[AV_COLUMNS];
            vstore8(lo[i], 0, t);
            vstore8(hi[i], 1, t);
            for (int k = 0; k < AV_COLUMNS && c0 + k < width; ++k)
                ur[c0 + k] = t[k];
        }
    }
}

/* ocat[(l*N + n)*E + e] = (sum_c u[r, c] W_v[e, c] + b_v[e] sum_j p[r, j])
 * times row_scale[r] when scaled (the softmax's deferred 1/sum), e = h*D + d,
 * r = (n*H + h)*L + l. wvt: W_v^T, (vdim, E). One work-item per output. */
__kernel void mha_absorbed_output(__global const float *u, __global const float *wvt,
                                  __global const float *bias, ulong bv_off, int has_bias,
                                  __global const float *row_scale, int scaled,
                                  __global float *ocat, int N, int H, int L, int D, int vdim)
{
    const ulong gid = get_global_id(0);
    const ulong E = (ulong)H * D;
    if (gid >= (ulong)N * L * E)
        return;
    const ulong e = gid % E, ln = gid / E;
    const ulong l = ln / (ulong)N, n = ln % (ulong)N, h = e / (ulong)D;
    const ulong r = (n * H + h) * L + l;
    __global const float *ur = u + r * (ulong)(vdim + 1); /* sum_j p[r, j] at vdim */
    float acc = 0.0f;
    for (int c = 0; c < vdim; ++c)
        acc += ur[c] * wvt[(ulong)c * E + e];
    if (has_bias)
        acc += bias[bv_off + e] * ur[vdim];
    ocat[gid] = scaled ? acc * row_scale[r] : acc;
}
