#!/usr/bin/python3
"""Generate the PyTorch-checked test cases in tests/data/torch/.

Run from anywhere with Debian's python3 (torch 1.13, numpy):

    /usr/bin/python3 tests/torch/gen_expected.py [--out DIR]

For every case this script
  1. draws float32 inputs, weights and masks from a fixed per-case seed,
  2. computes the expected attn_output / attn_weights in float64 with
     `mha_reference` below, an independent vectorised statement of
     docs/semantics.md (including the Philox4x32-10 dropout stream of
     include/mha/philox.h),
  3. runs torch.nn.MultiheadAttention (module.double(), eval mode, the same
     weights) on the same data wherever torch's result is defined, and asserts
     that both agree to 1e-10. Where torch 1.13 cannot be compared directly the
     case says what was compared instead (see TorchCheck and README.md),
  4. writes the case folder: args.txt, weights/<state_dict key>.npy, query.npy,
     key.npy, value.npy, optional masks, expected_output.npy and (with
     need_weights) expected_weights.npy (float64).

The output is deterministic: re-running rewrites byte-identical files.
"""

import argparse
import math
import os
import shutil
import sys

import numpy as np
import torch

TORCH_ATOL = 1e-10

# --------------------------------------------------------------------------
# Philox4x32-10 (include/mha/philox.h), exact uint32 arithmetic in uint64.
# --------------------------------------------------------------------------
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


def philox4x32_10(counter, key):
    """counter: 4 arrays (or ints) of uint32 words; key: 2 ints. Returns 4 uint64 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & _MASK32 for c in counter)
    k0 = np.uint64(key[0]) & _MASK32
    k1 = np.uint64(key[1]) & _MASK32
    for rnd in range(10):
        if rnd > 0:
            k0 = (k0 + _W0) & _MASK32
            k1 = (k1 + _W1) & _MASK32
        p0 = _M0 * c0  # < 2^64: exact
        p1 = _M1 * c2
        hi0, lo0 = p0 >> _SHIFT32, p0 & _MASK32
        hi1, lo1 = p1 >> _SHIFT32, p1 & _MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def dropout_uniform(seed, idx):
    """u(seed, idx) of docs/semantics.md for an array of element indices (exact float64)."""
    idx = np.asarray(idx, dtype=np.uint64)
    block = idx >> np.uint64(2)
    key = (seed & 0xFFFFFFFF, seed >> 32)
    words = np.stack(philox4x32_10((block & _MASK32, block >> _SHIFT32, 0, 0), key))
    word = np.take_along_axis(words, (idx & np.uint64(3)).astype(np.int64)[None], axis=0)[0]
    return (word >> np.uint64(8)).astype(np.float64) * 2.0**-24


def check_philox_known_answers():
    """Random123's known-answer vectors for philox4x32_10."""
    kats = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for ctr, key, want in kats:
        got = tuple(int(w) for w in philox4x32_10(ctr, key))
        assert got == want, f"philox KAT failed: {[hex(g) for g in got]} != {[hex(w) for w in want]}"


# --------------------------------------------------------------------------
# The float64 statement of docs/semantics.md
# --------------------------------------------------------------------------
def mask_to_additive(mask):
    """bool mask -> 0 / -inf; float mask -> itself (float64)."""
    if mask.dtype == np.bool_:
        return np.where(mask, -np.inf, 0.0)
    return mask.astype(np.float64)


def causal_allowed(L, S, align):
    """(L, S) bool array, True where query l may see key j."""
    offset = 0 if align == "top-left" else S - L
    return np.arange(S)[None, :] <= np.arange(L)[:, None] + offset


def mha_reference(cfg, sd, query, key, value, attn_mask=None, key_padding_mask=None, causal=None,
                  need_weights=False, average=True, dropout_p=0.0, seed=0):
    """Returns (attn_output, attn_weights or None, fully_masked (N, H, L) bool), float64."""
    E, H = cfg["embed_dim"], cfg["num_heads"]
    D = E // H
    f64 = {k: v.astype(np.float64) for k, v in sd.items()}
    unbatched = query.ndim == 2
    q_in, k_in, v_in = (x.astype(np.float64) for x in (query, key, value))
    if unbatched:
        q_in, k_in, v_in = q_in[None], k_in[None], v_in[None]
    elif not cfg["batch_first"]:
        q_in, k_in, v_in = (x.transpose(1, 0, 2) for x in (q_in, k_in, v_in))
    N, L, _ = q_in.shape
    S = k_in.shape[1]

    # 1. projections
    if "in_proj_weight" in f64:
        Wq, Wk, Wv = np.split(f64["in_proj_weight"], 3, axis=0)
    else:
        Wq, Wk, Wv = f64["q_proj_weight"], f64["k_proj_weight"], f64["v_proj_weight"]
    if cfg["bias"]:
        bq, bk, bv = np.split(f64["in_proj_bias"], 3)
        bo = f64["out_proj.bias"]
    else:
        bq = bk = bv = bo = np.zeros(E)
    q = q_in @ Wq.T + bq
    k = k_in @ Wk.T + bk
    v = v_in @ Wv.T + bv
    # 2. extra key/value rows, never masked
    if cfg["add_bias_kv"]:
        k = np.concatenate([k, np.broadcast_to(f64["bias_k"].reshape(1, 1, E), (N, 1, E))], axis=1)
        v = np.concatenate([v, np.broadcast_to(f64["bias_v"].reshape(1, 1, E), (N, 1, E))], axis=1)
    if cfg["add_zero_attn"]:
        k = np.concatenate([k, np.zeros((N, 1, E))], axis=1)
        v = np.concatenate([v, np.zeros((N, 1, E))], axis=1)
    S1 = k.shape[1]
    qh = q.reshape(N, L, H, D).transpose(0, 2, 1, 3)
    kh = k.reshape(N, S1, H, D).transpose(0, 2, 1, 3)
    vh = v.reshape(N, S1, H, D).transpose(0, 2, 1, 3)

    # 3. scores
    scores = np.einsum("nhld,nhsd->nhls", qh, kh) * (1.0 / math.sqrt(D))
    # 4. masks, added; columns j >= S stay unmasked
    add = np.zeros((N, H, L, S))
    if attn_mask is not None:
        am = mask_to_additive(attn_mask)
        add = add + (am if am.ndim == 2 else am.reshape(N, H, L, S))
    if key_padding_mask is not None:
        kpm = mask_to_additive(key_padding_mask).reshape(N, S)
        add = add + kpm[:, None, None, :]
    if causal is not None:
        add = add + np.where(causal_allowed(L, S, causal), 0.0, -np.inf)
    scores[..., :S] += add

    # 5. softmax, max-subtracted; an all -inf row gives zero weights
    row_max = scores.max(axis=-1, keepdims=True)
    fully_masked = (row_max == -np.inf)[..., 0]
    e = np.exp(scores - np.where(row_max == -np.inf, 0.0, row_max))
    denom = e.sum(axis=-1, keepdims=True)
    w = np.where(denom > 0, e / np.where(denom > 0, denom, 1.0), 0.0)

    # 6. dropout (Philox stream); p is a float32 in mha_config
    if dropout_p > 0:
        p = float(np.float32(dropout_p))
        idx = np.arange(N * H * L * S1, dtype=np.uint64).reshape(N, H, L, S1)
        keep = dropout_uniform(seed, idx) >= p
        w = np.where(keep, w / (1.0 - p), 0.0)

    # 7. output
    o = np.einsum("nhls,nhsd->nhld", w, vh).transpose(0, 2, 1, 3).reshape(N, L, E)
    out = o @ f64["out_proj.weight"].T + bo
    if unbatched:
        out = out[0]
    elif not cfg["batch_first"]:
        out = out.transpose(1, 0, 2)
    weights = None
    if need_weights:
        weights = w.mean(axis=1) if average else w
        if unbatched:
            weights = weights[0]
    return out, weights, fully_masked


# --------------------------------------------------------------------------
# torch.nn.MultiheadAttention, float64, eval mode
# --------------------------------------------------------------------------
def torch_mha(cfg, sd, query, key, value, attn_mask, key_padding_mask, need_weights, average,
              self_attention):
    m = torch.nn.MultiheadAttention(cfg["embed_dim"], cfg["num_heads"], dropout=0.0,
                                    bias=cfg["bias"], add_bias_kv=cfg["add_bias_kv"],
                                    add_zero_attn=cfg["add_zero_attn"], kdim=cfg["kdim"],
                                    vdim=cfg["vdim"], batch_first=cfg["batch_first"])
    m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    m.double()
    m.eval()  # parameters require grad, so torch 1.13's fused fast path is not taken
    t = lambda x: None if x is None else torch.from_numpy(
        x.astype(np.float64) if x.dtype != np.bool_ else x)
    q = t(query)
    k, v = (q, q) if self_attention else (t(key), t(value))
    out, w = m(q, k, v, key_padding_mask=t(key_padding_mask), need_weights=need_weights,
               attn_mask=t(attn_mask), average_attn_weights=average)
    out = out.detach().numpy()
    w = None if w is None else w.detach().numpy()
    return out, w


def compare_with_nan_rows(name, what, ours, theirs, nan_rows):
    """theirs may be NaN exactly on the rows where ours is zero for a fully masked row.
    nan_rows: bool array broadcastable to ours.shape."""
    nan_rows = np.broadcast_to(nan_rows, ours.shape)
    theirs_nan = np.isnan(theirs)
    assert np.array_equal(theirs_nan, nan_rows), f"{name}: torch NaN pattern of {what} unexpected"
    assert not np.isnan(ours).any(), f"{name}: NaN in our {what}"
    diff = np.abs(ours[~nan_rows] - theirs[~nan_rows])
    err = float(diff.max()) if diff.size else 0.0
    assert err <= TORCH_ATOL, f"{name}: {what} differs from torch by {err:.3e}"
    return err


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
CASES = []


def case(name, **kw):
    CASES.append((name, kw))


def rng_for(name):
    # A stable per-case seed (not Python's randomised hash()).
    seed = 0
    for ch in name.encode():
        seed = (seed * 131 + ch) % (2**31 - 1)
    return np.random.default_rng(seed)


def make_state_dict(cfg, rng):
    """Random float32 weights with every state_dict key of the module (non-zero biases)."""
    m = torch.nn.MultiheadAttention(cfg["embed_dim"], cfg["num_heads"], bias=cfg["bias"],
                                    add_bias_kv=cfg["add_bias_kv"],
                                    add_zero_attn=cfg["add_zero_attn"], kdim=cfg["kdim"],
                                    vdim=cfg["vdim"], batch_first=cfg["batch_first"])
    sd = {}
    for k, v in m.state_dict().items():
        fan_in = v.shape[-1] if v.dim() == 2 else cfg["embed_dim"]
        scale = 1.0 / math.sqrt(fan_in)
        sd[k] = (rng.uniform(-1.0, 1.0, size=tuple(v.shape)) * scale * 1.5).astype(np.float32)
    return sd


def make_mask(rng, shape, kind, density=0.3):
    """kind 'bool' (True = masked; never a fully masked row) or 'float' (values in [-2, 2])."""
    if kind == "bool":
        m = rng.random(shape) < density
        m[..., 0] = False  # keep one key per row, fully masked rows have their own cases
        return m
    return rng.uniform(-2.0, 2.0, size=shape).astype(np.float32)


def build(name, E=8, H=2, L=4, S=5, N=2, kdim=None, vdim=None, batch_first=False, bias=True,
          add_bias_kv=False, add_zero_attn=False, unbatched=False, self_attention=False,
          attn_mask=None, kpm=None, causal=None, need_weights=False, average=True,
          dropout=0.0, seed=0, tweak=None, torch_check="native", note=""):
    """attn_mask: None | ('bool'|'float', '2d'|'3d'); kpm: None | 'bool'|'float'.
    tweak(data) may edit the drawn arrays (masks, weights) before anything is computed."""
    rng = rng_for(name)
    cfg = dict(embed_dim=E, num_heads=H, kdim=kdim, vdim=vdim, batch_first=batch_first,
               bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn)
    sd = make_state_dict(cfg, rng)
    kd, vd = kdim or E, vdim or E
    if self_attention:
        assert L == S and kd == E and vd == E
    lead = (lambda n, rows: (rows,)) if unbatched else (
        (lambda n, rows: (n, rows)) if batch_first else (lambda n, rows: (rows, n)))
    query = rng.standard_normal(lead(N, L) + (E,)).astype(np.float32)
    if self_attention:
        key = value = query
    else:
        key = rng.standard_normal(lead(N, S) + (kd,)).astype(np.float32)
        value = rng.standard_normal(lead(N, S) + (vd,)).astype(np.float32)
    am = None
    if attn_mask is not None:
        kind, rank = attn_mask
        shape = (L, S) if rank == "2d" else ((H, L, S) if unbatched else (N * H, L, S))
        am = make_mask(rng, shape, kind)
    pm = None
    if kpm is not None:
        pm = make_mask(rng, (S,) if unbatched else (N, S), kpm)
    data = dict(sd=sd, query=query, key=key, value=value, attn_mask=am, kpm=pm)
    if tweak is not None:
        tweak(data)
    return dict(name=name, cfg=cfg, unbatched=unbatched, self_attention=self_attention,
                causal=causal, need_weights=need_weights, average=average, dropout=dropout,
                seed=seed, torch_check=torch_check, note=note, **data)


def scale_logits_to(target):
    """tweak: scale the q block of the projection so that max |score| == target."""
    def tweak(d):
        d["scale_logits"] = target
    return tweak


def run_case(c):
    cfg, sd = c["cfg"], c["sd"]
    E, H = cfg["embed_dim"], cfg["num_heads"]
    if c.get("scale_logits"):
        # Scale Wq and bq so that the largest |score| is the target (scores are linear in them).
        f = c["scale_logits"] / max_abs_score(c)
        if "in_proj_weight" in sd:
            sd["in_proj_weight"][:E] = (sd["in_proj_weight"][:E] * f).astype(np.float32)
        else:
            sd["q_proj_weight"] = (sd["q_proj_weight"] * f).astype(np.float32)
        if cfg["bias"]:
            sd["in_proj_bias"][:E] = (sd["in_proj_bias"][:E] * f).astype(np.float32)
    kw = dict(attn_mask=c["attn_mask"], key_padding_mask=c["kpm"], causal=c["causal"],
              need_weights=c["need_weights"], average=c["average"])
    out, w, fully = mha_reference(cfg, sd, c["query"], c["key"], c["value"],
                                  dropout_p=c["dropout"], seed=c["seed"], **kw)

    # ---- cross-check with torch ----
    checks = []
    if c["dropout"] > 0:
        # torch's dropout RNG is not Philox: compare the no-dropout forward with torch, then
        # check that our dropped weights are exactly the eval weights times keep/(1-p).
        out_e, w_e, _ = mha_reference(cfg, sd, c["query"], c["key"], c["value"],
                                      **dict(kw, need_weights=True, average=False))
        err = torch_compare(c, out_e, w_e, fully, dict(kw, need_weights=True, average=False))
        checks.append(f"eval forward vs torch {err:.1e}")
        p = float(np.float32(c["dropout"]))
        _, w_d, _ = mha_reference(cfg, sd, c["query"], c["key"], c["value"], dropout_p=c["dropout"],
                                  seed=c["seed"], **dict(kw, need_weights=True, average=False))
        w_e4 = w_e[None] if c["unbatched"] else w_e
        w_d4 = w_d[None] if c["unbatched"] else w_d
        idx = np.arange(w_e4.size, dtype=np.uint64).reshape(w_e4.shape)
        keep = dropout_uniform(c["seed"], idx) >= p
        assert np.allclose(w_d4, np.where(keep, w_e4 / (1 - p), 0.0), rtol=0, atol=1e-15)
        frac = 1.0 - keep.mean()
        checks.append(f"dropped {frac:.2f}")
    else:
        err = torch_compare(c, out, w, fully, kw)
        checks.append(f"torch {c['torch_check']} {err:.1e}")
    return out, w, fully, "; ".join(checks)


def max_abs_score(c):
    """Largest |score| over every (n, h, l, j) of the case (no masks, no extra columns)."""
    cfg, sd = c["cfg"], c["sd"]
    E, H = cfg["embed_dim"], cfg["num_heads"]
    D = E // H
    q, k = (x.astype(np.float64) for x in (c["query"], c["key"]))
    if c["unbatched"]:
        q, k = q[None], k[None]
    elif not cfg["batch_first"]:
        q, k = q.transpose(1, 0, 2), k.transpose(1, 0, 2)
    Wq, Wk = (np.split(sd["in_proj_weight"].astype(np.float64), 3)[:2] if "in_proj_weight" in sd
              else (sd["q_proj_weight"].astype(np.float64), sd["k_proj_weight"].astype(np.float64)))
    bq, bk = (np.split(sd["in_proj_bias"].astype(np.float64), 3)[:2] if cfg["bias"]
              else (np.zeros(E), np.zeros(E)))
    qp = (q @ Wq.T + bq).reshape(q.shape[0], q.shape[1], H, D)
    kp = (k @ Wk.T + bk).reshape(k.shape[0], k.shape[1], H, D)
    return float(np.abs(np.einsum("nlhd,nshd->nhls", qp, kp)).max() / math.sqrt(D))


def torch_compare(c, out, w, fully, kw):
    """Runs torch on the case (see torch_check modes) and compares; returns the max error."""
    cfg = c["cfg"]
    H = cfg["num_heads"]
    am, pm, causal = kw["attn_mask"], kw["key_padding_mask"], kw["causal"]
    L = c["query"].shape[0 if c["unbatched"] or not cfg["batch_first"] else 1]
    S = c["key"].shape[0 if c["unbatched"] or not cfg["batch_first"] else 1]
    t_am, t_pm = am, pm
    if causal is not None:
        # (c) torch 1.13 has no is_causal in MHA: pass the explicit causal bool mask,
        # combined with the attn_mask (torch pads it with zeros for the extra columns).
        banned = ~causal_allowed(L, S, causal)
        if am is None:
            t_am = banned
        elif am.dtype == np.bool_:
            t_am = am | banned
        else:
            t_am = np.where(banned, -np.inf, am.astype(np.float64))
    if c["torch_check"] == "premerged":
        # (a) torch 1.13 mishandles a float key_padding_mask with an attn_mask (logical_or /
        # masked_fill with a float mask): hand it the 2.x-merged float mask in 3-D form.
        N = 1 if c["unbatched"] else c["query"].shape[0 if cfg["batch_first"] else 1]
        merged = np.zeros((N, H, L, S))
        if t_am is not None:
            a = mask_to_additive(t_am)
            merged += a if a.ndim == 2 else a.reshape(N, H, L, S)
        if t_pm is not None:
            merged += mask_to_additive(t_pm).reshape(N, 1, 1, S)
        t_am = merged.reshape(H, L, S) if c["unbatched"] else merged.reshape(N * H, L, S)
        t_pm = None
    t_out, t_w = torch_mha(cfg, c["sd"], c["query"], c["key"], c["value"], t_am, t_pm,
                           kw["need_weights"], kw["average"], c["self_attention"])
    # (b) torch gives NaN on fully masked rows (our rule: zero weights, output = out_proj.bias).
    # fully: (N, H, L). The output row (n, l) is NaN when any head's row is fully masked.
    any_head = fully.any(axis=1)  # (N, L)
    if c["unbatched"]:
        out_nan = any_head[0][:, None]
    elif cfg["batch_first"]:
        out_nan = any_head[:, :, None]
    else:
        out_nan = any_head.T[:, :, None]
    err = compare_with_nan_rows(c["name"], "output", out, t_out, out_nan)
    if kw["need_weights"]:
        if kw["average"]:
            w_nan = any_head[..., None]
        else:
            w_nan = fully[..., None]
        if c["unbatched"]:
            w_nan = w_nan[0]
        err = max(err, compare_with_nan_rows(c["name"], "weights", w, t_w, w_nan))
    return err


def args_line(c):
    cfg = c["cfg"]
    a = ["--embed-dim", str(cfg["embed_dim"]), "--num-heads", str(cfg["num_heads"])]
    if cfg["kdim"]:
        a += ["--kdim", str(cfg["kdim"])]
    if cfg["vdim"]:
        a += ["--vdim", str(cfg["vdim"])]
    for flag, key in (("--batch-first", "batch_first"), ("--add-bias-kv", "add_bias_kv"),
                      ("--add-zero-attn", "add_zero_attn")):
        if cfg[key]:
            a.append(flag)
    if not cfg["bias"]:
        a.append("--no-bias")
    a += ["--weights", "weights", "--query", "query.npy", "--key", "key.npy",
          "--value", "value.npy"]
    if c["attn_mask"] is not None:
        a += ["--attn-mask", "attn_mask.npy"]
    if c["kpm"] is not None:
        a += ["--key-padding-mask", "key_padding_mask.npy"]
    if c["causal"] is not None:
        a += ["--causal", "--causal-align", c["causal"]]
    if c["need_weights"]:
        a.append("--need-weights")
        if not c["average"]:
            a.append("--no-average-weights")
    if c["dropout"] > 0:
        a += ["--dropout", repr(c["dropout"]), "--seed", str(c["seed"])]
    return " ".join(a)


def save(path, arr):
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)


def write_case(root, c, out, w):
    d = os.path.join(root, c["name"])
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "weights"))
    with open(os.path.join(d, "args.txt"), "w") as f:
        f.write(args_line(c) + "\n")
    for k in sorted(c["sd"]):
        save(os.path.join(d, "weights", f"{k}.npy"), c["sd"][k].astype(np.float32))
    for k in ("query", "key", "value"):
        save(os.path.join(d, f"{k}.npy"), c[k].astype(np.float32))
    for k, fname in (("attn_mask", "attn_mask.npy"), ("kpm", "key_padding_mask.npy")):
        m = c[k]
        if m is not None:
            save(os.path.join(d, fname), m if m.dtype == np.bool_ else m.astype(np.float32))
    save(os.path.join(d, "expected_output.npy"), out.astype("<f8"))
    if w is not None:
        save(os.path.join(d, "expected_weights.npy"), w.astype("<f8"))
    return sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(d) for fn in fns)


def define_cases():
    B = build
    def neg_inf_entries(d):
        # a few -inf entries (never a whole row) in a float attn_mask
        am = d["attn_mask"]
        am[..., 1, 2] = -np.inf
        am[..., 3, 0] = -np.inf

    def mask_batch1_keys(d):
        d["kpm"][1, :] = True

    def mask_attn_row(d):
        d["attn_mask"][2, :] = True

    def float_row_neg_inf(d):
        d["attn_mask"][1, :] = -np.inf

    return [
        B("default_layout", E=8, H=2, L=4, S=6, N=2),
        B("batch_first", E=8, H=2, L=5, S=6, N=3, batch_first=True),
        B("unbatched", E=8, H=2, L=5, S=6, unbatched=True, need_weights=True),
        B("unbatched_kpm", E=8, H=2, L=5, S=6, unbatched=True, kpm="bool", need_weights=True),
        B("unbatched_attn_mask_2d", E=8, H=2, L=5, S=6, unbatched=True, attn_mask=("float", "2d"),
          need_weights=True),
        B("unbatched_attn_mask_3d", E=8, H=2, L=5, S=6, unbatched=True, attn_mask=("bool", "3d"),
          need_weights=True, average=False),
        B("kdim_vdim", E=8, H=2, L=4, S=6, N=2, kdim=5, vdim=3),
        B("kdim_only", E=8, H=2, L=4, S=6, N=2, kdim=6, batch_first=True),
        B("no_bias", E=8, H=2, L=4, S=6, N=2, bias=False),
        B("add_bias_kv", E=8, H=2, L=4, S=5, N=2, add_bias_kv=True, need_weights=True),
        B("add_zero_attn", E=8, H=2, L=4, S=5, N=2, add_zero_attn=True, need_weights=True),
        B("bias_kv_zero_attn", E=8, H=2, L=4, S=5, N=2, add_bias_kv=True, add_zero_attn=True,
          attn_mask=("bool", "3d"), kpm="bool", need_weights=True, average=False),
        B("bool_attn_mask_2d", E=8, H=2, L=5, S=6, N=2, attn_mask=("bool", "2d")),
        B("bool_attn_mask_3d", E=8, H=2, L=5, S=6, N=2, attn_mask=("bool", "3d")),
        B("float_attn_mask_2d", E=8, H=2, L=5, S=6, N=2, attn_mask=("float", "2d")),
        B("float_attn_mask_3d", E=8, H=2, L=5, S=6, N=2, attn_mask=("float", "3d"),
          tweak=neg_inf_entries, need_weights=True, average=False),
        B("bool_kpm", E=8, H=2, L=5, S=6, N=3, kpm="bool"),
        B("float_kpm", E=8, H=2, L=5, S=6, N=3, kpm="float", batch_first=True),
        B("bool_attn_bool_kpm", E=8, H=2, L=5, S=6, N=2, attn_mask=("bool", "3d"), kpm="bool",
          need_weights=True),
        B("bool_attn_float_kpm", E=8, H=2, L=5, S=6, N=2, attn_mask=("bool", "2d"), kpm="float",
          need_weights=True, torch_check="premerged"),
        B("float_attn_bool_kpm", E=8, H=2, L=5, S=6, N=2, attn_mask=("float", "2d"), kpm="bool",
          need_weights=True),
        B("float_attn_float_kpm", E=8, H=2, L=5, S=6, N=2, attn_mask=("float", "3d"), kpm="float",
          need_weights=True, average=False, torch_check="premerged"),
        B("causal_top_left", E=8, H=2, L=6, S=6, N=2, self_attention=True, causal="top-left",
          need_weights=True),
        B("causal_bottom_right", E=8, H=2, L=3, S=7, N=2, causal="bottom-right",
          need_weights=True, average=False),
        B("causal_kpm", E=8, H=2, L=5, S=7, N=2, causal="top-left", kpm="bool",
          attn_mask=("float", "2d"), need_weights=True),
        B("causal_bottom_right_extra_cols", E=8, H=2, L=6, S=4, N=2, causal="bottom-right",
          add_bias_kv=True, add_zero_attn=True, need_weights=True, average=False),
        B("causal_bottom_right_fully_masked", E=8, H=2, L=6, S=4, N=2, causal="bottom-right",
          need_weights=True),
        B("need_weights_avg", E=8, H=2, L=4, S=6, N=2, need_weights=True),
        B("need_weights_per_head", E=12, H=3, L=4, S=6, N=2, need_weights=True, average=False,
          batch_first=True),
        B("need_weights_masks", E=8, H=4, L=5, S=6, N=2, attn_mask=("float", "3d"), kpm="bool",
          need_weights=True, average=False),
        B("fully_masked_kpm", E=8, H=2, L=4, S=5, N=3, kpm="bool", tweak=mask_batch1_keys,
          need_weights=True, average=False),
        B("fully_masked_attn_row", E=8, H=2, L=4, S=5, N=2, attn_mask=("bool", "2d"),
          tweak=mask_attn_row, need_weights=True),
        B("fully_masked_float_row", E=8, H=2, L=4, S=5, N=2, attn_mask=("float", "2d"),
          tweak=float_row_neg_inf, need_weights=True, average=False),
        B("odd_sizes", E=15, H=5, L=7, S=5, N=3, need_weights=True, average=False,
          kpm="bool", attn_mask=("float", "2d")),
        B("one_head", E=6, H=1, L=4, S=5, N=2, need_weights=True),
        B("single_query", E=8, H=2, L=1, S=6, N=2, need_weights=True),
        B("single_key", E=8, H=2, L=5, S=1, N=2, need_weights=True),
        B("large_logits", E=8, H=2, L=5, S=6, N=2, need_weights=True, average=False,
          tweak=scale_logits_to(80.0)),
        B("cross_attention", E=16, H=4, L=3, S=9, N=2, need_weights=True),
        B("self_attention", E=8, H=2, L=6, S=6, N=2, self_attention=True, batch_first=True,
          need_weights=True),
        B("dropout", E=8, H=2, L=4, S=6, N=2, need_weights=True, average=False, dropout=0.3,
          seed=1234),
        B("dropout_masks", E=8, H=2, L=5, S=6, N=2, batch_first=True, add_bias_kv=True,
          attn_mask=("float", "2d"), kpm="bool", causal="bottom-right", need_weights=True,
          dropout=0.3, seed=0x0123456789ABCDEF),
        B("dropout_unbatched", E=8, H=2, L=4, S=5, unbatched=True, need_weights=True,
          average=False, dropout=0.3, seed=7),
    ]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "data", "torch"))
    args = ap.parse_args()
    root = os.path.normpath(args.out)

    torch.manual_seed(0)
    torch.set_grad_enabled(True)
    check_philox_known_answers()
    cases = define_cases()
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names)
    os.makedirs(root, exist_ok=True)
    # Remove case folders of cases that no longer exist (README.md and other files stay).
    for entry in sorted(os.listdir(root)):
        p = os.path.join(root, entry)
        if os.path.isdir(p) and entry not in names:
            shutil.rmtree(p)
    total = 0
    print(f"torch {torch.__version__}, numpy {np.__version__}; writing {len(cases)} cases to {root}")
    for c in cases:
        out, w, fully, checks = run_case(c)
        size = write_case(root, c, out, w)
        total += size
        nfm = int(fully.sum())
        print(f"  {c['name']:34s} {size:6d} B  {checks}"
              + (f"; {nfm} fully masked (n,h,l) rows" if nfm else ""))
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
