"""libmha through ctypes: the library, the structs the binding mirrors, the prototypes.

The struct layouts below are transcribed from include/mha/mha.h and include/mha/core.h
(field names and order exactly as in C). tests/python/test_layout.py compares every
sizeof and offsetof with a C program built against the headers, so a header change that
moves a field fails a test instead of corrupting memory.

ctypes.CDLL releases the GIL around every call into libmha.
"""
import ctypes
import os

try:
    from . import _config
except ImportError as exc:  # the source folder python/mha has no _config.py
    raise ImportError("mha: this copy of the package has no _config.py: import it from a build "
                      "tree (PYTHONPATH=build/python) or an install, not from python/ in the "
                      "sources") from exc

c_size_t = ctypes.c_size_t
c_int64 = ctypes.c_int64
c_uint64 = ctypes.c_uint64
c_int32 = ctypes.c_int32
c_uint32 = ctypes.c_uint32
c_bool = ctypes.c_bool
c_float = ctypes.c_float
c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_enum = ctypes.c_int  # C enums of mha are int-sized (values < 2^31)

MAX_RANK = 4
VIEW_MAX_RANK = 8

# mha_dtype
DTYPE_NONE, DTYPE_F32, DTYPE_BOOL, DTYPE_F16, DTYPE_BF16, DTYPE_I32, DTYPE_I64 = range(7)
# mha_causal
CAUSAL_NONE, CAUSAL_TOP_LEFT, CAUSAL_BOTTOM_RIGHT = range(3)
# mha_bool_polarity
BOOL_TRUE_ATTENDS, BOOL_TRUE_MASKS = 0, 1
# core feature bits
CORE_AVAILABLE = 1 << 0
CORE_STRIDED = 1 << 11


class mha_extension(ctypes.Structure):
    _fields_ = [("struct_size", c_size_t), ("type", c_uint32), ("next", c_void_p)]


class mha_tensor(ctypes.Structure):
    _fields_ = [
        ("data", c_void_p),
        ("dtype", c_enum),
        ("rank", c_int32),
        ("shape", c_int64 * MAX_RANK),
        ("memory", c_enum),
        ("offset", c_uint64),
    ]


class mha_view(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("next", c_void_p),
        ("data", c_void_p),
        ("memory", c_enum),
        ("offset", c_uint64),
        ("dtype", c_enum),
        ("rank", c_int32),
        ("shape", c_int64 * VIEW_MAX_RANK),
        ("strides", c_int64 * VIEW_MAX_RANK),
    ]


class mha_plugin_info(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("name", c_char_p),
        ("version", c_char_p),
        ("abi_major", c_uint32),
        ("abi_minor", c_uint32),
        ("path", c_char_p),
        ("description", c_char_p),
    ]


class mha_device_info(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("spec", ctypes.c_char * 64),
        ("name", ctypes.c_char * 128),
        ("vendor", ctypes.c_char * 64),
        ("driver", ctypes.c_char * 64),
        ("kind", ctypes.c_char * 16),
        ("memory_bytes", c_uint64),
        ("compute_units", c_uint32),
    ]


class mha_capabilities(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("next", c_void_p),
        ("dtypes", c_uint32),
        ("memory_kinds", c_uint32),
        ("mask_kinds", c_uint32),
        ("dropout", c_bool),
        ("need_weights", c_bool),
        ("add_bias_kv", c_bool),
        ("add_zero_attn", c_bool),
        ("separate_kv_dims", c_bool),
        ("max_embed_dim", c_int64),
        ("max_sequence", c_int64),
        ("extension_types", c_void_p),
        ("extension_type_count", c_size_t),
        ("core_features", c_uint32),
        ("core_dtypes", c_uint32),
    ]


class mha_config(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("next", c_void_p),
        ("embed_dim", c_int64),
        ("num_heads", c_int64),
        ("kdim", c_int64),
        ("vdim", c_int64),
        ("bias", c_bool),
        ("add_bias_kv", c_bool),
        ("add_zero_attn", c_bool),
        ("batch_first", c_bool),
        ("dropout", c_float),
    ]


class mha_weights(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("next", c_void_p),
        ("in_proj_weight", c_void_p),
        ("q_proj_weight", c_void_p),
        ("k_proj_weight", c_void_p),
        ("v_proj_weight", c_void_p),
        ("in_proj_bias", c_void_p),
        ("out_proj_weight", c_void_p),
        ("out_proj_bias", c_void_p),
        ("bias_k", c_void_p),
        ("bias_v", c_void_p),
    ]


class mha_forward_args(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("next", c_void_p),
        ("query", mha_tensor),
        ("key", mha_tensor),
        ("value", mha_tensor),
        ("key_padding_mask", mha_tensor),
        ("attn_mask", mha_tensor),
        ("causal", c_enum),
        ("need_weights", c_bool),
        ("average_attn_weights", c_bool),
        ("training", c_bool),
        ("dropout_seed", c_uint64),
        ("attn_output", mha_tensor),
        ("attn_weights", mha_tensor),
    ]


class mha_core_args(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("next", c_void_p),
        ("q", mha_view),
        ("k", mha_view),
        ("v", mha_view),
        ("q_num_heads", c_int64),
        ("kv_num_heads", c_int64),
        ("attn_mask", mha_view),
        ("mask_polarity", c_enum),
        ("past_key", mha_view),
        ("past_value", mha_view),
        ("nonpad_kv_seqlen", mha_view),
        ("is_causal", c_bool),
        ("scale", c_float),
        ("softcap", c_float),
        ("left_window_size", c_int64),
        ("right_window_size", c_int64),
        ("qk_matmul_output_mode", c_int32),
        ("softmax_precision", c_int32),
        ("cache_key", mha_view),
        ("cache_value", mha_view),
        ("cache_length", c_int64),
        ("y", mha_view),
        ("present_key", mha_view),
        ("present_value", mha_view),
        ("qk_matmul_output", mha_view),
    ]


# Every struct the binding mirrors, by its C name (test_layout.py walks this).
STRUCTS = {
    cls.__name__: cls
    for cls in (mha_extension, mha_tensor, mha_view, mha_plugin_info, mha_device_info,
                mha_capabilities, mha_config, mha_weights, mha_forward_args, mha_core_args)
}


def library_path():
    """The libmha this package loads: $MHA_LIBRARY, else the one recorded at build or install."""
    override = os.environ.get("MHA_LIBRARY")
    if override:
        return override
    path = _config.LIBMHA
    if not os.path.isabs(path):
        path = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), path))
    return path


def _load():
    path = library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise ImportError(
            f"mha: cannot load libmha from {path} ({exc}); set MHA_LIBRARY to its path") from exc
    P = ctypes.POINTER
    protos = {
        "mha_version_string": (c_char_p, []),
        "mha_status_name": (c_char_p, [c_enum]),
        "mha_status_string": (c_char_p, [c_enum]),
        "mha_last_error": (c_char_p, []),
        "mha_plugin_count": (c_enum, [P(c_size_t)]),
        "mha_plugin_get_info": (c_enum, [c_size_t, P(mha_plugin_info)]),
        "mha_plugin_failure_count": (c_enum, [P(c_size_t)]),
        "mha_plugin_failure": (c_enum, [c_size_t, P(c_char_p), P(c_char_p)]),
        "mha_plugin_device_count": (c_enum, [c_char_p, P(c_size_t)]),
        "mha_plugin_device_info": (c_enum, [c_char_p, c_size_t, P(mha_device_info)]),
        "mha_backend_open": (c_enum, [c_char_p, P(c_void_p)]),
        "mha_backend_close": (None, [c_void_p]),
        "mha_backend_plugin_name": (c_char_p, [c_void_p]),
        "mha_backend_device_info": (c_enum, [c_void_p, P(mha_device_info)]),
        "mha_backend_capabilities": (c_enum, [c_void_p, P(mha_capabilities)]),
        "mha_config_init": (None, [P(mha_config), c_int64, c_int64]),
        "mha_weights_init": (None, [P(mha_weights)]),
        "mha_attention_create": (c_enum, [c_void_p, P(mha_config), P(mha_weights), P(c_void_p)]),
        "mha_attention_destroy": (None, [c_void_p]),
        "mha_forward_args_init": (None, [P(mha_forward_args)]),
        "mha_attention_output_shapes": (
            c_enum, [c_void_p, P(mha_forward_args), P(mha_tensor), P(mha_tensor)]),
        "mha_attention_forward": (c_enum, [c_void_p, P(mha_forward_args)]),
        "mha_core_args_init": (None, [P(mha_core_args)]),
        "mha_core_forward": (c_enum, [c_void_p, P(mha_core_args)]),
        "mha_dtype_name": (c_char_p, [c_enum]),
    }
    for name, (restype, argtypes) in protos.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _load()


def decode(value):
    return value.decode("utf-8", "replace") if value is not None else None
