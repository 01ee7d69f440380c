"""Shared helpers of the Python binding's tests (run by ctest as `python`)."""
import os

import numpy as np
import pytest

import mha


def opencl_backend():
    """An OpenCL backend when the plugin has a device here, else None."""
    if not any(p["name"] == "opencl" for p in mha.plugins()):
        return None
    try:
        if not mha.devices("opencl"):
            return None
        return mha.Backend("opencl")
    except mha.Error:
        return None


@pytest.fixture(scope="session")
def reference():
    return mha.Backend("reference")


@pytest.fixture(scope="session")
def opencl():
    backend = opencl_backend()
    if backend is None:
        pytest.skip("no OpenCL device here")
    return backend


def rng(seed=0):
    return np.random.default_rng(seed)


def data_dir():
    return os.environ.get("MHA_TEST_DATA") or os.path.join(
        os.path.dirname(__file__), "..", "data")
