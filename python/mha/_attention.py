"""mha_attention objects: torch.nn.MultiheadAttention's computation with fixed weights."""
import ctypes
import threading
import weakref

from . import _arrays
from ._backend import check, resolve_backend
from ._lib import lib, mha_config, mha_weights, mha_forward_args, mha_tensor
from ._lib import CAUSAL_NONE, CAUSAL_TOP_LEFT, CAUSAL_BOTTOM_RIGHT, DTYPE_F32

WEIGHT_NAMES = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
                "in_proj_bias", "out_proj_weight", "out_proj_bias", "bias_k", "bias_v")
# state_dict keys that differ from mha_weights' field names
STATE_DICT_KEYS = {"out_proj_weight": "out_proj.weight", "out_proj_bias": "out_proj.bias"}
_CAUSAL = {None: CAUSAL_NONE, False: CAUSAL_NONE, "none": CAUSAL_NONE,
           True: CAUSAL_TOP_LEFT, "top-left": CAUSAL_TOP_LEFT,
           "bottom-right": CAUSAL_BOTTOM_RIGHT}
_MASK_FLOAT = (DTYPE_F32,)  # mha_attention_forward takes bool or float32 masks


class Attention:
    """An mha_attention object: configuration and weights uploaded once to a backend.

    Arguments as torch.nn.MultiheadAttention's constructor; weights is a mapping with the
    module's state_dict names ("in_proj_weight", "out_proj.weight", ...; mha_weights' names
    "out_proj_weight"/"out_proj_bias" are accepted too) of float arrays, copied at creation.
    forward() takes and returns NumPy arrays. One thread at a time uses the object: a lock
    serialises calls, and the GIL is released inside libmha.
    """

    def __init__(self, embed_dim, num_heads, weights, *, dropout=0.0, bias=True,
                 add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None,
                 batch_first=False, backend=None, _owner=None):
        self.backend = resolve_backend(backend)
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.batch_first = bool(batch_first)
        self.lock = threading.Lock()
        config = mha_config()
        lib.mha_config_init(ctypes.byref(config), self.embed_dim, self.num_heads)
        config.kdim = int(kdim or 0)
        config.vdim = int(vdim or 0)
        config.bias = bool(bias)
        config.add_bias_kv = bool(add_bias_kv)
        config.add_zero_attn = bool(add_zero_attn)
        config.batch_first = self.batch_first
        config.dropout = float(dropout)
        self.dropout = float(dropout)
        w = mha_weights()
        lib.mha_weights_init(ctypes.byref(w))
        keep = []
        for name in WEIGHT_NAMES:
            value = weights.get(STATE_DICT_KEYS.get(name, name), weights.get(name))
            if value is None:
                continue
            if _arrays.is_torch(value):
                buf = _arrays.torch_buf(value, name, allowed=(DTYPE_F32,))
            else:
                buf = _arrays.numpy_buf(value, name, allowed=(DTYPE_F32,))
            keep.append(buf)
            setattr(w, name, buf.ptr)
        handle = ctypes.c_void_p()
        check(lib.mha_attention_create(self.backend.handle(_owner), ctypes.byref(config),
                                       ctypes.byref(w), ctypes.byref(handle)))
        self._handle = handle.value
        # libmha keeps the backend alive for this object; self.backend keeps the Python
        # object alive too, so no collection order can destroy one under the other.
        self._finalizer = weakref.finalize(self, lib.mha_attention_destroy, handle.value)

    def close(self):
        """Destroys the mha_attention object now (it is destroyed when collected anyway)."""
        with self.lock:
            self._finalizer()

    def _forward_bufs(self, query, key, value, key_padding_mask, attn_mask, causal,
                      need_weights, average_attn_weights, training, dropout_seed, empty):
        """Runs a forward on Bufs; `empty(shape, dtype)` allocates (array, Buf) outputs."""
        args = mha_forward_args()
        lib.mha_forward_args_init(ctypes.byref(args))
        args.query, args.key, args.value = query.tensor(), key.tensor(), value.tensor()
        if key_padding_mask is not None:
            args.key_padding_mask = key_padding_mask.tensor()
        if attn_mask is not None:
            args.attn_mask = attn_mask.tensor()
        try:
            args.causal = _CAUSAL[causal]
        except (KeyError, TypeError):
            raise ValueError(f"causal must be None, False, True, 'top-left' or 'bottom-right', "
                             f"not {causal!r}") from None
        args.need_weights = bool(need_weights)
        args.average_attn_weights = bool(average_attn_weights)
        args.training = bool(training)
        args.dropout_seed = int(dropout_seed) & 0xFFFFFFFFFFFFFFFF
        with self.lock:
            if not self._finalizer.alive:
                raise ValueError("this mha attention object was closed")
            out_shape, weights_shape = mha_tensor(), mha_tensor()
            check(lib.mha_attention_output_shapes(self._handle, ctypes.byref(args),
                                                  ctypes.byref(out_shape),
                                                  ctypes.byref(weights_shape)))
            out, out_buf = empty(tuple(out_shape.shape[:out_shape.rank]), DTYPE_F32)
            args.attn_output = out_buf.tensor()
            weights = None
            if need_weights:
                weights, w_buf = empty(tuple(weights_shape.shape[:weights_shape.rank]),
                                       DTYPE_F32)
                args.attn_weights = w_buf.tensor()
            check(lib.mha_attention_forward(self._handle, ctypes.byref(args)))
        return out, weights

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, causal=None, training=False,
                dropout_seed=0):
        """torch.nn.MultiheadAttention.forward on NumPy arrays: (attn_output, attn_weights or
        None). Masks: bool (or uint8) True = not allowed, float added (torch's rules).
        causal: None/False, True or "top-left" (j <= i), "bottom-right" (j <= i + S - L).
        training with dropout > 0 applies dropout from the Philox stream keyed by
        dropout_seed (docs/semantics.md)."""
        f32 = (DTYPE_F32,)
        q = _arrays.numpy_buf(query, "query", allowed=f32)
        k = _arrays.numpy_buf(key, "key", allowed=f32)
        v = _arrays.numpy_buf(value, "value", allowed=f32)
        kpm = None if key_padding_mask is None else _arrays.numpy_mask(
            key_padding_mask, "key_padding_mask", float_dtypes=_MASK_FLOAT)
        am = None if attn_mask is None else _arrays.numpy_mask(
            attn_mask, "attn_mask", float_dtypes=_MASK_FLOAT)
        return self._forward_bufs(q, k, v, kpm, am, causal, need_weights, average_attn_weights,
                                  training, dropout_seed, _arrays.numpy_empty)

    __call__ = forward

    def __repr__(self):
        return (f"<mha.Attention E={self.embed_dim} H={self.num_heads} on "
                f"{self.backend.spec}>")

