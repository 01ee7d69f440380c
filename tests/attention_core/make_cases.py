#!/usr/bin/python3
"""Writes the expected data of tests/data/attention_core from oracle.py.

Usage: /usr/bin/python3 tests/attention_core/make_cases.py [--check] [OUT_DIR]
  OUT_DIR defaults to tests/data/attention_core. Each case folder is rewritten
  (case folders no longer listed here are removed); --check regenerates into a
  temporary folder and compares byte for byte with OUT_DIR instead (exit 1 on
  any difference). Deterministic: every case draws from its own generator,
  seeded from its name.

A case folder holds
  q.npy k.npy v.npy [attn_mask.npy past_key.npy past_value.npy nonpad_kv_seqlen.npy]
  expected_y.npy [expected_present_key.npy expected_present_value.npy
                  expected_qk_matmul_output.npy]
  args.txt: one line, the `mha attention` flags of the case. Files are named by
  their bare names (inputs are the case's own files; output names are what the
  runner writes, each compared with expected_<name>), so the line is also what
  tests/python/test_core.py replays. The files present and the names in the
  line always agree (run_cases.sh checks it).
Needs Python 3 and NumPy only.
"""
import filecmp
import os
import shutil
import sys
import tempfile
import zlib

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

F32, F16 = np.float32, np.float16
INF = np.inf

# ---- Mask helpers: each takes the generator and the full mask shape (.., T) and
# may use only part of it (short masks take a width).


def bool_mask(shape, p=0.7, full_rows=()):
    """A random bool mask (True = attend), rows listed in full_rows all False."""
    def make(r):
        m = r.random(shape) < p
        for row in full_rows:
            m[..., row, :] = False
        return m
    return make


def float_mask(shape, dtype=F32, neg_inf=0.0, full_rows=(), fill=None):
    """A random float mask (added to the scores), a fraction neg_inf of -inf
    entries, rows in full_rows all -inf (or all `fill` when given)."""
    def make(r):
        m = r.standard_normal(shape) * 1.5
        if neg_inf:
            m[r.random(shape) < neg_inf] = -INF
        for row in full_rows:
            m[..., row, :] = -INF if fill is None else fill
        return m.astype(dtype)
    return make


# ---- The cases. Each: name -> parameters of make_case. Shapes are 4-D
# (B, Hq, L, D) etc. unless three_d; T = P + S. Scales and softcaps are exact
# binary fractions, the same whether an implementation reads them as float
# (ONNX's attribute type) or double.
CASES = {}


def case(name, **params):
    assert name not in CASES, name
    CASES[name] = params


# Shapes and layouts
case("basic_4d", B=2, Hq=3, Hkv=3, L=4, S=6, D=8)
case("basic_3d", B=2, Hq=3, Hkv=3, L=4, S=6, D=8, three_d=True)
case("single_head_d1", B=1, Hq=1, Hkv=1, L=3, S=5, D=1)
case("self_attention_l_eq_s", B=2, Hq=2, Hkv=2, L=5, S=5, D=4)
case("dv_ne_d", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, Dv=5)
case("dv_ne_d_3d", B=2, Hq=4, Hkv=2, L=3, S=5, D=6, Dv=3, three_d=True)
case("scale_given", B=2, Hq=2, Hkv=2, L=3, S=4, D=8, scale=0.375)
case("scale_given_large_logits", B=1, Hq=2, Hkv=2, L=3, S=6, D=8, scale=8.0, spread=3.0,
     qk_mode=0)  # logits in the hundreds: a naive float32 exp overflows
case("softmax_precision_accepted", B=1, Hq=2, Hkv=2, L=3, S=4, D=4, softmax_precision=1)
# GQA / MQA
case("gqa", B=2, Hq=6, Hkv=2, L=3, S=5, D=4)
case("gqa_3d", B=2, Hq=6, Hkv=3, L=3, S=5, D=4, three_d=True)
case("mqa", B=2, Hq=4, Hkv=1, L=3, S=5, D=4)
case("gqa_causal", B=2, Hq=4, Hkv=2, L=4, S=4, D=4, causal=True)
case("gqa_causal_past", B=2, Hq=4, Hkv=2, L=2, S=2, P=3, D=4, causal=True)
case("gqa_causal_past_3d", B=2, Hq=6, Hkv=2, L=2, S=2, P=4, D=4, causal=True, three_d=True)
case("mqa_causal_past_dv_ne_d", B=1, Hq=3, Hkv=1, L=3, S=3, P=2, D=4, Dv=6, causal=True)
# KV cache: past/present
case("past_present", B=2, Hq=2, Hkv=2, L=3, S=3, P=4, D=4)
case("past_present_causal", B=2, Hq=2, Hkv=2, L=2, S=2, P=4, D=4, causal=True)
case("past_present_3d", B=2, Hq=2, Hkv=2, L=3, S=3, P=2, D=4, three_d=True)
case("past_present_3d_dv_ne_d", B=1, Hq=4, Hkv=2, L=2, S=2, P=3, D=4, Dv=2, three_d=True,
     causal=True)
case("past_empty", B=2, Hq=2, Hkv=2, L=3, S=3, P=0, D=4, causal=True)
case("present_without_past", B=2, Hq=4, Hkv=2, L=3, S=4, D=4, present=True)
case("present_without_past_3d", B=1, Hq=2, Hkv=2, L=3, S=4, D=4, three_d=True, present=True)
case("decode_past_gqa", B=2, Hq=4, Hkv=2, L=1, S=1, P=7, D=8, causal=True)
case("decode_past_window", B=2, Hq=4, Hkv=2, L=1, S=1, P=7, D=4, causal=True, left=3)
# Causal
case("causal_square", B=2, Hq=2, Hkv=2, L=5, S=5, D=4, causal=True, qk_mode=2)
case("causal_l_lt_s_no_cache_top_left", B=2, Hq=2, Hkv=2, L=3, S=6, D=4, causal=True, qk_mode=2)
case("causal_l_gt_s", B=1, Hq=2, Hkv=2, L=6, S=3, D=4, causal=True, qk_mode=3)
case("causal_bool_mask", B=2, Hq=2, Hkv=2, L=4, S=4, D=4, causal=True,
     mask=bool_mask((2, 2, 4, 4)), qk_mode=2)
case("causal_float_mask", B=2, Hq=2, Hkv=2, L=4, S=4, D=4, causal=True,
     mask=float_mask((2, 1, 4, 4)), qk_mode=2)
case("causal_mask_query_dim_1", B=2, Hq=2, Hkv=2, L=4, S=5, P=1, D=4, causal=True,
     mask=bool_mask((2, 1, 1, 6), p=0.8), qk_mode=3)  # causality per row (the spec)
case("causal_mask_rank1", B=1, Hq=2, Hkv=2, L=4, S=4, D=4, causal=True,
     mask=float_mask((4,)), qk_mode=2)
# Valid lengths (nonpad_kv_seqlen, an external cache)
case("nonpad", B=2, Hq=2, Hkv=2, L=3, S=6, D=4, nonpad=[3, 6], qk_mode=2)
case("nonpad_zero_length", B=2, Hq=2, Hkv=2, L=2, S=4, D=4, nonpad=[0, 4], qk_mode=3)
case("nonpad_causal_offset", B=2, Hq=2, Hkv=2, L=3, S=8, D=4, nonpad=[5, 8], causal=True,
     qk_mode=2)  # offsets 2 and 5
case("nonpad_causal_negative_offset", B=2, Hq=2, Hkv=2, L=4, S=6, D=4, nonpad=[2, 6],
     causal=True, qk_mode=3)  # batch 0: offset -2, rows 0-1 fully masked
case("nonpad_causal_gqa_3d", B=3, Hq=4, Hkv=2, L=2, S=6, D=4, nonpad=[6, 3, 4], causal=True,
     three_d=True)
case("decode_nonpad_per_batch", B=3, Hq=4, Hkv=2, L=1, S=8, D=8, nonpad=[3, 8, 5], causal=True)
case("decode_nonpad_fp16", B=3, Hq=4, Hkv=1, L=1, S=8, D=8, nonpad=[1, 8, 6], causal=True,
     dtype=F16)
case("nonpad_with_short_mask", B=2, Hq=2, Hkv=2, L=2, S=7, D=4, nonpad=[4, 5],
     mask=float_mask((2, 1, 2, 5)), qk_mode=2)
case("nonpad_with_bool_mask_rank3", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, nonpad=[5, 3],
     mask=bool_mask((2, 3, 5)), causal=True)  # rank 3 is (Hq, L, T), not (B, L, T)
# Windows (opset 25)
case("window_left_right_spec_example", B=1, Hq=2, Hkv=2, L=4, S=6, D=4, left=2, right=1,
     qk_mode=2)
case("window_left_only", B=2, Hq=2, Hkv=2, L=5, S=5, D=4, left=1, qk_mode=2)
case("window_right_only", B=2, Hq=2, Hkv=2, L=5, S=5, D=4, right=1, qk_mode=2)
case("window_diagonal_only", B=1, Hq=2, Hkv=2, L=4, S=4, D=4, left=0, right=0, qk_mode=3)
case("window_causal_left_past", B=2, Hq=4, Hkv=2, L=3, S=3, P=4, D=4, causal=True, left=2,
     qk_mode=2)
case("window_nonpad_offset", B=2, Hq=2, Hkv=2, L=2, S=6, D=4, nonpad=[4, 6], left=1, right=1,
     qk_mode=2)
case("window_fully_masked_rows", B=1, Hq=2, Hkv=2, L=5, S=3, D=4, left=1, right=0, qk_mode=3)
case("window_with_rank1_mask", B=2, Hq=2, Hkv=2, L=4, S=5, D=4, left=2, right=2,
     mask=bool_mask((5,), p=0.8), qk_mode=2)
# Masks: ranks 1-4, broadcast dims of size 1, short last dims, bool and float
case("bool_mask_rank1", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, mask=bool_mask((5,)), qk_mode=2)
case("bool_mask_rank2", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, mask=bool_mask((3, 5)), qk_mode=2)
case("bool_mask_rank3", B=2, Hq=3, Hkv=3, L=3, S=5, D=4, mask=bool_mask((3, 3, 5)), qk_mode=2)
case("bool_mask_rank3_broadcast", B=2, Hq=3, Hkv=3, L=3, S=5, D=4, mask=bool_mask((1, 3, 5)))
case("bool_mask_rank4", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, mask=bool_mask((2, 2, 3, 5)),
     qk_mode=2)
case("bool_mask_rank4_broadcast_heads", B=2, Hq=2, Hkv=2, L=3, S=5, D=4,
     mask=bool_mask((2, 1, 3, 5)))
case("bool_mask_rank4_broadcast_batch_query", B=2, Hq=3, Hkv=3, L=3, S=5, D=4,
     mask=bool_mask((1, 3, 1, 5)), qk_mode=2)
case("float_mask_rank1", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, mask=float_mask((5,)), qk_mode=2)
case("float_mask_rank2", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, mask=float_mask((3, 5)), qk_mode=2)
case("float_mask_rank3", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, mask=float_mask((2, 3, 5)))
case("float_mask_rank3_broadcast_query", B=2, Hq=2, Hkv=2, L=3, S=5, D=4,
     mask=float_mask((2, 1, 5)), qk_mode=2)
case("float_mask_rank4", B=2, Hq=2, Hkv=2, L=3, S=5, D=4, mask=float_mask((2, 2, 3, 5)))
case("float_mask_rank4_broadcast_batch_heads", B=2, Hq=2, Hkv=2, L=3, S=5, D=4,
     mask=float_mask((1, 1, 3, 5)), qk_mode=2)
case("float_mask_with_neg_inf", B=2, Hq=2, Hkv=2, L=4, S=5, D=4,
     mask=float_mask((2, 1, 4, 5), neg_inf=0.3), qk_mode=2)
case("short_bool_mask", B=2, Hq=2, Hkv=2, L=3, S=6, D=4, mask=bool_mask((3, 4), p=0.8),
     qk_mode=2)
case("short_float_mask_rank4", B=2, Hq=2, Hkv=2, L=3, S=6, D=4, mask=float_mask((2, 2, 3, 2)),
     qk_mode=3)
case("short_mask_with_past", B=2, Hq=2, Hkv=2, L=2, S=2, P=4, D=4, mask=bool_mask((2, 1, 2, 5)),
     qk_mode=2)
case("short_mask_rank1_width1", B=1, Hq=2, Hkv=2, L=3, S=4, D=4, mask=float_mask((1,)), qk_mode=3)
# A finite negative row is not a masked row: its softmax is the unmasked one. (Not
# -1e4: float32 arithmetic resolves s - 1e4 to 5e-4 only, past float32's tolerance.)
case("float_mask_large_negative_row_is_not_masked", B=1, Hq=2, Hkv=2, L=3, S=4, D=4,
     mask=float_mask((3, 4), full_rows=(1,), fill=-20.0), qk_mode=3)
# Fully masked rows: zeros in Y and in mode 3, -inf in mode 2
case("fully_masked_row_bool", B=2, Hq=2, Hkv=2, L=3, S=4, D=4,
     mask=bool_mask((2, 1, 3, 4), full_rows=(1,)), qk_mode=3)
case("fully_masked_row_bool_mode2", B=2, Hq=2, Hkv=2, L=3, S=4, D=4,
     mask=bool_mask((3, 4), full_rows=(0, 2)), qk_mode=2)
case("fully_masked_row_float_neg_inf", B=2, Hq=2, Hkv=2, L=3, S=4, D=4,
     mask=float_mask((2, 2, 3, 4), full_rows=(2,)), qk_mode=3)
case("fully_masked_everything", B=1, Hq=2, Hkv=2, L=2, S=3, D=4,
     mask=bool_mask((2, 3), p=0.0), qk_mode=3)
case("fully_masked_row_causal_past_bool", B=1, Hq=2, Hkv=1, L=2, S=2, P=2, D=4, causal=True,
     mask=bool_mask((1, 1, 2, 4), full_rows=(0,)), qk_mode=3)
# Softcap: c * tanh(x / c) before the mask
case("softcap", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, softcap=2.0, spread=2.0)
case("softcap_neg_inf_float_mask", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, softcap=1.5, spread=2.0,
     mask=float_mask((2, 1, 3, 5), neg_inf=0.4, full_rows=(1,)), qk_mode=2)
case("softcap_bool_mask_causal_mode3", B=2, Hq=2, Hkv=2, L=4, S=4, D=4, softcap=1.0,
     causal=True, mask=bool_mask((4, 4), p=0.7), qk_mode=3)
case("softcap_scale_gqa_past", B=2, Hq=4, Hkv=2, L=2, S=2, P=3, D=4, softcap=3.0, scale=1.5,
     causal=True, qk_mode=2)
# qk_matmul_output modes, with and without softcap (causal and a float mask so
# every stage differs)
for mode in range(4):
    case(f"qk_mode{mode}", B=2, Hq=2, Hkv=2, L=3, S=4, D=4, causal=True, qk_mode=mode,
         mask=float_mask((1, 1, 3, 4), neg_inf=0.2), spread=2.0)
    case(f"qk_mode{mode}_softcap", B=2, Hq=2, Hkv=2, L=3, S=4, D=4, causal=True, qk_mode=mode,
         mask=float_mask((1, 1, 3, 4), neg_inf=0.2), softcap=1.25, spread=2.0)
case("qk_mode3_gqa_past_3d", B=1, Hq=4, Hkv=2, L=2, S=2, P=2, D=4, three_d=True, causal=True,
     qk_mode=3)
# float16 inputs (arithmetic in float64 here, one rounding to float16)
case("fp16_basic", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, dtype=F16)
case("fp16_3d_gqa", B=2, Hq=4, Hkv=2, L=3, S=5, D=8, dtype=F16, three_d=True)
case("fp16_gqa_causal_past", B=2, Hq=4, Hkv=2, L=2, S=2, P=3, D=8, dtype=F16, causal=True)
case("fp16_float16_mask", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, dtype=F16,
     mask=float_mask((2, 1, 3, 5), dtype=F16, neg_inf=0.2, full_rows=(2,)), qk_mode=2)
case("fp16_float16_short_mask_past", B=1, Hq=2, Hkv=2, L=2, S=2, P=3, D=4, dtype=F16,
     mask=float_mask((2, 4), dtype=F16), qk_mode=3)
case("fp16_bool_mask_rank2", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, dtype=F16,
     mask=bool_mask((3, 5), full_rows=(0,)), qk_mode=3)
case("fp16_softcap_mode0", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, dtype=F16, softcap=2.0, qk_mode=0,
     spread=2.0)
case("fp16_softcap_mode3_causal", B=2, Hq=2, Hkv=2, L=3, S=5, D=8, dtype=F16, softcap=2.0,
     qk_mode=3, causal=True)
case("fp16_dv_ne_d_scale", B=1, Hq=2, Hkv=1, L=3, S=4, D=8, Dv=4, dtype=F16, scale=0.5)
case("fp16_window_nonpad", B=2, Hq=2, Hkv=2, L=3, S=6, D=4, dtype=F16, nonpad=[6, 2], causal=True,
     left=2, qk_mode=2)
# Everything at once
case("combo_3d_gqa_past_causal_window_softcap_float_mask", B=2, Hq=6, Hkv=2, L=3, S=2, P=4,
     D=4, Dv=3, three_d=True, causal=True, left=3, softcap=2.0, scale=0.625,
     mask=float_mask((6, 1, 5), neg_inf=0.2), qk_mode=2)
case("combo_nonpad_bool_mask_causal_window_gqa_mode3", B=3, Hq=4, Hkv=2, L=3, S=7, D=4,
     nonpad=[7, 4, 2], causal=True, left=2, right=0, mask=bool_mask((3, 1, 3, 6), p=0.8),
     qk_mode=3)
case("combo_fp16_3d_past_causal_softcap_bool_mask", B=2, Hq=4, Hkv=2, L=2, S=2, P=3, D=4,
     three_d=True, dtype=F16, causal=True, softcap=1.5, mask=bool_mask((2, 4, 2, 5), p=0.8),
     qk_mode=3)


def make_case(r, B, Hq, Hkv, L, S, D, Dv=None, P=None, dtype=F32, three_d=False, mask=None,
              nonpad=None, causal=False, scale=None, softcap=None, left=None, right=None,
              qk_mode=None, softmax_precision=None, present=False, spread=1.0):
    """Inputs, attributes, the CLI flags and the expected outputs of one case."""
    Dv = D if Dv is None else Dv
    inputs = {"q": (r.standard_normal((B, Hq, L, D)) * spread).astype(dtype),
              "k": (r.standard_normal((B, Hkv, S, D)) * spread).astype(dtype),
              "v": r.standard_normal((B, Hkv, S, Dv)).astype(dtype)}
    if P is not None:
        inputs["past_key"] = (r.standard_normal((B, Hkv, P, D)) * spread).astype(dtype)
        inputs["past_value"] = r.standard_normal((B, Hkv, P, Dv)).astype(dtype)
    if mask is not None:
        inputs["attn_mask"] = mask(r)
    if nonpad is not None:
        inputs["nonpad_kv_seqlen"] = np.array(nonpad, dtype=np.int64)
    flags = []
    if three_d:
        for name in ("q", "k", "v"):
            x = inputs[name]
            inputs[name] = np.ascontiguousarray(x.transpose(0, 2, 1, 3)).reshape(
                B, x.shape[2], x.shape[1] * x.shape[3])
        flags += ["--q-num-heads", str(Hq), "--kv-num-heads", str(Hkv)]
    if causal:
        flags.append("--is-causal")
    for flag, value in (("--scale", scale), ("--softcap", softcap),
                        ("--left-window-size", left), ("--right-window-size", right),
                        ("--qk-matmul-output-mode", qk_mode),
                        ("--softmax-precision", softmax_precision)):
        if value is not None:
            flags += [flag, repr(value) if isinstance(value, float) else str(value)]
    y, present_key, present_value, qk = oracle.attention(
        inputs["q"], inputs["k"], inputs["v"], attn_mask=inputs.get("attn_mask"),
        past_key=inputs.get("past_key"), past_value=inputs.get("past_value"),
        nonpad_kv_seqlen=inputs.get("nonpad_kv_seqlen"), scale=scale, is_causal=causal,
        q_num_heads=Hq if three_d else None, kv_num_heads=Hkv if three_d else None,
        softcap=softcap or 0.0, qk_matmul_output_mode=qk_mode or 0,
        left_window_size=-1 if left is None else left,
        right_window_size=-1 if right is None else right)
    expected = {"y": y}
    if P is not None or present:
        expected["present_key"], expected["present_value"] = present_key, present_value
    if qk_mode is not None:
        expected["qk_matmul_output"] = qk
    return inputs, flags, expected


INPUT_FLAGS = (("q", "--q"), ("k", "--k"), ("v", "--v"), ("attn_mask", "--attn-mask"),
               ("past_key", "--past-key"), ("past_value", "--past-value"),
               ("nonpad_kv_seqlen", "--nonpad-kv-seqlen"))
OUTPUT_FLAGS = (("y", "--y"), ("present_key", "--present-key"),
                ("present_value", "--present-value"), ("qk_matmul_output", "--qk-matmul-output"))


def write_all(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for entry in sorted(os.listdir(out_dir)):             # cases no longer listed go
        path = os.path.join(out_dir, entry)
        if entry not in CASES and os.path.isfile(os.path.join(path, "args.txt")):
            shutil.rmtree(path)
    for name, params in CASES.items():
        r = np.random.default_rng(zlib.crc32(name.encode()))
        inputs, flags, expected = make_case(r, **params)
        folder = os.path.join(out_dir, name)
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        line = []
        for key, flag in INPUT_FLAGS:
            if key in inputs:
                np.save(os.path.join(folder, key + ".npy"), inputs[key])
                line += [flag, key + ".npy"]
        line += flags
        for key, flag in OUTPUT_FLAGS:
            if key in expected:
                np.save(os.path.join(folder, "expected_" + key + ".npy"), expected[key])
                line += [flag, key + ".npy"]
        with open(os.path.join(folder, "args.txt"), "w") as f:
            f.write(" ".join(line) + "\n")


def main(argv):
    check = "--check" in argv
    argv = [a for a in argv if a != "--check"]
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = argv[0] if argv else os.path.join(here, "..", "data", "attention_core")
    if not check:
        write_all(out_dir)
        print(f"{len(CASES)} cases written to {os.path.normpath(out_dir)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        write_all(tmp)
        bad = []
        for name in sorted(set(CASES) | {d for d in os.listdir(out_dir)
                                         if os.path.isdir(os.path.join(out_dir, d))}):
            a, b = os.path.join(tmp, name), os.path.join(out_dir, name)
            if not os.path.isdir(a) or not os.path.isdir(b):
                where = "the committed data" if os.path.isdir(b) else "make_cases.py"
                bad.append(f"{name}: only in {where}")
                continue
            cmp = filecmp.dircmp(a, b)
            files = cmp.left_only + cmp.right_only + filecmp.cmpfiles(
                a, b, cmp.common_files, shallow=False)[1]
            if files:
                bad.append(f"{name}: {' '.join(sorted(files))} differ")
        for line in bad:
            print(line)
        print(f"{len(CASES)} cases, {len(bad)} differing from {os.path.normpath(out_dir)}")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
