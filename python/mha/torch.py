"""PyTorch front ends (inference only): a drop-in torch.nn.MultiheadAttention, and
torch.nn.functional.scaled_dot_product_attention on the attention core.

    import torch, mha.torch
    theirs = torch.nn.MultiheadAttention(512, 8)
    ours = mha.torch.MultiheadAttention.from_torch(theirs)     # default backend
    with torch.no_grad():
        out, weights = ours(q, k, v)

CPU tensors of a dtype libmha takes are passed without a copy; others are converted once
and the results returned in the query's dtype and on its device. Nothing here records an
autograd graph: a call that would need one (grad mode on and an input or a parameter that
requires grad) raises RuntimeError.
"""
import threading

import torch
from torch import nn

from . import _arrays
from ._attention import Attention
from ._backend import resolve_backend
from ._core import run_core
from ._lib import BOOL_TRUE_ATTENDS, DTYPE_F32, DTYPE_F16, DTYPE_BF16, CORE_STRIDED

__all__ = ["MultiheadAttention", "scaled_dot_product_attention"]


def _check_no_grad(what, tensors):
    if not torch.is_grad_enabled():
        return
    if any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors):
        raise RuntimeError(
            f"{what} is inference only (mha computes no gradients), but grad mode is on and "
            "an input or parameter requires grad: run it under torch.no_grad() or "
            "torch.inference_mode(), or call requires_grad_(False) on the module and inputs")


class MultiheadAttention(nn.MultiheadAttention):
    """torch.nn.MultiheadAttention computed by mha (inference only).

    A subclass of torch.nn.MultiheadAttention with the same constructor (plus `backend`:
    None = mha's default backend, a spec string or an mha.Backend), parameters, state_dict
    and forward(); forward runs mha_attention_forward with PyTorch 2.x's mask rules and
    mha's fully-masked-row rule (zero weights, output = out_proj.bias, never NaN).

    Weights are uploaded into an mha attention object at the first forward and again
    whenever a parameter has changed since (in-place updates, load_state_dict, a new
    Parameter, .to()): each forward compares every parameter's identity, storage and
    version counter. Changes made through `param.data` bypass the version counter: call
    refresh() after them.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None, *, backend=None):
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias,
                         add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, kdim=kdim,
                         vdim=vdim, batch_first=batch_first, device=device, dtype=dtype)
        self._mha_backend = resolve_backend(backend)
        self._mha_backend._depend(self)
        self._mha_object = None
        self._mha_key = None
        self._mha_lock = threading.Lock()

    @classmethod
    def from_torch(cls, module, backend=None):
        """An mha module with `module`'s configuration, weights, requires_grad flags and
        training mode (module is a torch.nn.MultiheadAttention)."""
        if not isinstance(module, nn.MultiheadAttention):
            raise TypeError(f"from_torch takes a torch.nn.MultiheadAttention, not {type(module)}")
        params = list(module.parameters())
        dtype = params[0].dtype if params else None
        new = cls(module.embed_dim, module.num_heads, dropout=module.dropout,
                  bias=module.in_proj_bias is not None, add_bias_kv=module.bias_k is not None,
                  add_zero_attn=module.add_zero_attn, kdim=module.kdim, vdim=module.vdim,
                  batch_first=module.batch_first, dtype=dtype, backend=backend)
        new.load_state_dict(module.state_dict())
        for mine, theirs in zip(new.parameters(), params):
            mine.requires_grad_(theirs.requires_grad)
        new.train(module.training)
        return new

    @property
    def backend(self):
        return self._mha_backend

    def refresh(self):
        """Uploads the weights again at the next forward (after changes through .data)."""
        with self._mha_lock:
            self._mha_key = None

    def _mha_weights(self):
        w = {"in_proj_bias": self.in_proj_bias, "out_proj.weight": self.out_proj.weight,
             "out_proj.bias": self.out_proj.bias, "bias_k": self.bias_k, "bias_v": self.bias_v}
        if self._qkv_same_embed_dim:
            w["in_proj_weight"] = self.in_proj_weight
        else:
            w.update(q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
                     v_proj_weight=self.v_proj_weight)
        return {k: v for k, v in w.items() if v is not None}

    def _object(self):
        weights = self._mha_weights()
        key = tuple((name, id(t), t.data_ptr(), t._version, t.dtype, str(t.device))
                    for name, t in sorted(weights.items()))
        key += (self.embed_dim, self.num_heads, self.dropout, self.batch_first,
                self.add_zero_attn, self.kdim, self.vdim)
        with self._mha_lock:
            if self._mha_object is None or self._mha_key != key:
                old = self._mha_object
                self._mha_object = Attention(
                    self.embed_dim, self.num_heads, weights, dropout=self.dropout,
                    bias=self.in_proj_bias is not None, add_bias_kv=self.bias_k is not None,
                    add_zero_attn=self.add_zero_attn, kdim=self.kdim, vdim=self.vdim,
                    batch_first=self.batch_first, backend=self._mha_backend, _owner=self)
                self._mha_key = key
                if old is not None:
                    old.close()
            return self._mha_object

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """As torch.nn.MultiheadAttention.forward (PyTorch 2.x). is_causal: as in torch a
        hint that attn_mask is the causal mask, so the mask is used as given; without an
        attn_mask (which torch refuses) it applies the top-left causal mask j <= i."""
        _check_no_grad("mha.torch.MultiheadAttention",
                       [query, key, value, key_padding_mask, attn_mask, *self.parameters()])
        attention = self._object()
        f32 = (DTYPE_F32,)
        q = _arrays.torch_buf(query, "query", allowed=f32)
        k = _arrays.torch_buf(key, "key", allowed=f32)
        v = _arrays.torch_buf(value, "value", allowed=f32)
        kpm = None if key_padding_mask is None else _arrays.torch_mask(
            key_padding_mask, "key_padding_mask", float_dtypes=f32)
        am = None if attn_mask is None else _arrays.torch_mask(attn_mask, "attn_mask",
                                                               float_dtypes=f32)
        causal = bool(is_causal) and attn_mask is None
        training = self.training and self.dropout > 0.0
        seed = int(torch.randint(0, 2 ** 62, ()).item()) if training else 0
        out, weights = attention._forward_bufs(q, k, v, kpm, am, causal, need_weights,
                                               average_attn_weights, training, seed,
                                               _arrays.torch_empty)
        if out.dtype != query.dtype or out.device != query.device:
            out = out.to(device=query.device, dtype=query.dtype)
            if weights is not None:
                weights = weights.to(device=query.device, dtype=query.dtype)
        return out, weights

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(
            self.__dict__)
        state = dict(state)
        state["_mha_backend"] = self._mha_backend.spec
        state["_mha_object"] = None
        state["_mha_key"] = None
        state.pop("_mha_lock", None)
        return state

    def __setstate__(self, state):
        state = dict(state)
        spec = state.pop("_mha_backend", None)
        super().__setstate__(state)
        self._mha_backend = resolve_backend(spec)
        self._mha_backend._depend(self)
        self._mha_lock = threading.Lock()

    def extra_repr(self):
        return f"backend={self._mha_backend.spec}"


def _core_dtypes(backend):
    bits = backend.capabilities["core_dtypes"]
    return tuple(d for d in (DTYPE_F32, DTYPE_F16, DTYPE_BF16) if bits & (1 << d)) or (DTYPE_F32,)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False, *, backend=None):
    """torch.nn.functional.scaled_dot_product_attention (PyTorch 2.x semantics) on mha's
    attention core, inference only.

    query (N, ..., L, E), key (N, ..., S, E), value (N, ..., S, Ev) -> (N, ..., L, Ev); the
    batch dims of key and value broadcast to the query's (with enable_gqa, dim -3 may divide
    the query's instead). attn_mask broadcasts to (N, ..., L, S): bool True = attend, float
    added. is_causal: top-left, key j <= query i (the core's offset 0); with an attn_mask as
    well, both apply. A fully masked row gives zeros, not NaN. dropout_p > 0 raises
    NotImplementedError (the core has no dropout). backend: None = a backend with a core.
    """
    if dropout_p and dropout_p > 0.0:
        raise NotImplementedError("mha scaled_dot_product_attention: dropout_p > 0 is not "
                                  "implemented (the attention core has no dropout)")
    _check_no_grad("mha.torch.scaled_dot_product_attention", [query, key, value, attn_mask])
    backend = resolve_backend(backend, core=True)
    strided = bool(backend.capabilities["core_features"] & CORE_STRIDED)
    r = query.dim()
    if r < 2 or key.dim() != r or value.dim() != r:
        raise ValueError(f"query, key and value must have one rank >= 2, got "
                         f"{query.dim()}, {key.dim()}, {value.dim()}")
    L, S = query.shape[-2], key.shape[-2]
    lead = tuple(query.shape[:-2])
    kv_lead = lead
    if enable_gqa and r >= 3:
        kv_lead = lead[:-1] + (key.shape[-3],)
        if value.shape[-3] != key.shape[-3]:
            raise ValueError(f"key and value have {key.shape[-3]} and {value.shape[-3]} heads")
    elif r >= 3 and key.shape[-3] != lead[-1] and key.shape[-3] != 1:
        raise ValueError(f"query has {lead[-1]} heads and key {key.shape[-3]}: pass "
                         "enable_gqa=True for grouped-query attention")
    key = key.expand(*kv_lead, S, key.shape[-1])
    value = value.expand(*kv_lead, value.shape[-2], value.shape[-1])

    def to4(t):
        if r == 2:
            return t.reshape(1, 1, *t.shape)
        if r == 3:
            return t.unsqueeze(1)
        if r == 4:
            return t
        return t.reshape(-1, *t.shape[-3:])

    mask = None
    if attn_mask is not None:
        m = attn_mask
        if r <= 4 and m.dim() <= r:
            if r == 3 and m.dim() == 3:
                m = m.unsqueeze(1)  # (N, L, S) -> (N, 1, L, S): its N is the batch
        else:
            m = to4(m.expand(*lead, L, S))
        mask = _arrays.torch_mask(m, "attn_mask", float_dtypes=(DTYPE_F32, DTYPE_F16,
                                                                DTYPE_BF16), strided=strided)
    allowed = _core_dtypes(backend)
    q = _arrays.torch_buf(to4(query), "query", allowed=allowed, strided=strided)
    as_q = {DTYPE_F32: "float32", DTYPE_F16: "float16", DTYPE_BF16: "bfloat16"}[q.dtype]
    k = _arrays.torch_buf(to4(key), "key", allowed=(q.dtype,), convert=as_q, strided=strided)
    v = _arrays.torch_buf(to4(value), "value", allowed=(q.dtype,), convert=as_q,
                          strided=strided)
    y, _, _, _ = run_core(backend, q, k, v, empty=_arrays.torch_empty, attn_mask=mask,
                          mask_polarity=BOOL_TRUE_ATTENDS, is_causal=is_causal, scale=scale)
    y = y.reshape(*lead, L, value.shape[-1])
    if y.dtype != query.dtype or y.device != query.device:
        y = y.to(device=query.device, dtype=query.dtype)
    return y
