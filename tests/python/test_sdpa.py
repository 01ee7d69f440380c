"""mha.torch.scaled_dot_product_attention against a float64 NumPy oracle of PyTorch 2.x's
documented semantics (torch 1.13 has no SDPA to compare with).

Tolerance: float32 |a - b| <= 1e-5 + 1e-4 |b| on the reference plugin and 1e-4 + 1e-3 |b|
on OpenCL; float16 and bfloat16 storage 2e-3 + 4e-3 |b| and 2e-2 + 2e-2 |b| against the
oracle on the same (rounded) values.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed: torch tests skipped")
import mha  # noqa: E402
from mha.torch import scaled_dot_product_attention as sdpa  # noqa: E402
from conftest import opencl_backend  # noqa: E402
from oracle import sdpa as oracle  # noqa: E402

TOL = {"reference": (1e-5, 1e-4), "opencl": (1e-4, 1e-3)}
_ocl = opencl_backend()
BACKENDS = ["reference"] + (["opencl"] if _ocl is not None else [])


def close(a, b, tol):
    np.testing.assert_allclose(a.double().numpy(), b, atol=tol[0], rtol=tol[1])


def t(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).to(dtype)


def allowed(*shape, seed=9):
    g = torch.Generator().manual_seed(seed)
    m = torch.rand(*shape, generator=g) < 0.6
    m[..., 0] = True
    return m


def np_(x):
    return x.double().numpy() if x.is_floating_point() else x.numpy()


CASES = {
    "4d": dict(q=(2, 3, 5, 8), k=(2, 3, 7, 8), v=(2, 3, 7, 6)),
    "3d": dict(q=(2, 5, 8), k=(2, 7, 8), v=(2, 7, 8)),
    "2d": dict(q=(5, 8), k=(7, 8), v=(7, 4)),
    "5d": dict(q=(2, 2, 3, 5, 8), k=(2, 2, 3, 7, 8), v=(2, 2, 3, 7, 8)),
    "kv_broadcast": dict(q=(2, 3, 5, 8), k=(1, 3, 7, 8), v=(1, 3, 7, 8)),
    "causal_L_lt_S": dict(q=(2, 3, 4, 8), k=(2, 3, 7, 8), v=(2, 3, 7, 8), is_causal=True),
    "causal_L_gt_S": dict(q=(2, 3, 7, 8), k=(2, 3, 4, 8), v=(2, 3, 4, 8), is_causal=True),
    "bool_mask_2d": dict(q=(2, 3, 5, 8), k=(2, 3, 7, 8), v=(2, 3, 7, 8), mask=("bool", (5, 7))),
    "bool_mask_batch": dict(q=(2, 3, 5, 8), k=(2, 3, 7, 8), v=(2, 3, 7, 8),
                            mask=("bool", (2, 1, 5, 7))),
    "float_mask_3d_q": dict(q=(2, 5, 8), k=(2, 7, 8), v=(2, 7, 8), mask=("float", (2, 5, 7))),
    "float_mask_5d": dict(q=(2, 2, 3, 5, 8), k=(2, 2, 3, 7, 8), v=(2, 2, 3, 7, 8),
                          mask=("float", (2, 1, 1, 5, 7))),
    "mask_and_causal": dict(q=(2, 3, 5, 8), k=(2, 3, 5, 8), v=(2, 3, 5, 8),
                            mask=("float", (5, 5)), is_causal=True),
    "scale": dict(q=(2, 3, 5, 8), k=(2, 3, 7, 8), v=(2, 3, 7, 8), scale=0.7),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_sdpa_matches_the_oracle(case, backend):
    c = CASES[case]
    q, k, v = t(*c["q"], seed=1), t(*c["k"], seed=2), t(*c["v"], seed=3)
    mask = None
    if "mask" in c:
        kind, shape = c["mask"]
        mask = allowed(*shape) if kind == "bool" else t(*shape, seed=4)
    kw = dict(is_causal=c.get("is_causal", False), scale=c.get("scale"))
    with torch.no_grad():
        got = sdpa(q, k, v, attn_mask=mask, backend=backend, **kw)
    want = oracle(np_(q), np_(k), np_(v), None if mask is None else np_(mask), **kw)
    assert got.shape == want.shape and got.dtype == torch.float32
    close(got, want, TOL[backend])


def test_causal_is_top_left(reference):
    """L < S: query i sees keys j <= i (the first query sees key 0 only), as SDPA defines it;
    the core's offset is 0 without a cache, which is that."""
    q, k, v = t(1, 1, 2, 4, seed=1), t(1, 1, 5, 4, seed=2), t(1, 1, 5, 4, seed=3)
    got = sdpa(q, k, v, is_causal=True, backend=reference)
    close(got[0, 0, 0], v[0, 0, 0].double().numpy(), (1e-6, 0))


def test_gqa(reference):
    q, k, v = t(2, 6, 5, 8, seed=1), t(2, 2, 7, 8, seed=2), t(2, 2, 7, 8, seed=3)
    got = sdpa(q, k, v, enable_gqa=True, backend=reference)
    kr, vr = k.repeat_interleave(3, dim=1), v.repeat_interleave(3, dim=1)
    close(got, oracle(np_(q), np_(kr), np_(vr)), TOL["reference"])
    with pytest.raises(ValueError, match="enable_gqa"):
        sdpa(q, k, v, backend=reference)


@pytest.mark.parametrize("dtype,tol", [(torch.float16, (2e-3, 4e-3)),
                                       (torch.bfloat16, (2e-2, 2e-2))])
def test_half_storage(dtype, tol, reference):
    q, k, v = (t(2, 3, 5, 8, seed=s, dtype=dtype) for s in (1, 2, 3))
    got = sdpa(q, k, v, attn_mask=allowed(5, 5), backend=reference)
    assert got.dtype == dtype
    close(got.float(), oracle(np_(q), np_(k), np_(v), allowed(5, 5).numpy()), tol)


def test_float64_comes_back_as_float64(reference):
    q, k, v = (t(2, 5, 8, seed=s, dtype=torch.float64) for s in (1, 2, 3))
    got = sdpa(q, k, v, backend=reference)
    assert got.dtype == torch.float64
    close(got, oracle(np_(q), np_(k), np_(v)), TOL["reference"])


def test_fully_masked_row_is_zero(reference):
    q, k, v = (t(1, 2, 3, 4, seed=s) for s in (1, 2, 3))
    mask = torch.ones(3, 3, dtype=torch.bool)
    mask[1] = False
    got = sdpa(q, k, v, attn_mask=mask, backend=reference)
    assert torch.equal(got[:, :, 1], torch.zeros(1, 2, 4))


def test_dropout_and_grad_are_refused(reference):
    q = t(2, 5, 8)
    with pytest.raises(NotImplementedError, match="dropout"):
        sdpa(q, q, q, dropout_p=0.1, backend=reference)
    with pytest.raises(RuntimeError, match="inference only"):
        sdpa(q.clone().requires_grad_(), q, q, backend=reference)
    with torch.no_grad():
        sdpa(q.clone().requires_grad_(), q, q, backend=reference)


def test_int_mask_is_refused(reference):
    q = t(2, 5, 8)
    with pytest.raises(TypeError, match="ambiguous"):
        sdpa(q, q, q, attn_mask=torch.ones(5, 5, dtype=torch.int64), backend=reference)


def test_errors_are_mha_errors(reference):
    q, k = t(2, 5, 8), t(2, 7, 6)
    with pytest.raises(mha.Error) as info:
        sdpa(q, k, k, backend=reference)
    assert info.value.status == mha.STATUS_SHAPE_MISMATCH
