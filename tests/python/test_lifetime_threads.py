"""Plugins, devices, backends, lifetimes (any order of deletion and collection) and threads."""
import gc
import os
import random
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import mha
from conftest import rng

E, H = 16, 4


def weights(seed=0, E=E):
    r = rng(seed)
    return {"in_proj_weight": r.standard_normal((3 * E, E)).astype(np.float32) * 0.3,
            "in_proj_bias": r.standard_normal(3 * E).astype(np.float32),
            "out_proj.weight": r.standard_normal((E, E)).astype(np.float32) * 0.3,
            "out_proj.bias": r.standard_normal(E).astype(np.float32)}


def xs(L=5, N=2, seed=1, E=E):
    return rng(seed).standard_normal((L, N, E)).astype(np.float32)


# ---- plugins, devices, backends ---------------------------------------------------------------

def test_plugins_and_devices():
    plugins = mha.plugins()
    names = [p["name"] for p in plugins]
    assert "reference" in names
    ref = plugins[names.index("reference")]
    assert os.path.isfile(ref["path"]) and ref["abi"].startswith("1.")
    assert set(ref) == {"name", "version", "abi", "path", "description"}
    devs = mha.devices("reference")
    assert len(devs) >= 1 and devs[0]["spec"].startswith("reference:")
    assert all(d in mha.devices() for d in devs)
    with mha.Backend(devs[0]["spec"]) as b:
        assert b.plugin == "reference" and b.device["spec"] == devs[0]["spec"]


def test_plugins_match_the_command_line():
    cli = os.environ.get("MHA_CLI")
    if not cli:
        pytest.skip("MHA_CLI is not set (ctest sets it to the build's mha)")
    out = subprocess.run([cli, "plugins"], check=True, capture_output=True, text=True).stdout
    for p in mha.plugins():
        assert p["name"] in out and p["path"] in out


def test_library_is_the_builds():
    assert os.path.isfile(mha.library_path())


def test_unknown_backend_raises_not_found():
    with pytest.raises(mha.Error) as info:
        mha.Backend("no-such-plugin")
    assert info.value.status == mha.STATUS_NOT_FOUND
    assert "no-such-plugin" in info.value.message
    with pytest.raises(mha.Error):
        mha.devices("no-such-plugin")


def test_closed_backend_refuses_new_work_but_its_objects_keep_working():
    with mha.Backend("reference") as b:
        att = mha.Attention(E, H, weights(), backend=b)
        want = att(xs(), xs(), xs())[0]
        cache = mha.KVCache(1, 1, 4, 4, backend=b)
    assert b.closed
    one = np.ones((1, 1, 1, 4), np.float32)
    np.testing.assert_allclose(cache(one, one, one), one)  # made before close(): works
    del cache
    gc.collect()
    np.testing.assert_array_equal(att(xs(), xs(), xs())[0], want)
    with pytest.raises(mha.Error):
        mha.Attention(E, H, weights(), backend=b)
    with pytest.raises(mha.Error):
        mha.attention(np.ones((1, 1, 1, 4), np.float32), np.ones((1, 1, 1, 4), np.float32),
                      np.ones((1, 1, 1, 4), np.float32), backend=b)
    att.close()
    with pytest.raises(ValueError, match="closed"):
        att(xs(), xs(), xs())


def test_delete_the_backend_first_then_use_the_module():
    torch = pytest.importorskip("torch", reason="python3-torch is not installed")
    import mha.torch
    b = mha.Backend("reference")
    m = mha.torch.MultiheadAttention(E, H, backend=b).requires_grad_(False)
    x = torch.randn(5, 2, E)
    want = m(x, x, x)[0]
    b.close()
    del b
    gc.collect()
    assert torch.equal(m(x, x, x)[0], want)  # the attention object kept its backend
    m.out_proj.bias.add_(1)  # a re-upload needs the backend: the module holds it open
    assert not torch.equal(m(x, x, x)[0], want)


@pytest.mark.parametrize("seed", range(5))
def test_collection_in_random_orders(seed):
    order = random.Random(seed)
    objects = []
    for _ in range(3):
        b = mha.Backend("reference")
        objects.append(b)
        for i in range(3):
            objects.append(mha.Attention(E, H, weights(i), backend=b))
            objects.append(mha.KVCache(1, 1, 8, 4, backend=b))
    expected = [o(xs(), xs(), xs())[0] for o in objects if isinstance(o, mha.Attention)]
    order.shuffle(objects)
    for o in objects[: len(objects) // 2]:
        if order.random() < 0.5 and hasattr(o, "close"):
            o.close()
    survivors = [o for o in objects if isinstance(o, mha.Attention) and o._finalizer.alive]
    del objects, o, b
    gc.collect()
    for o in survivors:
        o(xs(), xs(), xs())
    del survivors
    gc.collect()
    assert expected  # the objects computed something before the shuffle


def test_objects_alive_at_interpreter_exit():
    """Backends, attention objects, caches and cycles between them left for the interpreter's
    exit: no crash, whatever order finalisation takes."""
    code = (
        "import mha, numpy as np\n"
        "b = mha.Backend('reference')\n"
        "w = {'in_proj_weight': np.ones((48, 16), np.float32),"
        " 'in_proj_bias': np.zeros(48, np.float32),"
        " 'out_proj.weight': np.ones((16, 16), np.float32),"
        " 'out_proj.bias': np.zeros(16, np.float32)}\n"
        "a = mha.Attention(16, 4, w, backend=b)\n"
        "c = mha.KVCache(1, 1, 4, 4, backend=b)\n"
        "a.cycle = a; b.cycle = (a, c); c.cycle = b\n"
        "a(np.ones((2, 1, 16), np.float32), np.ones((2, 1, 16), np.float32),"
        " np.ones((2, 1, 16), np.float32))\n"
        "b.close()\n"
        "print('ok')\n")
    try:
        import torch  # noqa: F401
        code += ("import torch, mha.torch\n"
                 "m = mha.torch.MultiheadAttention(16, 4).requires_grad_(False)\n"
                 "m.me = [m]\n"
                 "x = torch.ones(2, 16); m(x, x, x)\n")
    except ImportError:
        pass
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---- threads ------------------------------------------------------------------------------------

def test_one_object_is_used_by_one_thread_at_a_time(reference):
    att = mha.Attention(E, H, weights(), backend=reference)
    done = threading.Event()

    def call():
        att(xs(), xs(), xs())
        done.set()

    with att.lock:  # as if another thread were inside a forward
        worker = threading.Thread(target=call)
        worker.start()
        assert not done.wait(0.3), "the forward ran while another call held the object"
    worker.join(10)
    assert done.is_set()


def test_threads_sharing_an_object_and_a_backend_get_serial_results(reference):
    objects = [mha.Attention(E, H, weights(i), backend=reference) for i in range(2)]
    inputs = [xs(seed=s) for s in range(6)]
    want = {(i, s): objects[i](x, x, x)[0] for i in range(2) for s, x in enumerate(inputs)}
    got, errors = {}, []

    def work(i, s):
        try:
            x = inputs[s]
            for _ in range(20):
                got[(i, s)] = objects[i](x, x, x)[0]
                y = mha.attention(np.ones((1, 2, 3, 4), np.float32),
                                  np.ones((1, 2, 3, 4), np.float32),
                                  np.ones((1, 2, 3, 4), np.float32), backend=reference)[0]
                assert np.allclose(y, 1.0)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, s)) for i in range(2) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value)


def test_the_gil_is_released_during_a_call(reference):
    """A Python thread keeps running while another thread is inside libmha."""
    big = 128
    w = weights(E=big)
    att = mha.Attention(big, 8, w, backend=reference)
    x = xs(L=256, N=2, E=big)
    start = time.perf_counter()
    att(x, x, x, need_weights=False)
    single = time.perf_counter() - start
    ticks = 0
    result = []
    worker = threading.Thread(target=lambda: result.append(
        [att(x, x, x, need_weights=False) for _ in range(3)]))
    start = time.perf_counter()
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    assert result and elapsed > 0.05, f"a call took {single:.3f} s: too short to tell"
    # with the GIL held for the whole call, the loop would tick about once per call
    assert ticks > 10, f"{ticks} ticks in {elapsed:.3f} s"


# ---- install --------------------------------------------------------------------------------------

def test_installed_package_finds_the_installed_libmha(tmp_path):
    """cmake --install puts the package under <prefix>/lib/python3/dist-packages; imported
    from there (and nothing of the build tree on the path), it loads <prefix>'s libmha and
    plugins through its relative path."""
    build, cmake = os.environ.get("MHA_BUILD_DIR"), os.environ.get("MHA_CMAKE")
    if not build or not cmake:
        pytest.skip("MHA_BUILD_DIR and MHA_CMAKE are not set (ctest sets them)")
    prefix = tmp_path / "prefix"
    subprocess.run([cmake, "--install", build, "--prefix", str(prefix)], check=True,
                   capture_output=True)
    code = ("import mha, numpy as np\n"
            "print(mha.library_path())\n"
            "print(*[p['path'] for p in mha.plugins()], sep='\\n')\n"
            "q = np.ones((1, 1, 2, 4), np.float32)\n"
            "assert np.allclose(mha.attention(q, q, q, backend='reference')[0], 1.0)\n")
    env = dict(os.environ, PYTHONPATH=str(prefix / "lib" / "python3" / "dist-packages"))
    env.pop("MHA_LIBRARY", None)
    env.pop("MHA_PLUGIN_PATH", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert all(line.startswith(str(prefix)) for line in lines), lines
    assert any(line.endswith("libmha_plugin_reference.so") for line in lines[1:])
