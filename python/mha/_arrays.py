"""NumPy arrays and torch tensors as mha_view / mha_tensor, without copies where possible.

A Buf holds a data pointer, an mha dtype, a shape, strides in elements (None = dense
row-major) and the object that owns the memory (kept alive as long as the Buf).

Rules:
- float32 and float16 data (and torch bfloat16) that is C-contiguous, or strided with
  non-negative strides that are whole elements, is passed as it is (strided only where the
  call takes strides); anything else (float64, ints, lists, negative strides, a CUDA tensor)
  is converted once, to float32 unless said otherwise.
- Masks: bool and uint8 are boolean masks (uint8 is reinterpreted byte for byte: 0 false,
  anything else true); float masks are additive. Any other integer dtype is refused
  (TypeError) rather than guessed.
"""
import ctypes

import numpy as np

from . import _lib
from ._lib import DTYPE_F32, DTYPE_F16, DTYPE_BF16, DTYPE_BOOL, DTYPE_I32, DTYPE_I64

_NP_DTYPES = {
    np.dtype(np.float32): DTYPE_F32,
    np.dtype(np.float16): DTYPE_F16,
    np.dtype(np.bool_): DTYPE_BOOL,
    np.dtype(np.int32): DTYPE_I32,
    np.dtype(np.int64): DTYPE_I64,
}
_NP_OF_DTYPE = {v: k for k, v in _NP_DTYPES.items()}
_ITEMSIZE = {DTYPE_F32: 4, DTYPE_F16: 2, DTYPE_BF16: 2, DTYPE_BOOL: 1, DTYPE_I32: 4, DTYPE_I64: 8}
FLOATS = (DTYPE_F32, DTYPE_F16)


class Buf:
    __slots__ = ("ptr", "dtype", "shape", "strides", "owner")

    def __init__(self, ptr, dtype, shape, strides, owner):
        self.ptr = ptr
        self.dtype = dtype
        self.shape = tuple(int(s) for s in shape)
        self.strides = strides
        self.owner = owner

    @property
    def ndim(self):
        return len(self.shape)

    def view(self):
        v = _lib.mha_view()
        v.struct_size = ctypes.sizeof(v)
        v.data = self.ptr
        v.dtype = self.dtype
        v.rank = len(self.shape)
        for i, s in enumerate(self.shape):
            v.shape[i] = s
        if self.strides is not None:
            for i, s in enumerate(self.strides):
                v.strides[i] = s
        return v

    def tensor(self):
        if self.strides is not None:
            raise AssertionError("mha_tensor is dense only")
        t = _lib.mha_tensor()
        t.data = self.ptr
        t.dtype = self.dtype
        t.rank = len(self.shape)
        for i, s in enumerate(self.shape):
            t.shape[i] = s
        return t


def _element_strides(byte_strides, shape, itemsize):
    """Strides in elements, or None when they cannot be expressed (negative, not whole
    elements, or all zero on more than one element: all-zero strides mean dense)."""
    out = []
    for stride, size in zip(byte_strides, shape):
        if size == 1:
            out.append(0)
            continue
        if stride < 0 or stride % itemsize:
            return None
        out.append(stride // itemsize)
    if out and all(s == 0 for s in out) and int(np.prod(shape)) > 1:
        return None
    return out


def is_torch(obj):
    return type(obj).__module__.startswith("torch")


# ---- NumPy ----------------------------------------------------------------------------------

def numpy_buf(a, name, allowed=FLOATS, convert=np.float32, strided=False):
    """A Buf over a NumPy array (or anything np.asarray takes)."""
    a = np.asarray(a)
    if np.dtype(a.dtype) not in _NP_DTYPES or _NP_DTYPES[np.dtype(a.dtype)] not in allowed:
        if convert is None:
            raise TypeError(f"{name}: dtype {a.dtype} is not accepted")
        a = a.astype(convert)
    dtype = _NP_DTYPES[np.dtype(a.dtype)]
    if a.flags.c_contiguous:
        return Buf(a.ctypes.data, dtype, a.shape, None, a)
    strides = _element_strides(a.strides, a.shape, a.itemsize) if strided else None
    if strides is None:
        a = np.ascontiguousarray(a)
        return Buf(a.ctypes.data, dtype, a.shape, None, a)
    return Buf(a.ctypes.data, dtype, a.shape, strides, a)


def numpy_mask(m, name, float_dtypes=FLOATS, strided=False):
    """A mask Buf: bool/uint8 as bool, float as additive; other integers refused."""
    m = np.asarray(m)
    if m.dtype == np.uint8:
        m = m.view(np.bool_)
    elif m.dtype.kind in "iu":
        raise TypeError(f"{name}: a {m.dtype} mask is ambiguous; pass bool (or uint8) for a "
                        "boolean mask or a float dtype for an additive one")
    if m.dtype == np.bool_:
        return numpy_buf(m, name, allowed=(DTYPE_BOOL,), convert=None, strided=strided)
    return numpy_buf(m, name, allowed=float_dtypes, convert=np.float32, strided=strided)


def numpy_lengths(n, name):
    n = np.asarray(n)
    if n.dtype.kind not in "iu":
        raise TypeError(f"{name}: integer lengths expected, got {n.dtype}")
    return numpy_buf(n, name, allowed=(DTYPE_I64, DTYPE_I32), convert=np.int64)


def numpy_empty(shape, dtype):
    a = np.empty(shape, dtype=_NP_OF_DTYPE[dtype])
    return a, Buf(a.ctypes.data, dtype, a.shape, None, a)


# ---- torch ----------------------------------------------------------------------------------

def _torch_dtypes():
    import torch
    return {
        torch.float32: DTYPE_F32,
        torch.float16: DTYPE_F16,
        torch.bfloat16: DTYPE_BF16,
        torch.bool: DTYPE_BOOL,
        torch.int32: DTYPE_I32,
        torch.int64: DTYPE_I64,
    }


def torch_buf(t, name, allowed=FLOATS, convert="float32", strided=False):
    """A Buf over a torch tensor; CPU tensors of an allowed dtype are not copied."""
    import torch
    dtypes = _torch_dtypes()
    if t.device.type != "cpu":
        t = t.cpu()
    if dtypes.get(t.dtype) not in allowed:
        if convert is None:
            raise TypeError(f"{name}: dtype {t.dtype} is not accepted")
        t = t.to(getattr(torch, convert))
    t = t.detach()
    dtype = dtypes[t.dtype]
    if t.is_contiguous():
        return Buf(t.data_ptr(), dtype, t.shape, None, t)
    strides = None
    if strided:
        strides = [0 if size == 1 else st for st, size in zip(t.stride(), t.shape)]
        if strides and all(s == 0 for s in strides) and t.numel() > 1:
            strides = None
    if strides is None:
        t = t.contiguous()
        return Buf(t.data_ptr(), dtype, t.shape, None, t)
    return Buf(t.data_ptr(), dtype, t.shape, strides, t)


def torch_mask(m, name, float_dtypes=FLOATS, strided=False):
    import torch
    if m.dtype == torch.uint8:
        m = m.view(torch.bool)
    elif not m.dtype.is_floating_point and m.dtype != torch.bool:
        raise TypeError(f"{name}: a {m.dtype} mask is ambiguous; pass bool (or uint8) for a "
                        "boolean mask or a float dtype for an additive one")
    if m.dtype == torch.bool:
        return torch_buf(m, name, allowed=(DTYPE_BOOL,), convert=None, strided=strided)
    return torch_buf(m, name, allowed=float_dtypes, convert="float32", strided=strided)


def torch_empty(shape, dtype):
    import torch
    of = {v: k for k, v in _torch_dtypes().items()}
    t = torch.empty(shape, dtype=of[dtype])
    return t, Buf(t.data_ptr(), dtype, t.shape, None, t)
