/*
 * common.cl - helpers shared by the kernels of every program (OpenCL C 1.2).
 * Each program is built from shared.h + philox.cl + this file + its own
 * source (plugins/opencl/program.c), so attention.cl, fused.cl and
 * absorbed.cl each compile on their own after these three.
 */

/*
 * The mask, causal and dropout parameters of the softmax and fused kernels,
 * in the order ocl_arg_masks (plugins/opencl/launch.c) sets them:
 *   attn_mask, attn_off  (L, S), or (N*H, L, S) when attn_3d, attn_off bytes in
 *   attn_kind            OCL_MASK_* (shared.h)
 *   kpm, kpm_off         key_padding_mask (N, S), kpm_off bytes in
 *   kpm_kind             OCL_MASK_*
 *   causal               OCL_CAUSAL_*
 *   dropout, p_drop      whether to drop, and the probability
 *   keep_scale           1 / (1 - p_drop) for the kept elements
 *   seed                 the Philox key (philox.cl)
 * A bool mask is one byte per element; float masks start at a multiple of 4.
 */
#define OCL_MASK_PARAMS                                                                     \
    __global const uchar *attn_mask, ulong attn_off, int attn_kind, int attn_3d,            \
        __global const uchar *kpm, ulong kpm_off, int kpm_kind, int causal, int dropout,    \
        float p_drop, float keep_scale, ulong seed

/* The masks of OCL_MASK_PARAMS as one value, for the helpers of the fused
 * and flash kernels; a kernel that declares OCL_MASK_PARAMS builds it with
 * `const mha_masks mk = OCL_MASKS_OF_PARAMS;`. */
typedef struct mha_masks {
    __global const uchar *attn_mask;
    ulong attn_off;
    int attn_kind, attn_3d;
    __global const uchar *kpm;
    ulong kpm_off;
    int kpm_kind, causal;
} mha_masks;
#define OCL_MASKS_OF_PARAMS {attn_mask, attn_off, attn_kind, attn_3d, kpm, kpm_off, kpm_kind, causal}

/* Helpers forced inline: PoCL 3.1 left them as calls, which kept the fused
 * kernel's scores and rescale factors in memory (10-30% slower). */
#if defined(__clang__)
#define OCL_INLINE static inline __attribute__((always_inline))
#else
#define OCL_INLINE static inline
#endif

/* -inf, from the bits: a compare with -INFINITY may be folded away under
 * -cl-fast-relaxed-math (the flash and tiled kernels must stay right there). */
OCL_INLINE int mha_is_minus_inf(float x) { return as_uint(x) == 0xff800000u; }

/* max that propagates NaN (fmax drops it): a row whose only unmasked score
 * is NaN must become NaN, as in PyTorch, not a fully masked row of zeros. */
static float nan_max(float a, float b)
{
    return isnan(a) ? a : isnan(b) ? b : fmax(a, b);
}

/* nan_max lane by lane. */
static float8 nan_maxv(float8 a, float8 b)
{
    float8 r = fmax(a, b);
    r = select(r, b, isnan(b));
    return select(r, a, isnan(a));
}

/* Score x at (b, n, l, j), j < S, with its masks: attn_mask and
 * key_padding_mask (bool: -inf, float: added), then causality (-inf). */
static float masked_score(float x, __global const uchar *attn_mask, ulong attn_off,
                          int attn_kind, int attn_3d, __global const uchar *kpm, ulong kpm_off,
                          int kpm_kind, int causal, ulong b, ulong n, int L, int S, int l, int j)
{
    if (attn_kind != OCL_MASK_NONE) {
        ulong mi = (attn_3d ? b * L * S : 0) + (ulong)l * S + j;
        if (attn_kind == OCL_MASK_BOOL) {
            if (attn_mask[attn_off + mi])
                x -= INFINITY;
        } else {
            x += ((__global const float *)(attn_mask + attn_off))[mi];
        }
    }
    if (kpm_kind != OCL_MASK_NONE) {
        ulong ki = n * S + j;
        if (kpm_kind == OCL_MASK_BOOL) {
            if (kpm[kpm_off + ki])
                x -= INFINITY;
        } else {
            x += ((__global const float *)(kpm + kpm_off))[ki];
        }
    }
    if (causal == OCL_CAUSAL_TOP_LEFT && j > l)
        x -= INFINITY;
    else if (causal == OCL_CAUSAL_BOTTOM_RIGHT && j > l + (S - L))
        x -= INFINITY;
    return x;
}
