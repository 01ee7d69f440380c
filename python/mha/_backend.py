"""Errors, plugins, devices and backends."""
import ctypes
import os
import threading
import weakref

from ._lib import lib, decode, mha_plugin_info, mha_device_info, mha_capabilities, CORE_AVAILABLE

STATUS_NAMES = {}
for _code in range(64):
    _name = decode(lib.mha_status_name(_code))
    if _name and _name != "MHA_STATUS_UNKNOWN":
        STATUS_NAMES[_code] = _name
        globals()[_name[len("MHA_"):]] = _code  # STATUS_OK, STATUS_UNSUPPORTED, ...
STATUS_INVALID_VALUE = 3
STATUS_UNSUPPORTED = 7


class Error(Exception):
    """A failed libmha call.

    status: the mha_status code (an int; mha.STATUS_UNSUPPORTED etc.);
    status_name: "MHA_STATUS_UNSUPPORTED"; message: libmha's message for the call.
    """

    def __init__(self, status, message):
        self.status = int(status)
        self.status_name = STATUS_NAMES.get(self.status, f"MHA_STATUS_{self.status}")
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


def check(status):
    """Raises Error for a non-zero status, with this thread's mha_last_error()."""
    if status != 0:
        message = decode(lib.mha_last_error()) or decode(lib.mha_status_string(status))
        raise Error(status, message)


def version():
    return decode(lib.mha_version_string())


def plugins():
    """The plugins found, as `mha plugins` prints them: a list of dicts with name, version,
    abi (a "major.minor" string), path and description."""
    count = ctypes.c_size_t()
    check(lib.mha_plugin_count(ctypes.byref(count)))
    out = []
    for i in range(count.value):
        info = mha_plugin_info()
        info.struct_size = ctypes.sizeof(info)
        check(lib.mha_plugin_get_info(i, ctypes.byref(info)))
        out.append({
            "name": decode(info.name),
            "version": decode(info.version),
            "abi": f"{info.abi_major}.{info.abi_minor}",
            "path": decode(info.path),
            "description": decode(info.description),
        })
    return out


def plugin_failures():
    """Plugin files that were skipped: a list of dicts with path and reason."""
    count = ctypes.c_size_t()
    check(lib.mha_plugin_failure_count(ctypes.byref(count)))
    out = []
    for i in range(count.value):
        path, reason = ctypes.c_char_p(), ctypes.c_char_p()
        check(lib.mha_plugin_failure(i, ctypes.byref(path), ctypes.byref(reason)))
        out.append({"path": decode(path.value), "reason": decode(reason.value)})
    return out


def _device_dict(plugin, info):
    return {
        "plugin": plugin,
        "spec": f"{plugin}:{decode(info.spec)}",
        "name": decode(info.name),
        "vendor": decode(info.vendor),
        "driver": decode(info.driver),
        "kind": decode(info.kind),
        "memory_bytes": int(info.memory_bytes),
        "compute_units": int(info.compute_units),
    }


def devices(plugin=None):
    """Devices of one plugin (by name) or of every plugin, as `mha devices` prints them: a list
    of dicts with plugin, spec (what Backend() takes, "opencl:0"), name, vendor, driver, kind,
    memory_bytes and compute_units. A plugin whose driver fails to list devices raises Error
    when named, and is left out when plugin is None."""
    names = [plugin] if plugin is not None else [p["name"] for p in plugins()]
    out = []
    for name in names:
        encoded = name.encode()
        count = ctypes.c_size_t()
        status = lib.mha_plugin_device_count(encoded, ctypes.byref(count))
        if status != 0:
            if plugin is not None:
                check(status)
            continue
        for i in range(count.value):
            info = mha_device_info()
            info.struct_size = ctypes.sizeof(info)
            check(lib.mha_plugin_device_info(encoded, i, ctypes.byref(info)))
            out.append(_device_dict(name, info))
    return out


class Backend:
    """A plugin bound to one device: mha_backend_open(spec).

    spec: "reference", "opencl", "opencl:1", ...; None or "" means $MHA_BACKEND, else the best
    plugin that has a device. A context manager. close() (or leaving the block) releases the
    caller's hold: new work through this Backend raises Error from then on, but every object
    made from it (attention objects, KVCache, mha.torch modules) keeps it alive and working;
    the device is released with the last of them (libmha itself keeps a backend alive for its
    attention objects).
    """

    def __init__(self, spec=None):
        handle = ctypes.c_void_p()
        check(lib.mha_backend_open(spec.encode() if spec else None, ctypes.byref(handle)))
        self._handle = handle.value
        # Released by close() when nothing made from it is alive, else when the last such
        # object and this Backend are collected, or at exit.
        self._finalizer = weakref.finalize(self, lib.mha_backend_close, handle.value)
        self._closed = False
        self._dependents = weakref.WeakSet()
        # The C API does not promise that mha_core_forward may run on two threads at
        # once on one backend; core calls take this lock.
        self.core_lock = threading.Lock()
        self.plugin = decode(lib.mha_backend_plugin_name(self._handle))
        info = mha_device_info()
        info.struct_size = ctypes.sizeof(info)
        check(lib.mha_backend_device_info(self._handle, ctypes.byref(info)))
        self.device = _device_dict(self.plugin, info)
        caps = mha_capabilities()
        caps.struct_size = ctypes.sizeof(caps)
        check(lib.mha_backend_capabilities(self._handle, ctypes.byref(caps)))
        self.capabilities = {
            name: getattr(caps, name)
            for name, _ in mha_capabilities._fields_
            if name not in ("struct_size", "next", "extension_types", "extension_type_count")
        }

    @property
    def spec(self):
        return self.device["spec"]

    @property
    def has_core(self):
        """Whether mha_core_forward runs on this backend (capabilities.core_features)."""
        return bool(self.capabilities["core_features"] & CORE_AVAILABLE)

    @property
    def closed(self):
        """True once close() was called (objects made from it may still be using it)."""
        return self._closed or not self._finalizer.alive

    def _depend(self, owner):
        """Records an object made from this backend (it holds a reference to the Backend)."""
        self._dependents.add(owner)

    def handle(self, owner=None):
        """The mha_backend pointer (an int). Error after close(), except for an object
        made from the backend before (owner)."""
        if not self._finalizer.alive or (self._closed and (
                owner is None or owner not in self._dependents)):
            raise Error(STATUS_INVALID_VALUE, f"backend {self.spec} is closed")
        return self._handle

    def close(self):
        """Releases the caller's hold (see the class); idempotent."""
        self._closed = True
        if len(self._dependents) == 0:
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = " closed" if self.closed else ""
        return f"<mha.Backend {self.spec} ({self.device['name']}){state}>"


_default_lock = threading.Lock()
_defaults = {}


def default_backend(core=False):
    """The Backend used where none is given, opened once per process.

    core=False (attention objects, mha.torch.MultiheadAttention): Backend(None), i.e.
    $MHA_BACKEND or the best plugin that has a device.
    core=True (mha.attention, KVCache, scaled_dot_product_attention): $MHA_BACKEND when set
    (an explicit choice, so a backend without a core raises Error UNSUPPORTED at the call);
    else the default backend if it has a core, else the first plugin, in the order
    mha.plugins() lists them, that has a device and a core.
    """
    with _default_lock:
        key = "core" if core else "module"
        backend = _defaults.get(key)
        if backend is not None:
            return backend
        backend = _defaults.get("module") or Backend(None)
        _defaults["module"] = backend
        if core and not backend.has_core and not os.environ.get("MHA_BACKEND"):
            for plugin in plugins():
                if plugin["name"] == backend.plugin:
                    continue
                try:
                    candidate = Backend(plugin["name"])
                except Error:
                    continue
                if candidate.has_core:
                    backend = candidate
                    break
                candidate.close()
        _defaults[key] = backend
        return backend


def resolve_backend(backend, core=False):
    """A Backend from None (the default), a spec string, or a Backend."""
    if backend is None:
        return default_backend(core=core)
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        return Backend(backend)
    raise TypeError(f"backend must be None, a spec string or an mha.Backend, not {type(backend)}")
