"""The ctypes mirrors of python/mha/_lib.py against the C headers: every struct's sizeof and
every field's offsetof, printed by tests/python/layout.c (built against include/mha)."""
import ctypes
import os
import subprocess

import pytest

from mha import _lib


def c_layout():
    program = os.environ.get("MHA_PYTHON_LAYOUT")
    if not program:
        pytest.skip("MHA_PYTHON_LAYOUT is not set (ctest sets it to the python_layout program)")
    out = subprocess.run([program], check=True, capture_output=True, text=True).stdout
    sizes, offsets = {}, {}
    for line in out.splitlines():
        struct, field, value = line.split()
        if field == "sizeof":
            sizes[struct] = int(value)
        else:
            offsets.setdefault(struct, {})[field] = int(value)
    return sizes, offsets


def test_every_mirrored_struct_is_printed_by_the_c_program():
    sizes, offsets = c_layout()
    assert set(offsets) == set(_lib.STRUCTS)
    assert sizes["enum"] == ctypes.sizeof(_lib.c_enum)


@pytest.mark.parametrize("name", sorted(_lib.STRUCTS))
def test_struct_layout_matches_the_header(name):
    sizes, offsets = c_layout()
    cls = _lib.STRUCTS[name]
    mirrored = {field: getattr(cls, field).offset for field, _ in cls._fields_}
    assert mirrored == offsets[name]
    assert ctypes.sizeof(cls) == sizes[name]
