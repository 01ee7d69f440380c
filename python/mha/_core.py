"""The attention core (mha_core_forward, ONNX Attention semantics) on NumPy arrays."""
import ctypes
import threading

import numpy as np

from . import _arrays
from ._backend import check, resolve_backend
from ._lib import lib, mha_core_args, BOOL_TRUE_ATTENDS, CORE_STRIDED

_INT64_MAX = (1 << 63) - 1


def _scale_value(scale):
    if scale is None:
        return 0.0
    scale = float(scale)
    if scale == 0.0:
        # mha_core_args.scale = 0 means 1/sqrt(D): an explicit zero cannot be passed.
        raise ValueError("scale 0 cannot be expressed (mha_core_args.scale = 0 means 1/sqrt(D))")
    return scale


def core_shapes(q, k, v, q_num_heads, kv_num_heads):
    """(B, Hq, Hkv, L, S, D, Dv) from the inputs' shapes (the C call validates them)."""
    if q.ndim not in (3, 4) or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(f"Q, K and V must all be 4-D (B, H, L, D) or all 3-D (B, L, H*D); "
                         f"got ranks {q.ndim}, {k.ndim}, {v.ndim}")
    if q.ndim == 4:
        B, Hq, L, D = q.shape
        Hkv, S, Dv = k.shape[1], k.shape[2], v.shape[3]
    else:
        if not q_num_heads or not kv_num_heads:
            raise ValueError("3-D Q, K and V need q_num_heads and kv_num_heads")
        B, L = q.shape[0], q.shape[1]
        Hq, Hkv = int(q_num_heads), int(kv_num_heads)
        D, S, Dv = q.shape[2] // Hq, k.shape[1], v.shape[2] // Hkv
    return B, Hq, Hkv, L, S, D, Dv


def run_core(backend, q, k, v, *, empty, q_num_heads=None, kv_num_heads=None, attn_mask=None,
             mask_polarity=BOOL_TRUE_ATTENDS, past_key=None, past_value=None,
             nonpad_kv_seqlen=None, is_causal=False, scale=None, softcap=0.0,
             left_window_size=-1, right_window_size=-1, qk_matmul_output_mode=0,
             softmax_precision=0, cache_key=None, cache_value=None, cache_length=0,
             want_present=False, want_qk=False, owner=None):
    """mha_core_forward on Bufs; outputs allocated by empty(shape, dtype) -> (array, Buf).
    Returns (y, present_key, present_value, qk_matmul_output), absent ones None."""
    B, Hq, Hkv, L, S, D, Dv = core_shapes(q, k, v, q_num_heads, kv_num_heads)
    if cache_key is not None:
        T = int(cache_length) + S
    elif past_key is not None and past_key.ndim == 4:
        T = past_key.shape[2] + S
    else:
        T = S
    args = mha_core_args()
    lib.mha_core_args_init(ctypes.byref(args))
    args.q, args.k, args.v = q.view(), k.view(), v.view()
    args.q_num_heads = int(q_num_heads or 0)
    args.kv_num_heads = int(kv_num_heads or 0)
    keep = [q, k, v]
    for name, buf in (("attn_mask", attn_mask), ("past_key", past_key),
                      ("past_value", past_value), ("nonpad_kv_seqlen", nonpad_kv_seqlen),
                      ("cache_key", cache_key), ("cache_value", cache_value)):
        if buf is not None:
            setattr(args, name, buf.view())
            keep.append(buf)
    args.mask_polarity = int(mask_polarity)
    args.is_causal = bool(is_causal)
    args.scale = _scale_value(scale)
    args.softcap = float(softcap or 0.0)
    args.left_window_size = int(left_window_size)
    args.right_window_size = int(right_window_size)
    args.qk_matmul_output_mode = int(qk_matmul_output_mode)
    args.softmax_precision = int(softmax_precision or 0)
    args.cache_length = int(cache_length)
    dtype = q.dtype
    y, y_buf = empty((B, Hq, L, Dv) if q.ndim == 4 else (B, L, Hq * Dv), dtype)
    args.y = y_buf.view()
    present_key = present_value = qk = None
    if want_present:
        present_key, pk_buf = empty((B, Hkv, T, D), dtype)
        present_value, pv_buf = empty((B, Hkv, T, Dv), dtype)
        args.present_key, args.present_value = pk_buf.view(), pv_buf.view()
    if want_qk:
        qk, qk_buf = empty((B, Hq, L, T), dtype)
        args.qk_matmul_output = qk_buf.view()
    with backend.core_lock:
        check(lib.mha_core_forward(backend.handle(owner), ctypes.byref(args)))
    del keep
    return y, present_key, present_value, qk


def _strided(backend):
    return bool(backend.capabilities["core_features"] & CORE_STRIDED)


def _inputs(backend, Q, K, V):
    strided = _strided(backend)
    q = _arrays.numpy_buf(Q, "Q", strided=strided)
    same = (q.dtype,)
    conv = _arrays._NP_OF_DTYPE[q.dtype]
    k = _arrays.numpy_buf(K, "K", allowed=same, convert=conv, strided=strided)
    v = _arrays.numpy_buf(V, "V", allowed=same, convert=conv, strided=strided)
    return q, k, v, strided


def attention(Q, K, V, attn_mask=None, past_key=None, past_value=None, nonpad_kv_seqlen=None,
              is_causal=False, scale=None, softcap=0.0, q_num_heads=None, kv_num_heads=None,
              qk_matmul_output_mode=0, left_window_size=-1, right_window_size=-1, backend=None,
              *, softmax_precision=0, return_qk_matmul_output=None):
    """ONNX Attention (opsets 23/24, opset 25's windows) on NumPy arrays, on the core.

    Q (B, Hq, L, D), K (B, Hkv, S, D), V (B, Hkv, S, Dv), or 3-D (B, L, H*D) with
    q_num_heads and kv_num_heads. float32 or float16 (K, V and the past are converted to Q's
    dtype if they differ; other dtypes to float32). attn_mask: bool (True attends) or float
    (added), rank 1 to 4, broadcast right-aligned to (B, Hq, L, T). nonpad_kv_seqlen: (B)
    integers. is_causal: query i sees keys j <= i + offset (offset P with a past,
    nonpad - L with lengths, else 0). scale None = 1/sqrt(D).

    Returns (Y, present_key, present_value, qk_matmul_output): present_* are the past
    followed by K and V, (B, Hkv, P + S, D / Dv); qk_matmul_output (B, Hq, L, T) is computed
    when return_qk_matmul_output is true or, if it is None, when qk_matmul_output_mode is
    not 0, and is None otherwise. backend: None (a backend that has a core, see
    mha.default_backend), a spec string or an mha.Backend. Raises mha.Error.
    """
    backend = resolve_backend(backend, core=True)
    q, k, v, strided = _inputs(backend, Q, K, V)
    conv = _arrays._NP_OF_DTYPE[q.dtype]
    same = (q.dtype,)
    mask = None if attn_mask is None else _arrays.numpy_mask(attn_mask, "attn_mask",
                                                             strided=strided)
    pk = None if past_key is None else _arrays.numpy_buf(
        past_key, "past_key", allowed=same, convert=conv, strided=strided)
    pv = None if past_value is None else _arrays.numpy_buf(
        past_value, "past_value", allowed=same, convert=conv, strided=strided)
    nonpad = None if nonpad_kv_seqlen is None else _arrays.numpy_lengths(
        nonpad_kv_seqlen, "nonpad_kv_seqlen")
    if return_qk_matmul_output is None:
        return_qk_matmul_output = int(qk_matmul_output_mode) != 0
    return run_core(backend, q, k, v, empty=_arrays.numpy_empty, q_num_heads=q_num_heads,
                    kv_num_heads=kv_num_heads, attn_mask=mask, past_key=pk, past_value=pv,
                    nonpad_kv_seqlen=nonpad, is_causal=is_causal, scale=scale,
                    softcap=softcap, left_window_size=left_window_size,
                    right_window_size=right_window_size,
                    qk_matmul_output_mode=qk_matmul_output_mode,
                    softmax_precision=softmax_precision, want_present=True,
                    want_qk=bool(return_qk_matmul_output))


class KVCache:
    """A KV cache for decoding loops that grows in place (mha_core_args.cache_key/value).

    Holds key (B, Hkv, capacity, D) and value (B, Hkv, capacity, Dv) NumPy buffers and
    `length`, the rows filled. forward() writes this step's K and V into rows
    [length, length + S), attends over rows [0, length + S) and advances length on
    success; the past is never copied. One thread at a time (a lock serialises calls).
    """

    def __init__(self, batch, kv_num_heads, capacity, head_size, v_head_size=None,
                 dtype=np.float32, backend=None):
        self.backend = resolve_backend(backend, core=True)
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float32), np.dtype(np.float16)):
            raise TypeError(f"KVCache dtype must be float32 or float16, not {dtype}")
        v_head_size = head_size if v_head_size is None else v_head_size
        self.key = np.zeros((batch, kv_num_heads, capacity, head_size), dtype)
        self.value = np.zeros((batch, kv_num_heads, capacity, v_head_size), dtype)
        self.length = 0
        self.lock = threading.Lock()
        self.backend._depend(self)

    @property
    def capacity(self):
        return self.key.shape[2]

    @property
    def keys(self):
        """The filled rows of the key cache, (B, Hkv, length, D) (a view, not a copy)."""
        return self.key[:, :, :self.length]

    @property
    def values(self):
        return self.value[:, :, :self.length]

    def reset(self):
        with self.lock:
            self.length = 0

    def forward(self, Q, K, V, attn_mask=None, is_causal=False, scale=None, softcap=0.0,
                q_num_heads=None, left_window_size=-1, right_window_size=-1,
                qk_matmul_output_mode=0, *, return_qk_matmul_output=False):
        """One step: Y (and qk_matmul_output if return_qk_matmul_output), as mha.attention
        with the cache as the past. Q, K, V as there, in the cache's dtype (converted
        otherwise); with 3-D inputs give q_num_heads (kv_num_heads is the cache's)."""
        backend = self.backend
        strided = _strided(backend)
        dtype = self.key.dtype
        same = (_arrays._NP_DTYPES[dtype],)
        q = _arrays.numpy_buf(Q, "Q", allowed=same, convert=dtype, strided=strided)
        k = _arrays.numpy_buf(K, "K", allowed=same, convert=dtype, strided=strided)
        v = _arrays.numpy_buf(V, "V", allowed=same, convert=dtype, strided=strided)
        mask = None if attn_mask is None else _arrays.numpy_mask(attn_mask, "attn_mask",
                                                                 strided=strided)
        kv_heads = self.key.shape[1] if q.ndim == 3 else None
        with self.lock:
            ck = _arrays.numpy_buf(self.key, "cache_key", allowed=same, convert=None)
            cv = _arrays.numpy_buf(self.value, "cache_value", allowed=same, convert=None)
            y, _, _, qk = run_core(
                backend, q, k, v, empty=_arrays.numpy_empty, q_num_heads=q_num_heads,
                kv_num_heads=kv_heads, attn_mask=mask, is_causal=is_causal, scale=scale,
                softcap=softcap, left_window_size=left_window_size,
                right_window_size=right_window_size,
                qk_matmul_output_mode=qk_matmul_output_mode, cache_key=ck, cache_value=cv,
                cache_length=self.length, want_qk=return_qk_matmul_output, owner=self)
            self.length += k.shape[2] if k.ndim == 4 else k.shape[1]
        return (y, qk) if return_qk_matmul_output else y

    __call__ = forward

    def __repr__(self):
        return (f"<mha.KVCache {self.length}/{self.capacity} rows, "
                f"{self.key.dtype} on {self.backend.spec}>")
