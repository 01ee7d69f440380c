/*
 * core.h - the attention core (ABI 1.1): scaled dot-product attention on
 * already-projected Q, K and V, with the semantics of the ONNX `Attention`
 * operator (opsets 23 and 24, and opset 25's sliding windows, as onnx main
 * computes them): grouped-query attention, a KV cache, softcap, masks of any
 * rank, per-batch valid lengths, windows, fp16 storage. docs/core.md has the
 * long form and examples; docs/abi.md the versioning rules.
 *
 * Shapes (B batch, Hq query heads, Hkv KV heads, L queries, S new keys,
 * P past keys, T = P + S, D query/key head size, Dv value head size):
 *   q (B, Hq, L, D)   k (B, Hkv, S, D)   v (B, Hkv, S, Dv)     4-D, or
 *   q (B, L, Hq*D)    k (B, S, Hkv*D)    v (B, S, Hkv*Dv)      3-D with the
 *   head counts given in q_num_heads / kv_num_heads;
 *   y has q's rank: (B, Hq, L, Dv) or (B, L, Hq*Dv).
 * Hq must be a multiple of Hkv: query head h reads KV head h / (Hq / Hkv).
 *
 * Every tensor is an mha_view (mha.h): any strides, so K and V may be read in
 * place from a wider buffer; host memory, or cl_mem where the backend takes
 * it. One storage dtype for q, k, v, past, present, y and qk_matmul_output
 * (float32, float16 or bfloat16 as the backend's core_dtypes allows), with
 * arithmetic in float32 or better.
 */
#ifndef MHA_CORE_H
#define MHA_CORE_H

#include "mha/mha.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a bool attn_mask's true means. */
typedef enum mha_bool_polarity {
    MHA_BOOL_TRUE_ATTENDS = 0, /* ONNX Attention, torch SDPA */
    MHA_BOOL_TRUE_MASKS = 1    /* torch.nn.MultiheadAttention */
} mha_bool_polarity;

/* The qk_matmul_output modes, as onnx main's reference computes them. */
enum {
    MHA_QK_OUTPUT_SCORES = 0,    /* scale * Q K^T, softcapped when softcap > 0 */
    MHA_QK_OUTPUT_SOFTCAPPED = 1, /* the same (ONNX: "after softcap, before the bias") */
    MHA_QK_OUTPUT_BIASED = 2,    /* mode 1 + the mask, causal and window bias (-inf masked) */
    MHA_QK_OUTPUT_SOFTMAX = 3    /* the probabilities; a fully masked row is 0 */
};

/* Features of a backend's core, as bits of mha_capabilities.core_features
 * (0: the backend has no core). The host checks every call against them. */
enum {
    MHA_CORE_AVAILABLE = 1u << 0,     /* mha_core_forward runs */
    MHA_CORE_GQA = 1u << 1,           /* Hq > Hkv */
    MHA_CORE_MASK = 1u << 2,          /* attn_mask */
    MHA_CORE_CAUSAL = 1u << 3,        /* is_causal */
    MHA_CORE_SOFTCAP = 1u << 4,
    MHA_CORE_CACHE = 1u << 5,         /* past_key/value, present_key/value */
    MHA_CORE_INPLACE_CACHE = 1u << 6, /* cache_key/value */
    MHA_CORE_VALID_LEN = 1u << 7,     /* nonpad_kv_seqlen */
    MHA_CORE_WINDOW = 1u << 8,        /* left/right_window_size */
    MHA_CORE_VDIM = 1u << 9,          /* Dv != D */
    MHA_CORE_QK_OUTPUT = 1u << 10,    /* qk_matmul_output */
    MHA_CORE_STRIDED = 1u << 11       /* views with strides (else dense only) */
};
#define MHA_CORE_ALL 0xfffu

typedef struct mha_core_args {
    size_t struct_size;        /* mha_core_args_init */
    const mha_extension *next; /* backend extensions (e.g. include/mha/opencl.h) */

    /* ---- inputs (borrowed for the call) ------------------------------- */
    mha_view q, k, v;
    int64_t q_num_heads;       /* Hq: required for 3-D inputs; 0 or Hq for 4-D */
    int64_t kv_num_heads;      /* Hkv: likewise */
    /* Optional, rank 1 to 4, broadcast right-aligned to (B, Hq, L, T); its
     * last dimension may be shorter than T (the keys past it are masked).
     * bool (see mask_polarity) or float (float32, float16 or bfloat16: added
     * to the scores; -inf masks). */
    mha_view attn_mask;
    mha_bool_polarity mask_polarity;
    /* Optional: the KV cache as ONNX passes it, (B, Hkv, P, D) and
     * (B, Hkv, P, Dv); both or neither. */
    mha_view past_key, past_value;
    /* Optional (B) int64 or int32 (ONNX opset 24): keys at or past
     * nonpad_kv_seqlen[b] are masked for batch b; not with past_key. */
    mha_view nonpad_kv_seqlen;
    bool is_causal;            /* bottom-right: query i sees keys j <= i + offset, where
                                * offset = P with a past or cache, nonpad_kv_seqlen[b] - L
                                * with valid lengths, else 0 */
    float scale;               /* 0 = 1 / sqrt(D) */
    float softcap;             /* 0 = off; else c * tanh(x / c) on the scaled scores */
    /* Sliding window around the same offset: query i sees keys j with
     * i + offset - left <= j <= i + offset + right; -1 = unbounded (the
     * default set by mha_core_args_init). */
    int64_t left_window_size, right_window_size;
    int32_t qk_matmul_output_mode;  /* MHA_QK_OUTPUT_*; what qk_matmul_output holds */
    int32_t softmax_precision;      /* ONNX's, accepted and ignored: the softmax is always
                                     * computed in float32 or better (0 = not given) */

    /* ---- in-place KV cache (instead of past/present) -------------------- */
    /* Caller-owned buffers of capacity C >= cache_length + S rows,
     * (B, Hkv, C, D) and (B, Hkv, C, Dv): rows [0, cache_length) hold the
     * past; the call writes k and v into rows [cache_length, cache_length + S)
     * and attends over rows [0, cache_length + S). The past is never copied.
     * Both or neither; not with past_key/present_key. */
    mha_view cache_key, cache_value;
    int64_t cache_length;

    /* ---- outputs (caller-owned; must not overlap the inputs) ------------- */
    mha_view y;
    mha_view present_key, present_value;  /* optional, both or neither: (B, Hkv, T, D/Dv),
                                           * the past followed by k / v */
    mha_view qk_matmul_output;            /* optional (B, Hq, L, T) */
} mha_core_args;

/* The first published size of mha_core_args (ABI 1.1; docs/abi.md). */
#define MHA_CORE_ARGS_SIZE_V1 (offsetof(mha_core_args, qk_matmul_output) + sizeof(mha_view))

/* Sets struct_size, the windows to -1 and everything else to 0. */
MHA_API void mha_core_args_init(mha_core_args *args);

/* Runs the core on `backend`. Validation names the argument and the expected
 * and actual values; MHA_STATUS_UNSUPPORTED when the backend lacks a feature
 * the call needs (mha_capabilities.core_features / core_dtypes). Calls on one
 * backend may run on several threads at once (they share no state but the
 * backend's built programs, which are guarded). */
MHA_API mha_status mha_core_forward(mha_backend *backend, const mha_core_args *args);

#ifdef __cplusplus
}
#endif
#endif /* MHA_CORE_H */
