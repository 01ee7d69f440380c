"""mha.torch.MultiheadAttention against real torch.nn.MultiheadAttention modules.

Tolerance: outputs and weights within atol 1e-5 + rtol 1e-4 of torch's on the reference
plugin (double accumulation against torch's float32), atol 1e-4 + rtol 1e-3 on OpenCL
(float32 accumulation) - the same as tests/torch's replayed cases. Masks are generated with
key 0 always allowed: torch 1.13 returns NaN for a fully masked row where mha returns zero
weights (tested on its own below).
"""
import copy
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is not installed: torch tests skipped")
import mha  # noqa: E402
import mha.torch  # noqa: E402
from conftest import opencl_backend  # noqa: E402

TOL = {"reference": (1e-5, 1e-4), "opencl": (1e-4, 1e-3)}
_ocl = opencl_backend()
BACKENDS = ["reference"] + (["opencl"] if _ocl is not None else [])
E, H, L, S, N = 16, 4, 5, 7, 3


def close(a, b, tol):
    assert a.shape == b.shape, (a.shape, b.shape)
    torch.testing.assert_close(a.double(), b.double(), atol=tol[0], rtol=tol[1],
                               equal_nan=False)


def make_module(seed=0, **kw):
    torch.manual_seed(seed)
    m = torch.nn.MultiheadAttention(E, H, **kw)
    with torch.no_grad():  # non-zero biases so that bias paths are exercised
        for name, p in m.named_parameters():
            if "bias" in name:
                p.normal_()
    return m.eval()


def inputs(batch_first=False, unbatched=False, kdim=E, vdim=E, seed=1):
    g = torch.Generator().manual_seed(seed)
    if unbatched:
        shapes = (L, E), (S, kdim), (S, vdim)
    elif batch_first:
        shapes = (N, L, E), (N, S, kdim), (N, S, vdim)
    else:
        shapes = (L, N, E), (S, N, kdim), (S, N, vdim)
    return [torch.randn(*s, generator=g) for s in shapes]


def masks(kind, unbatched=False, seed=2):
    """attn_mask or key_padding_mask of a kind; key 0 always allowed."""
    g = torch.Generator().manual_seed(seed)
    if kind.startswith("kpm"):
        shape = (S,) if unbatched else (N, S)
    elif kind.endswith("3d"):
        shape = (N * H, L, S)
    else:
        shape = (L, S)
    allowed = torch.rand(*shape, generator=g) < 0.6
    allowed[..., 0] = True
    if "bool" in kind:
        return ~allowed  # torch MHA: True = not allowed
    if "uint8" in kind:
        return (~allowed).to(torch.uint8)
    return torch.where(allowed, torch.randn(*shape, generator=g), torch.tensor(-float("inf")))


def run_both(theirs, ours, q, k, v, **kw):
    with torch.no_grad():
        want = theirs(q, k, v, **kw)
        got = ours(q, k, v, **kw)
    return got, want


def compare(got, want, tol):
    close(got[0], want[0], tol)
    if want[1] is None:
        assert got[1] is None
    else:
        close(got[1], want[1], tol)


# A float key_padding_mask with an attn_mask is compared on its own below (torch 1.13 gets
# that merge wrong).
MASK_KINDS = [None, "attn_bool_2d", "attn_float_2d", "attn_bool_3d", "attn_float_3d",
              "attn_uint8_2d", "kpm_bool", "kpm_float", "kpm_uint8",
              ("kpm_bool", "attn_float_2d"), ("kpm_bool", "attn_bool_3d"),
              ("kpm_uint8", "attn_float_3d")]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kinds", MASK_KINDS, ids=str)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_masks(backend, kinds, need_weights, average):
    theirs = make_module()
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=backend)
    q, k, v = inputs()
    kw = dict(need_weights=need_weights, average_attn_weights=average)
    kw_torch = dict(kw)
    for kind in (kinds if isinstance(kinds, tuple) else (kinds,)):
        if kind is None:
            continue
        name = "key_padding_mask" if kind.startswith("kpm") else "attn_mask"
        kw[name] = kw_torch[name] = masks(kind)
        if "uint8" in kind:  # torch 1.13 refuses uint8 masks; mha reads them as bool
            kw_torch[name] = kw[name].bool()
    with torch.no_grad():
        compare(ours(q, k, v, **kw), theirs(q, k, v, **kw_torch), TOL[backend])


@pytest.mark.parametrize("attn_kind", ["attn_float_2d", "attn_bool_2d"])
def test_float_padding_mask_with_an_attn_mask(reference, attn_kind):
    """torch 1.13 mishandles a float key_padding_mask combined with an attn_mask (with a
    float attn_mask it does not add them; with a bool one it reads the float mask as bool),
    so this combination is compared with torch given the merged float mask as its one
    attn_mask: PyTorch 2.x's rule, the two masks merge additively."""
    theirs = make_module()
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
    q, k, v = inputs()
    kpm, am = masks("kpm_float"), masks(attn_kind, seed=3)
    am_float = am if am.is_floating_point() else torch.zeros(L, S).masked_fill(am, -float("inf"))
    merged = am_float.view(1, 1, L, S) + kpm.view(N, 1, 1, S)
    merged = merged.expand(N, H, L, S).reshape(N * H, L, S)
    with torch.no_grad():
        got = ours(q, k, v, key_padding_mask=kpm, attn_mask=am)
        want = theirs(q, k, v, attn_mask=merged)
    compare(got, want, TOL["reference"])


CONFIGS = {
    "kdim_vdim": dict(module=dict(kdim=6, vdim=10), inputs=dict(kdim=6, vdim=10)),
    "batch_first": dict(module=dict(batch_first=True), inputs=dict(batch_first=True)),
    "unbatched": dict(inputs=dict(unbatched=True), unbatched=True),
    "no_bias": dict(module=dict(bias=False)),
    "bias_kv": dict(module=dict(add_bias_kv=True)),
    "zero_attn": dict(module=dict(add_zero_attn=True)),
    "bias_kv_zero_attn_kdim": dict(module=dict(add_bias_kv=True, add_zero_attn=True, kdim=6,
                                               vdim=6), inputs=dict(kdim=6, vdim=6)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("mask", [None, "attn_bool_2d", "kpm_bool"])
@pytest.mark.parametrize("average", [True, False])
def test_configurations(backend, config, mask, average):
    c = CONFIGS[config]
    theirs = make_module(**c.get("module", {}))
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=backend)
    q, k, v = inputs(**c.get("inputs", {}))
    kw = dict(average_attn_weights=average)
    if mask is not None:
        kw["key_padding_mask" if mask.startswith("kpm") else "attn_mask"] = masks(
            mask, unbatched=c.get("unbatched", False))
    got, want = run_both(theirs, ours, q, k, v, **kw)
    compare(got, want, TOL[backend])


def test_self_attention_fast_path_inputs(reference):
    """One tensor as query, key and value, batch_first, eval, no grad: torch 1.13 takes its
    fused fast path here; the results agree all the same."""
    theirs = make_module(batch_first=True)
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
    x = torch.randn(N, L, E)
    got, want = run_both(theirs, ours, x, x, x, need_weights=False)
    compare(got, want, TOL["reference"])


def test_is_causal(reference):
    theirs = make_module()
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
    q, k, v = inputs()
    causal = torch.triu(torch.ones(L, S, dtype=torch.bool), diagonal=1)  # True = masked
    with torch.no_grad():
        want = theirs(q, k, v, attn_mask=causal)
        got_hint = ours(q, k, v, attn_mask=causal, is_causal=True)
        got_plain = ours(q, k, v, is_causal=True)  # no mask: top-left causal (mha's extension)
    compare(got_hint, want, TOL["reference"])
    compare(got_plain, want, TOL["reference"])


def test_fully_masked_row_gives_zero_weights_and_the_output_bias(reference):
    theirs = make_module()
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
    q, k, v = inputs()
    am = torch.zeros(L, S, dtype=torch.bool)
    am[2] = True
    with torch.no_grad():
        out, w = ours(q, k, v, attn_mask=am)
    assert torch.isfinite(out).all()
    assert torch.equal(w[:, 2], torch.zeros(N, S))
    close(out[2], theirs.out_proj.bias.detach().expand(N, E), (1e-6, 0))


def test_weights_changed_after_creation_are_picked_up(reference):
    theirs = make_module()
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
    q, k, v = inputs()
    with torch.no_grad():
        before = ours(q, k, v)[0]
        first = ours._mha_object
        assert ours(q, k, v)[0].equal(before) and ours._mha_object is first  # no re-upload
        ours.out_proj.weight.mul_(2)  # in place
        theirs.out_proj.weight.mul_(2)
        compare(ours(q, k, v), theirs(q, k, v), TOL["reference"])
        assert ours._mha_object is not first
        ours.in_proj_bias = torch.nn.Parameter(torch.zeros(3 * E))  # a new Parameter
        theirs.in_proj_bias = torch.nn.Parameter(torch.zeros(3 * E))
        compare(ours(q, k, v), theirs(q, k, v), TOL["reference"])
        other = make_module(seed=5)
        ours.load_state_dict(other.state_dict())
        compare(ours(q, k, v), other(q, k, v), TOL["reference"])
        ours.out_proj.bias.data.add_(1)  # .data bypasses the version counter: refresh()
        other.out_proj.bias.add_(1)
        ours.refresh()
        compare(ours(q, k, v), other(q, k, v), TOL["reference"])


def test_constructor_matches_torch_and_state_dict_round_trips(reference):
    torch.manual_seed(4)
    ours = mha.torch.MultiheadAttention(E, H, kdim=6, vdim=10, add_bias_kv=True,
                                        backend=reference)
    theirs = torch.nn.MultiheadAttention(E, H, kdim=6, vdim=10, add_bias_kv=True).eval()
    assert isinstance(ours, torch.nn.MultiheadAttention)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    theirs.load_state_dict(ours.state_dict())
    q, k, v = inputs(kdim=6, vdim=10)
    compare(*run_both(theirs, ours.eval(), q, k, v), TOL["reference"])
    clone = copy.deepcopy(ours)  # deepcopy/pickle keep the backend by its spec
    compare(*run_both(theirs, clone, q, k, v), TOL["reference"])
    assert clone.backend.spec == ours.backend.spec


def test_inference_only(reference):
    theirs = make_module()
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
    q, k, v = inputs()
    with pytest.raises(RuntimeError, match="inference only"):
        ours(q, k, v)  # parameters require grad and grad mode is on
    with torch.inference_mode():
        ours(q, k, v)
    ours.requires_grad_(False)
    ours(q, k, v)  # nothing requires grad: fine with grad mode on
    with pytest.raises(RuntimeError, match="inference only"):
        ours(q.requires_grad_(), k, v)


def test_dtypes_devices_and_layouts(reference):
    theirs = make_module()
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
    q, k, v = inputs()
    with torch.no_grad():
        want = theirs(q, k, v)
        got64 = ours(q.double(), k.double(), v.double())
        assert got64[0].dtype == torch.float64 and got64[1].dtype == torch.float64
        compare(got64, want, TOL["reference"])
        # a non-contiguous query (a transposed batch_first tensor) is copied once
        qt = q.transpose(0, 1).contiguous().transpose(0, 1)
        assert not qt.is_contiguous()
        compare(ours(qt, k, v), want, TOL["reference"])
        theirs64 = copy.deepcopy(theirs).double()
        ours64 = mha.torch.MultiheadAttention.from_torch(theirs64, backend=reference)
        compare(ours64(q.double(), k.double(), v.double()),
                theirs64(q.double(), k.double(), v.double()), TOL["reference"])


def test_int_masks_are_refused(reference):
    ours = mha.torch.MultiheadAttention.from_torch(make_module(), backend=reference)
    q, k, v = inputs()
    with torch.no_grad(), pytest.raises(TypeError, match="ambiguous"):
        ours(q, k, v, attn_mask=torch.zeros(L, S, dtype=torch.int32))


def test_errors_are_mha_errors(reference):
    ours = mha.torch.MultiheadAttention.from_torch(make_module(), backend=reference)
    q, k, v = inputs()
    with torch.no_grad(), pytest.raises(mha.Error) as info:
        ours(q, k[:-1], v)
    assert info.value.status == mha.STATUS_SHAPE_MISMATCH


def test_training_dropout_is_seeded_by_torch(reference):
    theirs = make_module()
    theirs.dropout = 0.5
    ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference).train()
    ours.requires_grad_(False)
    q, k, v = inputs()
    torch.manual_seed(9)
    a = ours(q, k, v)[1]
    torch.manual_seed(9)
    b = ours(q, k, v)[1]
    c = ours(q, k, v)[1]
    assert torch.equal(a, b) and not torch.equal(b, c)
    ours.eval()
    compare(ours(q, k, v), theirs.eval()(q, k, v), TOL["reference"])


def test_all_configuration_flags_are_taken_by_from_torch(reference):
    for bias, bias_kv, zero, bf in itertools.product([True, False], repeat=4):
        theirs = torch.nn.MultiheadAttention(E, H, bias=bias, add_bias_kv=bias_kv,
                                             add_zero_attn=zero, batch_first=bf)
        ours = mha.torch.MultiheadAttention.from_torch(theirs, backend=reference)
        assert (ours.in_proj_bias is None) == (not bias)
        assert (ours.bias_k is None) == (not bias_kv)
        assert ours.add_zero_attn == zero and ours.batch_first == bf
