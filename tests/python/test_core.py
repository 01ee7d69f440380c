"""mha.attention (ONNX Attention on the core) and mha.KVCache against a float64 NumPy oracle
(oracle.py) and against the repository's expected data (tests/data/attention_core).

Tolerances: float32 on the reference plugin (double arithmetic) |a - b| <= 1e-5 + 1e-4 |b|;
on the OpenCL plugin (float32 arithmetic) 1e-4 + 1e-3 |b|; float16 storage
2e-3 + 4e-3 |b| (inputs rounded to float16 before the oracle sees them).
"""
import os
import shlex

import numpy as np
import pytest

import mha
from conftest import rng, data_dir, opencl_backend
from oracle import onnx_attention

TOL = {"reference": (1e-5, 1e-4), "opencl": (1e-4, 1e-3)}
F16_TOL = (2e-3, 4e-3)

_ocl = opencl_backend()
BACKENDS = ["reference"] + (["opencl"] if _ocl is not None else [])


def close(a, b, tol):
    atol, rtol = tol
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    finite = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), finite), "infinities differ"
    np.testing.assert_allclose(a[finite], b[finite], atol=atol, rtol=rtol)


def qkv(B=2, Hq=4, Hkv=2, L=3, S=5, D=8, Dv=None, dtype=np.float32, seed=0):
    r = rng(seed)
    Dv = D if Dv is None else Dv
    return (r.standard_normal((B, Hq, L, D)).astype(dtype),
            r.standard_normal((B, Hkv, S, D)).astype(dtype),
            r.standard_normal((B, Hkv, S, Dv)).astype(dtype))


CASES = {
    "plain": dict(),
    "gqa_causal_L_lt_S": dict(kw=dict(is_causal=True)),
    "causal_L_gt_S": dict(shape=dict(L=6, S=4), kw=dict(is_causal=True)),
    "bool_mask_rank2": dict(mask="bool2"),
    "float_mask_rank4": dict(mask="float4"),
    "short_mask": dict(mask="short"),
    "softcap_scale": dict(kw=dict(softcap=2.0, scale=0.3)),
    "past_causal": dict(past=4, kw=dict(is_causal=True)),
    "nonpad_causal": dict(nonpad=[5, 3], kw=dict(is_causal=True)),
    "window": dict(shape=dict(L=5, S=5), kw=dict(left_window_size=1, right_window_size=1)),
    "vdim": dict(shape=dict(Dv=6)),
    "mqa": dict(shape=dict(Hkv=1)),
    "qk_mode0": dict(mask="bool2", kw=dict(qk_matmul_output_mode=0), qk=True),
    "qk_mode2": dict(mask="float4", kw=dict(qk_matmul_output_mode=2, is_causal=True)),
    "qk_mode3": dict(mask="bool2", kw=dict(qk_matmul_output_mode=3, softcap=1.5)),
}


def build_case(case, dtype=np.float32):
    c = CASES[case]
    q, k, v = qkv(dtype=dtype, **c.get("shape", {}))
    B, Hq, L, _ = q.shape
    S = k.shape[2]
    P = c.get("past", 0)
    kw = dict(c.get("kw", {}))
    r = rng(7)
    mask = c.get("mask")
    if mask == "bool2":
        m = r.random((L, P + S)) < 0.7
        m[:, 0] = True
        kw["attn_mask"] = m
    elif mask == "float4":
        kw["attn_mask"] = r.standard_normal((B, 1, L, P + S)).astype(np.float32)
    elif mask == "short":
        kw["attn_mask"] = np.ones((L, S - 2), bool)
    if P:
        kw["past_key"] = r.standard_normal((B, k.shape[1], P, k.shape[3])).astype(dtype)
        kw["past_value"] = r.standard_normal((B, v.shape[1], P, v.shape[3])).astype(dtype)
    if "nonpad" in c:
        kw["nonpad_kv_seqlen"] = np.array(c["nonpad"], np.int64)
    return q, k, v, kw, c.get("qk", False)


def oracle(q, k, v, kw):
    o = dict(kw)
    ren = {"past_key": "past_key", "nonpad_kv_seqlen": "nonpad", "qk_matmul_output_mode":
           "qk_mode", "left_window_size": "left", "right_window_size": "right"}
    return onnx_attention(q, k, v, **{ren.get(a, a): b for a, b in o.items()})


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_attention_matches_the_oracle(case, backend_name):
    q, k, v, kw, want_qk = build_case(case)
    y, pk, pv, qk = mha.attention(q, k, v, backend=backend_name, **kw,
                                  return_qk_matmul_output=want_qk or None)
    ey, epk, epv, eqk = oracle(q, k, v, kw)
    tol = TOL[backend_name]
    close(y, ey, tol)
    close(pk, epk, tol)
    close(pv, epv, tol)
    assert y.dtype == np.float32
    if want_qk or kw.get("qk_matmul_output_mode", 0):
        close(qk, eqk, tol)
    else:
        assert qk is None


@pytest.mark.parametrize("case", ["plain", "gqa_causal_L_lt_S", "past_causal", "qk_mode3"])
def test_float16_storage(case, reference):
    q, k, v, kw, _ = build_case(case, dtype=np.float16)
    y, pk, _, qk = mha.attention(q, k, v, backend=reference, **kw)
    assert y.dtype == np.float16 and pk.dtype == np.float16
    ey, epk, _, eqk = oracle(q, k, v, kw)
    close(y, ey, F16_TOL)
    close(pk, epk, (0, 0))  # present is a copy
    if qk is not None:
        close(qk, eqk, F16_TOL)


def test_three_d_inputs_equal_four_d(reference):
    q, k, v = qkv()
    B, Hq, L, D = q.shape
    Hkv, S = k.shape[1], k.shape[2]
    q3 = q.transpose(0, 2, 1, 3).reshape(B, L, Hq * D)
    k3 = k.transpose(0, 2, 1, 3).reshape(B, S, Hkv * D)
    v3 = v.transpose(0, 2, 1, 3).reshape(B, S, Hkv * D)
    y3 = mha.attention(q3, k3, v3, q_num_heads=Hq, kv_num_heads=Hkv, is_causal=True,
                       backend=reference)[0]
    y4 = mha.attention(q, k, v, is_causal=True, backend=reference)[0]
    assert y3.shape == (B, L, Hq * D)
    np.testing.assert_array_equal(y3, y4.transpose(0, 2, 1, 3).reshape(B, L, -1))
    with pytest.raises(ValueError, match="q_num_heads"):
        mha.attention(q3, k3, v3, backend=reference)


def test_strided_views_are_passed_without_a_copy(reference):
    from mha import _arrays
    r = rng(3)
    packed = r.standard_normal((2, 2, 4, 5, 8)).astype(np.float32)  # (B, Hkv, 2, S, D)
    k, v = packed[:, :, 0], packed[:, :, 1]
    assert not k.flags.c_contiguous
    buf = _arrays.numpy_buf(k, "K", strided=True)
    assert buf.strides is not None and np.shares_memory(buf.owner, packed)
    q = r.standard_normal((2, 4, 3, 8)).astype(np.float32)
    got = mha.attention(q, k, v, backend=reference)[0]
    want = mha.attention(q, np.ascontiguousarray(k), np.ascontiguousarray(v),
                         backend=reference)[0]
    np.testing.assert_array_equal(got, want)
    # a contiguous float32 array is passed as it is
    assert _arrays.numpy_buf(q, "Q").owner is q


def test_float64_and_mixed_inputs_are_converted_once(reference):
    q, k, v = qkv()
    y64 = mha.attention(q.astype(np.float64), k.astype(np.float64), v, backend=reference)[0]
    assert y64.dtype == np.float32
    np.testing.assert_array_equal(y64, mha.attention(q, k, v, backend=reference)[0])


def test_mask_dtypes(reference):
    q, k, v = qkv()
    m = rng(5).random((3, 5)) < 0.5
    m[:, 0] = True
    y_bool = mha.attention(q, k, v, attn_mask=m, backend=reference)[0]
    y_u8 = mha.attention(q, k, v, attn_mask=m.astype(np.uint8) * 3, backend=reference)[0]
    np.testing.assert_array_equal(y_bool, y_u8)  # uint8 is a bool mask, never added
    y_float = mha.attention(q, k, v, attn_mask=np.where(m, 0.0, -np.inf), backend=reference)[0]
    close(y_float, y_bool, TOL["reference"])
    y_ones = mha.attention(q, k, v, attn_mask=m.astype(np.float32), backend=reference)[0]
    assert not np.allclose(y_ones, y_bool)  # a float mask of 0/1 is added, not a bool mask
    with pytest.raises(TypeError, match="ambiguous"):
        mha.attention(q, k, v, attn_mask=m.astype(np.int32), backend=reference)


def test_errors_are_mha_errors(reference):
    q, k, v = qkv()
    with pytest.raises(mha.Error) as info:
        mha.attention(q, k[:, :, :4], v, backend=reference)
    assert info.value.status == mha.STATUS_SHAPE_MISMATCH
    assert info.value.message and "MHA_STATUS_SHAPE_MISMATCH" in str(info.value)
    with pytest.raises(ValueError, match="scale 0"):
        mha.attention(q, k, v, scale=0.0, backend=reference)


def test_a_backend_without_a_core_raises_unsupported_and_is_not_the_core_default(monkeypatch):
    """The default for core calls skips a default backend that has no core (and a backend
    without one answers UNSUPPORTED): simulated by hiding the default's core bits."""
    from mha import _backend
    default = mha.Backend(None)
    coreless = dict(default.capabilities, core_features=0)
    monkeypatch.setattr(default, "capabilities", coreless)
    monkeypatch.setattr(_backend, "_defaults", {"module": default})
    monkeypatch.delenv("MHA_BACKEND", raising=False)
    chosen = mha.default_backend(core=True)
    assert chosen is not default and chosen.has_core
    assert mha.default_backend() is default
    monkeypatch.setenv("MHA_BACKEND", default.plugin)
    monkeypatch.setattr(_backend, "_defaults", {"module": default})
    assert mha.default_backend(core=True) is default  # an explicit choice is kept


def test_unsupported_status_is_an_exception():
    e = mha.Error(mha.STATUS_UNSUPPORTED, "no core")
    assert isinstance(e, Exception) and e.status == 7
    assert str(e) == "MHA_STATUS_UNSUPPORTED: no core"


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_kv_cache_decode_loop_equals_one_causal_call(backend_name):
    B, Hq, Hkv, D, steps, prompt = 2, 4, 2, 8, 5, 3
    r = rng(11)
    total = prompt + steps
    q = r.standard_normal((B, Hq, total, D)).astype(np.float32)
    k = r.standard_normal((B, Hkv, total, D)).astype(np.float32)
    v = r.standard_normal((B, Hkv, total, D)).astype(np.float32)
    want = mha.attention(q, k, v, is_causal=True, backend=backend_name)[0]
    cache = mha.KVCache(B, Hkv, capacity=total, head_size=D, backend=backend_name)
    ys = [cache.forward(q[:, :, :prompt], k[:, :, :prompt], v[:, :, :prompt], is_causal=True)]
    for t in range(prompt, total):
        ys.append(cache(q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1], is_causal=True))
    assert cache.length == total
    np.testing.assert_array_equal(cache.keys, k)
    np.testing.assert_array_equal(cache.values, v)
    close(np.concatenate(ys, axis=2), want, TOL[backend_name])
    # full: the call fails and the cache is unchanged
    with pytest.raises(mha.Error):
        cache(q[:, :, :1], k[:, :, :1], v[:, :, :1])
    assert cache.length == total
    cache.reset()
    assert cache.length == 0 and cache.keys.shape[2] == 0


def test_past_present_loop_equals_one_call(reference):
    B, Hq, Hkv, D, T = 1, 2, 1, 4, 6
    r = rng(12)
    q = r.standard_normal((B, Hq, T, D)).astype(np.float32)
    k = r.standard_normal((B, Hkv, T, D)).astype(np.float32)
    v = r.standard_normal((B, Hkv, T, D)).astype(np.float32)
    want = mha.attention(q, k, v, is_causal=True, backend=reference)[0]
    pk = np.zeros((B, Hkv, 0, D), np.float32)
    pv = np.zeros((B, Hkv, 0, D), np.float32)
    ys = []
    for t in range(T):
        y, pk, pv, _ = mha.attention(q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1],
                                     past_key=pk, past_value=pv, is_causal=True,
                                     backend=reference)
        ys.append(y)
    close(np.concatenate(ys, axis=2), want, TOL["reference"])
    np.testing.assert_array_equal(pk, k)


# ---- tests/data/attention_core: expected outputs from a float64 NumPy implementation ----

CORE_DATA = os.path.join(data_dir(), "attention_core")
CORE_CASES = sorted(d for d in os.listdir(CORE_DATA)
                    if os.path.isdir(os.path.join(CORE_DATA, d))) if os.path.isdir(
    CORE_DATA) else []
INPUT_FLAGS = {"--q": "Q", "--k": "K", "--v": "V", "--attn-mask": "attn_mask",
               "--past-key": "past_key", "--past-value": "past_value",
               "--nonpad-kv-seqlen": "nonpad_kv_seqlen"}
OUTPUT_FLAGS = {"--y": 0, "--present-key": 1, "--present-value": 2, "--qk-matmul-output": 3}
VALUE_FLAGS = {"--q-num-heads": ("q_num_heads", int), "--kv-num-heads": ("kv_num_heads", int),
               "--scale": ("scale", float), "--softcap": ("softcap", float),
               "--left-window-size": ("left_window_size", int),
               "--right-window-size": ("right_window_size", int),
               "--qk-matmul-output-mode": ("qk_matmul_output_mode", int),
               "--softmax-precision": ("softmax_precision", int)}


def parse_case(folder):
    """The call and the expected outputs of one case: args.txt holds the CLI flags of
    `mha attention`; input files are the case's .npy files, outputs expected_<name>.npy."""
    with open(os.path.join(folder, "args.txt")) as f:
        argv = shlex.split(f.read(), comments=True)
    kwargs, outputs, i = {}, {}, 0
    for flag in ("--plugin", "--device"):
        if flag in argv:
            j = argv.index(flag)
            del argv[j:j + 2]
    while i < len(argv):
        flag = argv[i]
        if flag == "--is-causal":
            kwargs["is_causal"] = True
            i += 1
            continue
        value = argv[i + 1]
        i += 2
        if flag in INPUT_FLAGS:
            kwargs[INPUT_FLAGS[flag]] = np.load(os.path.join(folder, os.path.basename(value)))
        elif flag in OUTPUT_FLAGS:
            name = os.path.basename(value)
            expected = name if name.startswith("expected_") else "expected_" + name
            outputs[OUTPUT_FLAGS[flag]] = np.load(os.path.join(folder, expected))
        elif flag in VALUE_FLAGS:
            key, conv = VALUE_FLAGS[flag]
            kwargs[key] = conv(value)
        else:
            raise AssertionError(f"{folder}: unknown flag {flag} in args.txt")
    for name, key in (("q.npy", "Q"), ("k.npy", "K"), ("v.npy", "V")):
        if key not in kwargs:
            kwargs[key] = np.load(os.path.join(folder, name))
    return kwargs, outputs


@pytest.mark.skipif(not CORE_CASES, reason=f"no expected data in {CORE_DATA} yet")
@pytest.mark.parametrize("case", CORE_CASES or ["none"])
def test_attention_core_expected_data(case, reference):
    kwargs, outputs = parse_case(os.path.join(CORE_DATA, case))
    assert 0 in outputs, "every case has an expected y"
    if 3 in outputs:
        kwargs["return_qk_matmul_output"] = True
    Q, K, V = kwargs.pop("Q"), kwargs.pop("K"), kwargs.pop("V")
    got = mha.attention(Q, K, V, backend=reference, **kwargs)
    tol = F16_TOL if Q.dtype == np.float16 else TOL["reference"]
    for index, expected in outputs.items():
        assert got[index].dtype == expected.dtype
        close(got[index], expected, tol)
