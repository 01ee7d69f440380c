"""mha: portable multi-head attention, from Python.

A pure-Python binding of libmha through ctypes (docs/python.md). NumPy is required;
`mha.torch` (a drop-in torch.nn.MultiheadAttention and scaled_dot_product_attention) needs
PyTorch and is imported on its own: `import mha.torch`.

    mha.plugins(), mha.devices()          what `mha plugins` / `mha devices` print
    mha.Backend(spec=None)                a plugin bound to a device (a context manager)
    mha.Attention(E, H, weights, ...)     torch.nn.MultiheadAttention's computation, NumPy in/out
    mha.attention(Q, K, V, ...)           the attention core, ONNX Attention semantics
    mha.KVCache(B, Hkv, capacity, D)      an in-place KV cache for decoding loops
    mha.Error                             every failure of libmha (.status, .message)
"""
from ._lib import library_path
from ._backend import (Error, Backend, plugins, plugin_failures, devices, default_backend,
                       version, STATUS_NAMES)
from . import _backend

# The status codes: mha.STATUS_OK, mha.STATUS_UNSUPPORTED, ...
globals().update({name: getattr(_backend, name) for name in dir(_backend)
                  if name.startswith("STATUS_") and name != "STATUS_NAMES"})
from ._attention import Attention
from ._core import attention, KVCache

__version__ = version()

__all__ = ["Error", "Backend", "plugins", "plugin_failures", "devices", "default_backend",
           "version", "Attention", "attention", "KVCache", "library_path", "STATUS_NAMES"]
__all__ += [name for name in dir() if name.startswith("STATUS_") and name != "STATUS_NAMES"]
