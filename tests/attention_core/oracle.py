"""A float64 NumPy implementation of the ONNX `Attention` operator.

The semantics are those of opsets 23 and 24 with opset 25's sliding windows, as
onnx main's reference implementation computes them (2026-08). Written from the
operator's specification (onnx docs/Operators.md, section Attention); checked
against onnx's own reference by check_oracle.py. It is the source of the
expected data in tests/data/attention_core (make_cases.py).

Every input is cast up to float64 first; the outputs are cast to the inputs'
dtype at the very end (float32 or float16), so the expected values carry one
rounding only.

Notation: B batch, Hq query heads, Hkv key/value heads, L queries, S new keys,
P past keys, T = P + S keys in all, D query/key head size, Dv value head size.

Needs Python 3 and NumPy only.
"""
import numpy as np


def _to_4d(x, num_heads, name):
    """(B, N, H*d) -> (B, H, N, d): the 3-D layout splits the hidden size into heads."""
    b, n, hidden = x.shape
    if num_heads is None or num_heads <= 0 or hidden % num_heads:
        raise ValueError(f"{name}: hidden size {hidden} is not a multiple of {num_heads} heads")
    return x.reshape(b, n, num_heads, hidden // num_heads).transpose(0, 2, 1, 3)


def _mask_to_4d(mask, B, Hq, L, T):
    """The attention mask padded and broadcast to (B, Hq, L, T).

    attn_mask has any rank from 1 to 4 and broadcasts right-aligned to
    (B, Hq, L, T). Its last dimension may be shorter than T: the keys past it
    count as masked (the spec pads it with -inf, a bool mask with False)."""
    if not 1 <= mask.ndim <= 4:
        raise ValueError(f"attn_mask: rank {mask.ndim}, expected 1 to 4")
    width = mask.shape[-1]
    if width > T:
        raise ValueError(f"attn_mask: last dimension {width} is longer than P+S = {T}")
    if mask.dtype == np.bool_:
        padded = np.zeros(mask.shape[:-1] + (T,), dtype=np.bool_)    # False = masked
    else:
        padded = np.full(mask.shape[:-1] + (T,), -np.inf, dtype=np.float64)
    padded[..., :width] = mask
    return np.broadcast_to(padded, (B, Hq, L, T))                  # raises if not broadcastable


def attention(Q, K, V, attn_mask=None, past_key=None, past_value=None, nonpad_kv_seqlen=None,
              scale=None, is_causal=False, q_num_heads=None, kv_num_heads=None, softcap=0.0,
              qk_matmul_output_mode=0, left_window_size=-1, right_window_size=-1,
              softmax_precision=None, cast=True):
    """Returns (Y, present_key, present_value, qk_matmul_output).

    With cast=True (the default) every output has the inputs' dtype; with
    cast=False they stay float64 (check_oracle.py compares those with the
    reference run in float64). softmax_precision is accepted and ignored: the
    arithmetic is float64 throughout."""
    del softmax_precision
    dtype = Q.dtype
    for name, x in (("K", K), ("V", V), ("past_key", past_key), ("past_value", past_value)):
        if x is not None and x.dtype != dtype:
            raise ValueError(f"{name}: dtype {x.dtype}, expected Q's {dtype}")
    if (past_key is None) != (past_value is None):
        raise ValueError("past_key and past_value go together")
    if nonpad_kv_seqlen is not None and past_key is not None:
        raise ValueError("nonpad_kv_seqlen cannot be combined with past_key/past_value")
    if not Q.ndim == K.ndim == V.ndim or Q.ndim not in (3, 4):
        raise ValueError("Q, K and V must all be 3-D or all 4-D")

    # ---- Shapes: 3-D inputs (B, L, Hq*D), (B, S, Hkv*D), (B, S, Hkv*Dv) become 4-D.
    rank = Q.ndim
    q = Q.astype(np.float64)
    k = K.astype(np.float64)
    v = V.astype(np.float64)
    if rank == 3:
        q = _to_4d(q, q_num_heads, "Q")
        k = _to_4d(k, kv_num_heads, "K")
        v = _to_4d(v, kv_num_heads, "V")
    elif (q_num_heads is not None and q_num_heads != q.shape[1]) or (
            kv_num_heads is not None and kv_num_heads != k.shape[1]):
        raise ValueError("q_num_heads/kv_num_heads disagree with the 4-D shapes")
    B, Hq, L, D = q.shape
    Hkv, S = k.shape[1], k.shape[2]
    Dv = v.shape[3]
    if k.shape[3] != D or v.shape[:3] != (B, Hkv, S) or k.shape[0] != B:
        raise ValueError("K and V do not match Q")
    # GQA / MQA: Hq is a multiple of Hkv; query head h reads KV head h // (Hq / Hkv).
    if Hq % Hkv:
        raise ValueError(f"{Hq} query heads are not a multiple of {Hkv} KV heads")
    group = Hq // Hkv

    # ---- KV cache: present = past followed by the new rows, always 4-D.
    P = 0
    if past_key is not None:
        P = past_key.shape[2]
        if past_key.shape != (B, Hkv, P, D) or past_value.shape != (B, Hkv, P, Dv):
            raise ValueError("past_key/past_value shapes do not match K/V")
        k = np.concatenate([past_key.astype(np.float64), k], axis=2)
        v = np.concatenate([past_value.astype(np.float64), v], axis=2)
    present_key, present_value = k, v
    T = P + S

    # ---- Which keys each query may see: `allowed` (B, Hq, L, T), and the float
    # mask's additive values `added` (0 where there is none).
    allowed = np.ones((B, Hq, L, T), dtype=np.bool_)
    added = np.zeros((B, Hq, L, T), dtype=np.float64)
    if attn_mask is not None:
        mask = _mask_to_4d(attn_mask, B, Hq, L, T)
        if mask.dtype == np.bool_:
            allowed &= mask                          # bool: True = attend
        else:
            added = added + mask                     # float: added to the scores

    # The causal diagonal and the windows sit at an offset, per batch entry:
    # the past length with a past; nonpad_kv_seqlen[b] - L with valid lengths
    # (an external cache); else 0. It may be negative: no key satisfies
    # j <= i + offset for the leading rows, which are then fully masked.
    if past_key is not None:
        offset = np.full(B, P, dtype=np.int64)
    elif nonpad_kv_seqlen is not None:
        nonpad = np.asarray(nonpad_kv_seqlen, dtype=np.int64).reshape(-1)
        if nonpad.shape != (B,):
            raise ValueError(f"nonpad_kv_seqlen: shape {nonpad.shape}, expected ({B},)")
        offset = nonpad - L
    else:
        offset = np.zeros(B, dtype=np.int64)
    i = np.arange(L).reshape(1, 1, L, 1)
    j = np.arange(T).reshape(1, 1, 1, T)
    position = i + offset.reshape(B, 1, 1, 1)        # the query's absolute position
    if is_causal:
        allowed &= j <= position                     # bottom-right: j <= i + offset
    # Windows (opset 25), -1 = unbounded: position - left <= j <= position + right.
    if left_window_size is not None and left_window_size >= 0:
        allowed &= j >= position - left_window_size
    if right_window_size is not None and right_window_size >= 0:
        allowed &= j <= position + right_window_size
    # Valid lengths: keys at or past nonpad_kv_seqlen[b] are masked for batch b.
    if nonpad_kv_seqlen is not None:
        allowed &= j < nonpad.reshape(B, 1, 1, 1)

    # The additive bias: -inf where a key is not allowed, else the float mask.
    bias = np.where(allowed, added, -np.inf)
    # A row whose bias is -inf for every key (a float mask's own -inf counts)
    # is fully masked: its probabilities, Y and mode-3 output are zeros.
    fully_masked = np.all(np.isneginf(bias), axis=-1, keepdims=True)

    # ---- Scores: scale * q.k (scale defaults to 1/sqrt(D); the spec multiplies
    # q and k by sqrt(scale) each, the same for scale > 0).
    if scale is None:
        scale = 1.0 / np.sqrt(D)
    k_heads = np.repeat(k, group, axis=1)            # (B, Hq, T, D): head h -> h // group
    v_heads = np.repeat(v, group, axis=1)
    scores = float(scale) * np.matmul(q, k_heads.transpose(0, 1, 3, 2))
    # Softcap, when c > 0: c * tanh(x / c), before the mask so -inf stays -inf.
    if softcap is not None and softcap > 0:
        scores = softcap * np.tanh(scores / softcap)
    logits = scores + bias

    # ---- Softmax over the keys, fully masked rows zeroed.
    safe_max = np.where(fully_masked, 0.0, np.max(logits, axis=-1, keepdims=True))
    e = np.exp(logits - safe_max)
    total = np.sum(e, axis=-1, keepdims=True)
    probs = np.where(fully_masked, 0.0, e / np.where(fully_masked, 1.0, total))

    y = np.matmul(probs, v_heads)                    # (B, Hq, L, Dv)

    # ---- qk_matmul_output, as onnx main's reference computes it: modes 0 and 1
    # the (softcapped) scores, 2 the scores plus the bias, 3 the probabilities.
    mode = 0 if qk_matmul_output_mode is None else int(qk_matmul_output_mode)
    if mode in (0, 1):
        qk = scores
    elif mode == 2:
        qk = logits
    elif mode == 3:
        qk = probs
    else:
        raise ValueError(f"qk_matmul_output_mode {mode}, expected 0 to 3")

    if rank == 3:                                    # Y has Q's layout: (B, L, Hq*Dv)
        y = y.transpose(0, 2, 1, 3).reshape(B, L, Hq * Dv)
    outputs = (y, present_key, present_value, qk)
    if cast:
        outputs = tuple(np.ascontiguousarray(x.astype(dtype)) for x in outputs)
    return outputs
