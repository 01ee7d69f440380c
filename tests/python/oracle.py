"""NumPy oracles in float64: ONNX Attention (docs/core.md's semantics) and PyTorch's
scaled_dot_product_attention."""
import numpy as np


def softmax_rows(x):
    """Softmax over the last axis; a row that is all -inf gives zeros (mha's rule)."""
    m = np.max(x, axis=-1, keepdims=True)
    dead = ~np.isfinite(m)
    e = np.exp(x - np.where(dead, 0.0, m))
    e = np.where(np.isneginf(x), 0.0, e)
    s = e.sum(axis=-1, keepdims=True)
    return np.where(s > 0, e / np.where(s > 0, s, 1.0), 0.0)


def onnx_attention(q, k, v, attn_mask=None, past_key=None, past_value=None, nonpad=None,
                   is_causal=False, scale=None, softcap=0.0, qk_mode=0, left=-1, right=-1,
                   q_num_heads=None, kv_num_heads=None):
    """(Y, present_key, present_value, qk) with the semantics of docs/core.md."""
    three_d = q.ndim == 3
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    if three_d:
        B, L, _ = q.shape
        q = q.reshape(B, L, q_num_heads, -1).transpose(0, 2, 1, 3)
        k = k.reshape(B, k.shape[1], kv_num_heads, -1).transpose(0, 2, 1, 3)
        v = v.reshape(B, v.shape[1], kv_num_heads, -1).transpose(0, 2, 1, 3)
    B, Hq, L, D = q.shape
    P = 0
    if past_key is not None:
        P = past_key.shape[2]
        k = np.concatenate([np.asarray(past_key, np.float64), k], axis=2)
        v = np.concatenate([np.asarray(past_value, np.float64), v], axis=2)
    Hkv, T = k.shape[1], k.shape[2]
    kr = np.repeat(k, Hq // Hkv, axis=1)
    vr = np.repeat(v, Hq // Hkv, axis=1)
    s = scale if scale is not None else 1.0 / np.sqrt(D)
    scores = s * q @ kr.transpose(0, 1, 3, 2)
    if softcap > 0:
        scores = softcap * np.tanh(scores / softcap)
    bias = np.zeros((B, Hq, L, T))
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        if m.shape[-1] < T:
            pad = [(0, 0)] * (m.ndim - 1) + [(0, T - m.shape[-1])]
            m = np.pad(m, pad, constant_values=(False if m.dtype == np.bool_ else -np.inf))
        m = np.broadcast_to(m, (B, Hq, L, T))
        if m.dtype == np.bool_:
            bias = np.where(m, bias, -np.inf)
        else:
            bias = bias + m.astype(np.float64)
    i = np.arange(L)[:, None]
    j = np.arange(T)[None, :]
    for b in range(B):
        offset = P
        if nonpad is not None:
            bias[b, :, :, int(nonpad[b]):] = -np.inf
            offset = int(nonpad[b]) - L
        keep = np.ones((L, T), bool)
        if is_causal:
            keep &= j <= i + offset
        if left >= 0:
            keep &= j >= i + offset - left
        if right >= 0:
            keep &= j <= i + offset + right
        bias[b] = np.where(keep, bias[b], -np.inf)
    biased = scores + bias
    p = softmax_rows(biased)
    y = p @ vr
    qk = {0: scores, 1: scores, 2: biased, 3: p}[qk_mode]
    if three_d:
        y = y.transpose(0, 2, 1, 3).reshape(B, L, -1)
    return y, k, v, qk


def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """PyTorch 2.x scaled_dot_product_attention's documented reference, with batch
    broadcasting, in float64; fully masked rows give zeros."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    L, S = q.shape[-2], k.shape[-2]
    s = scale if scale is not None else 1.0 / np.sqrt(q.shape[-1])
    bias = np.zeros((L, S))
    if is_causal:
        bias = np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf)
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        if m.dtype == np.bool_:
            bias = np.where(m, bias, -np.inf)
        else:
            bias = bias + m.astype(np.float64)
    scores = s * q @ np.swapaxes(k, -1, -2) + bias
    return softmax_rows(scores) @ v
