#!/usr/bin/python3
"""Checks oracle.py against onnx's own reference implementation (a dev tool, not CI).

Usage: /usr/bin/python3 tests/attention_core/check_oracle.py ONNX [N [SEED]] [--data DIR]
  ONNX: an onnx checkout (work tree) or its git directory (read at HEAD), e.g.
        /work/.mirror/onnx+onnx/repo. op_attention.py is read from it at run
        time; no onnx code is kept in this repository.
  N:    random configurations (default 3000), SEED (default 1).

Every configuration is drawn at random over every feature (3-D/4-D, GQA/MQA,
past, nonpad_kv_seqlen, causal, windows, bool/float masks of rank 1-4 with
broadcast dims and short last dims, fully masked rows, softcap, scale, the four
qk_matmul_output modes, Dv != D) and run three ways:
  f64:    the reference on the inputs cast to float64 vs the oracle's float64
          outputs (same semantics, rounding aside: expect ~1e-15);
  native: the reference in the inputs' own dtype vs the oracle's cast outputs
          (float32: a few ulps; float16: the reference computes in float16);
  up16:   float16 cases only: the reference on the float16 values cast to float32
          vs the oracle's float16 outputs (within one float16 rounding).
With --data DIR (tests/data/attention_core), every committed case is also
replayed through the reference in float32 arithmetic (float16 cases: on their
values cast to float32, the result rounded to float16 once), as a float32
implementation would compute it, and compared with the expected files under
npy_compare's tolerances: the worst |got - want| / allowed says how much room
those tolerances leave a correct float32 implementation.
Needs python3-numpy only (onnx itself is stubbed: the reference needs
onnx.helper.tensor_dtype_to_np_dtype and OpRun).

One deliberate difference: onnx main's reference takes the causal limit's rows
from the mask's shape, so with is_causal and a mask whose query dimension
broadcasts (rank 1, or size 1 there) it applies row 0's limit to every row, or
fails. The spec (and the oracle) apply causality per query row; for those
configurations the reference is given the mask with its query dimension
materialised to L, which is the same mask.
"""
import os
import subprocess
import sys
import types

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


def read_onnx_file(onnx_dir, path):
    if os.path.isfile(os.path.join(onnx_dir, path)):
        with open(os.path.join(onnx_dir, path)) as f:
            return f.read()
    return subprocess.run(["git", "--git-dir", onnx_dir, "show", "HEAD:" + path], check=True,
                          capture_output=True, text=True).stdout


def load_reference(onnx_dir):
    """onnx's _compute_attention, with a stub for the two onnx names it uses."""
    source = read_onnx_file(onnx_dir, "onnx/reference/ops/op_attention.py")
    stub = types.ModuleType("onnx")
    stub.helper = types.SimpleNamespace(tensor_dtype_to_np_dtype=lambda t: {
        1: np.float32, 10: np.float16, 11: np.float64}[t])
    op_run = types.ModuleType("onnx.reference.op_run")
    op_run.OpRun = object
    saved = {k: sys.modules.get(k) for k in ("onnx", "onnx.reference.op_run")}
    sys.modules["onnx"], sys.modules["onnx.reference.op_run"] = stub, op_run
    try:
        namespace = {"__name__": "op_attention"}
        exec(compile(source, "op_attention.py", "exec"), namespace)
    finally:
        for k, m in saved.items():
            if m is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = m
    return namespace["_compute_attention"]


def random_config(r):
    """One random call: (inputs dict, attributes dict, a short description)."""
    dtype = np.float16 if r.random() < 0.35 else np.float32
    B = int(r.integers(1, 4))
    Hkv = int(r.integers(1, 4))
    Hq = Hkv * int(r.choice([1, 1, 2, 3]))
    L = int(r.integers(1, 7))
    S = int(r.integers(1, 8))
    D = int(r.choice([1, 2, 4, 8, 16]))
    Dv = D if r.random() < 0.6 else int(r.choice([1, 3, 8]))
    three_d = r.random() < 0.25
    kind = r.choice(["none", "past", "nonpad"], p=[0.4, 0.3, 0.3])
    P = int(r.integers(0, 6)) if kind == "past" else 0
    T = P + S
    inputs = {
        "Q": r.standard_normal((B, Hq, L, D)).astype(dtype),
        "K": r.standard_normal((B, Hkv, S, D)).astype(dtype),
        "V": r.standard_normal((B, Hkv, S, Dv)).astype(dtype),
    }
    attrs = {}
    if kind == "past":
        inputs["past_key"] = r.standard_normal((B, Hkv, P, D)).astype(dtype)
        inputs["past_value"] = r.standard_normal((B, Hkv, P, Dv)).astype(dtype)
    if kind == "nonpad":
        inputs["nonpad_kv_seqlen"] = r.integers(0, T + 1, size=B).astype(np.int64)
    mask_kind = r.choice(["none", "bool", "float"], p=[0.3, 0.35, 0.35])
    if mask_kind != "none":
        mrank = int(r.integers(1, 5))
        full = (B, Hq, L, T)[4 - mrank:]
        shape = [d if r.random() < 0.6 else 1 for d in full[:-1]]
        width = T if r.random() < 0.6 else int(r.integers(1, T + 1))
        shape = tuple(shape) + (width,)
        if mask_kind == "bool":
            mask = r.random(shape) < r.choice([0.5, 0.8, 1.0])
            if r.random() < 0.3 and mask.ndim >= 2:         # an all-False row
                mask[..., 0, :] = False
        else:
            mdtype = dtype if r.random() < 0.7 else np.float32
            mask = (r.standard_normal(shape) * 2).astype(mdtype)
            if r.random() < 0.5:                            # -inf entries
                mask[r.random(shape) < 0.3] = -np.inf
            if r.random() < 0.2 and mask.ndim >= 2:         # an all -inf row
                mask[..., 0, :] = -np.inf
        inputs["attn_mask"] = mask
    if r.random() < 0.5:
        attrs["is_causal"] = 1
    if r.random() < 0.3:
        attrs["left_window_size"] = int(r.integers(-1, 5))
    if r.random() < 0.3:
        attrs["right_window_size"] = int(r.integers(-1, 4))
    if r.random() < 0.4:
        attrs["softcap"] = float(r.choice([0.0, 0.5, 1.0, 2.5, 10.0]))
    if r.random() < 0.3:
        attrs["scale"] = float(r.choice([0.1, 0.35, 1.0, 2.0]))
    attrs["qk_matmul_output_mode"] = int(r.integers(0, 4))
    if r.random() < 0.2:
        attrs["softmax_precision"] = 1
    if three_d:
        attrs["q_num_heads"], attrs["kv_num_heads"] = Hq, Hkv
        for name in ("Q", "K", "V"):
            x = inputs[name]
            inputs[name] = np.ascontiguousarray(x.transpose(0, 2, 1, 3)).reshape(
                B, x.shape[2], x.shape[1] * x.shape[3])
    desc = (f"{np.dtype(dtype).name} B{B} Hq{Hq} Hkv{Hkv} L{L} S{S} P{P} D{D} Dv{Dv} "
            f"{'3d ' if three_d else ''}{kind} mask={mask_kind}"
            f"{inputs['attn_mask'].shape if mask_kind != 'none' else ''} {attrs}")
    return inputs, attrs, desc


def reference_inputs(inputs, attrs, L, cast_to=None):
    """The inputs as the reference gets them: cast if asked, and with is_causal a
    mask whose query dimension broadcasts materialised to L (see the docstring)."""
    out = {}
    for name, x in inputs.items():
        if cast_to is not None and x.dtype.kind == "f":
            x = x.astype(cast_to)
        out[name] = x
    mask = out.get("attn_mask")
    if mask is not None and attrs.get("is_causal"):
        if mask.ndim == 1:
            mask = np.broadcast_to(mask, (L, mask.shape[0]))
        elif mask.shape[-2] == 1 and L > 1:
            mask = np.broadcast_to(mask, mask.shape[:-2] + (L, mask.shape[-1]))
        out["attn_mask"] = np.ascontiguousarray(mask)
    return out


def features_of(inputs, attrs):
    """The features one configuration exercises (for the report)."""
    q, k, mask = inputs["Q"], inputs["K"], inputs.get("attn_mask")
    hq = attrs.get("q_num_heads") or q.shape[1]
    hkv = attrs.get("kv_num_heads") or k.shape[1]
    past = inputs.get("past_key")
    T = (past.shape[2] if past is not None else 0) + k.shape[-2]
    logits = oracle.attention(**inputs, **{**attrs, "qk_matmul_output_mode": 2},
                              cast=False)[3]
    out = {
        "fp16": q.dtype == np.float16, "3d": q.ndim == 3, "gqa": hq != hkv,
        "past": past is not None, "nonpad": "nonpad_kv_seqlen" in inputs,
        "bool mask": mask is not None and mask.dtype == np.bool_,
        "float mask": mask is not None and mask.dtype != np.bool_,
        "short mask": mask is not None and mask.shape[-1] < T,
        "causal": bool(attrs.get("is_causal")),
        "window": attrs.get("left_window_size", -1) >= 0 or attrs.get("right_window_size", -1) >= 0,
        "softcap": attrs.get("softcap", 0) > 0, "scale": "scale" in attrs,
        "fully masked rows": bool(np.any(np.all(np.isneginf(logits), axis=-1))),
        "Dv!=D": inputs["V"].shape[-1] != k.shape[-1],
        f"qk mode {attrs['qk_matmul_output_mode']}": True,
    }
    return [name for name, on in out.items() if on]


def compare(got, want):
    """max |got - want| / (1 + |want|) over finite values, or inf when the
    non-finite patterns (NaN, +-inf) differ or the shapes do."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    if got.shape != want.shape:
        return np.inf
    fin = np.isfinite(want)
    if not np.array_equal(np.isfinite(got), fin) or not np.array_equal(
            np.isnan(got), np.isnan(want)) or not np.array_equal(got[~fin & ~np.isnan(want)],
                                                                 want[~fin & ~np.isnan(want)]):
        return np.inf
    if not fin.any():
        return 0.0
    return float(np.max(np.abs(got[fin] - want[fin]) / (1 + np.abs(want[fin]))))


TOLERANCE = {np.dtype(np.float32): (1e-5, 1e-5), np.dtype(np.float16): (2.0 ** -14, 2.0 ** -10)}
INPUTS = {"--q": "Q", "--k": "K", "--v": "V", "--attn-mask": "attn_mask",
          "--past-key": "past_key", "--past-value": "past_value",
          "--nonpad-kv-seqlen": "nonpad_kv_seqlen"}
OUTPUTS = {"--y": 0, "--present-key": 1, "--present-value": 2, "--qk-matmul-output": 3}
ATTRS = {"--q-num-heads": ("q_num_heads", int), "--kv-num-heads": ("kv_num_heads", int),
         "--scale": ("scale", float), "--softcap": ("softcap", float),
         "--left-window-size": ("left_window_size", int),
         "--right-window-size": ("right_window_size", int),
         "--qk-matmul-output-mode": ("qk_matmul_output_mode", int),
         "--softmax-precision": ("softmax_precision", int)}


def replay_cases(reference, data_dir):
    """The committed cases through the reference in float32 (see the docstring)."""
    worst, where, failures, count = 0.0, "", 0, 0
    for name in sorted(os.listdir(data_dir)):
        folder = os.path.join(data_dir, name)
        if not os.path.isfile(os.path.join(folder, "args.txt")):
            continue
        words = open(os.path.join(folder, "args.txt")).read().split()
        inputs, attrs, outputs, i = {}, {}, {}, 0
        while i < len(words):
            if words[i] == "--is-causal":
                attrs["is_causal"] = 1
                i += 1
                continue
            flag, value = words[i], words[i + 1]
            i += 2
            if flag in INPUTS:
                inputs[INPUTS[flag]] = np.load(os.path.join(folder, value))
            elif flag in OUTPUTS:
                outputs[OUTPUTS[flag]] = np.load(os.path.join(folder, "expected_" + value))
            else:
                attrs[ATTRS[flag][0]] = ATTRS[flag][1](value)
        dtype = inputs["Q"].dtype
        L = inputs["Q"].shape[1] if inputs["Q"].ndim == 3 else inputs["Q"].shape[2]
        got = reference(**reference_inputs(inputs, attrs, L, np.float32), **attrs)
        atol, rtol = TOLERANCE[dtype]
        count += 1
        for index, want in outputs.items():
            g = np.asarray(got[index]).astype(dtype).astype(np.float64)
            w = want.astype(np.float64)
            fin = np.isfinite(w)
            inf = np.isinf(w)
            if not (np.array_equal(np.isnan(g), np.isnan(w)) and np.array_equal(g[inf], w[inf])):
                ratio = np.inf
            else:
                ratio = float(np.max(np.abs(g[fin] - w[fin]) / (atol + rtol * np.abs(w[fin])),
                                     initial=0.0))
            if ratio > worst:
                worst, where = ratio, f"{name} output {index}"
            if ratio > 1:
                failures += 1
                print(f"REPLAY MISMATCH {name} output {index}: {ratio:.3g} x the tolerance")
    print(f"  replay   {count:5d} committed cases through the reference in float32: worst "
          f"|got-want|/allowed = {worst:.3g} ({where})")
    return failures


def main():
    args = sys.argv[1:]
    data_dir = None
    if "--data" in args:
        j = args.index("--data")
        data_dir = args[j + 1]
        del args[j:j + 2]
    onnx_dir = args[0]
    n = int(args[1]) if len(args) > 1 else 3000
    seed = int(args[2]) if len(args) > 2 else 1
    reference = load_reference(onnx_dir)
    r = np.random.default_rng(seed)
    names = ["Y", "present_key", "present_value", "qk_matmul_output"]
    limits = {"f64": 1e-12, "native32": 1e-5, "native16": 2e-2, "up16": 2.0 ** -10 + 1e-6}
    worst = {k: (0.0, "") for k in ("f64", "native32", "native16", "up16")}
    counts = {k: 0 for k in worst}
    failures = 0
    features = {}
    for index in range(n):
        inputs, attrs, desc = random_config(r)
        L = inputs["Q"].shape[1] if inputs["Q"].ndim == 3 else inputs["Q"].shape[2]
        dtype = inputs["Q"].dtype
        want64 = oracle.attention(**inputs, **attrs, cast=False)
        want = oracle.attention(**inputs, **attrs)
        a64 = {k: v for k, v in attrs.items() if k != "softmax_precision"}
        runs = [("f64", reference(**reference_inputs(inputs, attrs, L, np.float64), **a64),
                 want64)]
        runs.append(("native16" if dtype == np.float16 else "native32",
                     reference(**reference_inputs(inputs, attrs, L), **attrs), want))
        if dtype == np.float16:
            runs.append(("up16", reference(**reference_inputs(inputs, attrs, L, np.float32),
                                           **attrs), want))
        for how, got, expected in runs:
            counts[how] += 1
            for name, g, w in zip(names, got, expected):
                if how != "f64":
                    g = np.asarray(g).astype(dtype)  # up16: round the float32 result once
                d = compare(g, w)
                if d > worst[how][0]:
                    worst[how] = (d, f"{name}: {desc}")
                if d > limits[how]:
                    failures += 1
                    print(f"MISMATCH {how} config {index} {name}: {d:.3g} {desc}")
        for feature in features_of(inputs, attrs):
            features[feature] = features.get(feature, 0) + 1
    print(f"{n} random configurations (seed {seed}); features: "
          + ", ".join(f"{k} {v}" for k, v in features.items()))
    for how in worst:
        print(f"  {how:9s} {counts[how]:5d} runs, max |got-want|/(1+|want|) = {worst[how][0]:.3g}"
              f" (limit {limits[how]:.3g}){'  worst at ' + worst[how][1] if worst[how][1] else ''}")
    if data_dir is not None:
        failures += replay_cases(reference, data_dir)
    print(f"{failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
