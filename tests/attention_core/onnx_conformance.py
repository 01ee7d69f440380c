#!/usr/bin/python3
"""Runs onnx's Attention conformance cases through `mha attention` (a dev tool, not CI).

Usage: /usr/bin/python3 tests/attention_core/onnx_conformance.py SOURCE MHA PLUGIN [--keep DIR]
  SOURCE, where the cases come from:
    - a folder of onnx node-test cases (test_attention_*/model.onnx and
      test_data_set_0/input_N.pb, output_N.pb), e.g. the output of onnx's
      `backend-test-tools generate-data`, or onnx/backend/test/data/node;
    - an onnx work tree, or its git directory (PATH or PATH@REV, default HEAD,
      e.g. /work/.mirror/onnx+onnx/repo): its onnx/backend/test/data/node when
      that holds the attention cases; otherwise (onnx main dropped the generated
      data in #7959) the cases are generated again, exactly as onnx generates
      them: onnx/backend/test/case/node/attention.py run with its expect()
      captured and onnx/reference/ops/op_attention.py computing the outputs
      (both read from SOURCE at run time; no onnx code is in this repository).
  MHA, PLUGIN: the mha executable and the plugin to run (`--plugin PLUGIN`).
  --keep DIR: write the converted cases (tests/data/attention_core's layout) to
    DIR and keep them; by default a temporary folder, removed at the end.

Every case but the `_expanded` variants (the same call, expanded into a graph)
is converted: the model's Attention node gives the attributes (the flags of
`mha attention`), input_N.pb / output_N.pb the inputs and expected outputs, and
each output of mha is compared with onnx's:
  float32: |got - want| <= 1e-5 + 1e-5 |want|: onnx's data are computed in float32,
           mha in float32 or better;
  float16: |got - want| <= 2^-8 + 2^-8 |want| (~3.9e-3, 8 times float16's unit
           roundoff 2^-11): onnx's reference computes float16 cases in float16
           arithmetic, rounding at every step (q and k scaled by sqrt(scale),
           the scores, exp, the normalisation, P.V), each step up to 2^-11
           relative, and a rounded score s shifts its probability by up to
           |s| 2^-11 (scores here reach ~3): about 8 roundings' worth, where mha
           rounds once.
Measured on onnx main's 87 cases (2026-08): oracle.py and mha's reference plugin
are at most 2.4e-7 from onnx's float32 data (0.011 of the tolerance) and 4.9e-4
(2^-11) from its float16 data (0.083 of it).
NaN must meet NaN, an infinity the same infinity. For reference, every case is
also computed by oracle.py (the float64 oracle of tests/data/attention_core) and
its distance to onnx's data is reported under the same tolerances.

Needs python3-numpy and python3-onnx (for .onnx and .pb files). Prints one line
per case and totals; exit status 0 when every case passed through mha.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import onnx
from onnx import numpy_helper

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

NODE_DATA = "onnx/backend/test/data/node"
INPUT_SLOTS = ["Q", "K", "V", "attn_mask", "past_key", "past_value", "nonpad_kv_seqlen"]
OUTPUT_SLOTS = ["Y", "present_key", "present_value", "qk_matmul_output"]
FILE_OF = {"Q": "q", "K": "k", "V": "v", "attn_mask": "attn_mask", "past_key": "past_key",
           "past_value": "past_value", "nonpad_kv_seqlen": "nonpad_kv_seqlen", "Y": "y",
           "present_key": "present_key", "present_value": "present_value",
           "qk_matmul_output": "qk_matmul_output"}
INPUT_FLAG = {"Q": "--q", "K": "--k", "V": "--v", "attn_mask": "--attn-mask",
              "past_key": "--past-key", "past_value": "--past-value",
              "nonpad_kv_seqlen": "--nonpad-kv-seqlen"}
OUTPUT_FLAG = {"Y": "--y", "present_key": "--present-key", "present_value": "--present-value",
               "qk_matmul_output": "--qk-matmul-output"}
ATTRIBUTE_FLAG = {"q_num_heads": "--q-num-heads", "kv_num_heads": "--kv-num-heads",
                  "scale": "--scale", "softcap": "--softcap",
                  "left_window_size": "--left-window-size",
                  "right_window_size": "--right-window-size",
                  "qk_matmul_output_mode": "--qk-matmul-output-mode",
                  "softmax_precision": "--softmax-precision"}
TOLERANCE = {np.dtype(np.float32): (1e-5, 1e-5), np.dtype(np.float16): (2.0 ** -8, 2.0 ** -8)}


# ---- Reading SOURCE: a folder or a git directory at a revision.

class Source:
    def __init__(self, spec):
        path, _, rev = spec.partition("@")
        self.path, self.rev = path, rev or "HEAD"
        self.git = None
        if not os.path.isdir(path):
            raise SystemExit(f"onnx_conformance: {path}: not a folder")
        if not os.path.isdir(os.path.join(path, "onnx")) or rev:
            probe = subprocess.run(["git", "--git-dir", path, "rev-parse", "--verify",
                                    self.rev + "^{commit}"], capture_output=True, text=True)
            if probe.returncode == 0:
                self.git = path
                self.rev = probe.stdout.strip()
            elif rev:
                raise SystemExit(f"onnx_conformance: {spec}: not a git directory with {rev}")

    def describe(self):
        return f"{self.path} at {self.rev[:12]}" if self.git else self.path

    def read(self, relpath):
        if self.git:
            return subprocess.run(["git", "--git-dir", self.git, "show", f"{self.rev}:{relpath}"],
                                  check=True, capture_output=True).stdout
        with open(os.path.join(self.path, relpath), "rb") as f:
            return f.read()

    def listdir(self, relpath):
        if self.git:
            out = subprocess.run(["git", "--git-dir", self.git, "ls-tree", "--name-only",
                                  f"{self.rev}:{relpath}"], capture_output=True, text=True)
            return out.stdout.split() if out.returncode == 0 else []
        full = os.path.join(self.path, relpath)
        return sorted(os.listdir(full)) if os.path.isdir(full) else []


def attention_dirs(source, base):
    return [d for d in source.listdir(base)
            if d.startswith("test_attention") and not d.endswith("_expanded")]


# ---- Cases from node-test data (model.onnx + test_data_set_0).

def load_tensor(data):
    tensor = onnx.TensorProto()
    tensor.ParseFromString(data)
    return numpy_helper.to_array(tensor)


def case_from_data(source, folder):
    model = onnx.load_model_from_string(source.read(folder + "/model.onnx"))
    nodes = [n for n in model.graph.node if n.op_type == "Attention"]
    if len(nodes) != 1:
        raise ValueError(f"{len(model.graph.node)} nodes, expected one Attention node")
    node = nodes[0]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    slot_of_input = {name: INPUT_SLOTS[i] for i, name in enumerate(node.input) if name}
    slot_of_output = {name: OUTPUT_SLOTS[i] for i, name in enumerate(node.output) if name}
    inputs, outputs = {}, {}
    for i, value in enumerate(model.graph.input):
        inputs[slot_of_input[value.name]] = load_tensor(
            source.read(f"{folder}/test_data_set_0/input_{i}.pb"))
    for i, value in enumerate(model.graph.output):
        outputs[slot_of_output[value.name]] = load_tensor(
            source.read(f"{folder}/test_data_set_0/output_{i}.pb"))
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                default=0)
    return {"attrs": attrs, "inputs": inputs, "outputs": outputs, "opset": opset}


# ---- Cases generated again from attention.py, as onnx does.

def generated_cases(source):
    """Runs every export_* of onnx/backend/test/case/node/attention.py with
    expect() captured and op_attention.py's _compute_attention, seeding numpy
    with 0 first as onnx's data generator does."""
    if not hasattr(onnx.helper, "tensor_dtype_to_np_dtype"):      # python3-onnx < 1.13
        onnx.helper.tensor_dtype_to_np_dtype = lambda t: onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t]
    stubs = {}
    for name in ("onnx.reference", "onnx.reference.op_run", "onnx.reference.ops",
                 "onnx.reference.ops.op_attention", "onnx.backend.test.case.base",
                 "onnx.backend.test.case.node"):
        stubs[name] = types.ModuleType(name)
    stubs["onnx.reference.op_run"].OpRun = object
    stubs["onnx.backend.test.case.base"].Base = object
    captured = []

    def expect(node, inputs, outputs, name, **kwargs):
        captured.append((name, node, inputs, outputs, kwargs.get("opset_imports") or []))

    stubs["onnx.backend.test.case.node"].expect = expect
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        reference = {"__name__": "op_attention"}
        exec(compile(source.read("onnx/reference/ops/op_attention.py").decode(),
                     "op_attention.py", "exec"), reference)
        stubs["onnx.reference.ops.op_attention"]._compute_attention = \
            reference["_compute_attention"]
        cases_module = {"__name__": "attention_cases"}
        exec(compile(source.read("onnx/backend/test/case/node/attention.py").decode(),
                     "attention.py", "exec"), cases_module)
        generator = cases_module["Attention"]
        failures = []
        for attr in sorted(dir(generator)):
            if attr.startswith("export"):
                np.random.seed(0)
                try:
                    getattr(generator, attr)()
                except Exception as e:  # reported, and counted as failed cases
                    failures.append(f"{attr}: {type(e).__name__}: {e}")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    cases = {}
    for name, node, inputs, outputs, opsets in captured:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        present_in = [INPUT_SLOTS[i] for i, n in enumerate(node.input) if n]
        present_out = [OUTPUT_SLOTS[i] for i, n in enumerate(node.output) if n]
        opset = max((o.version for o in opsets if o.domain in ("", "ai.onnx")), default=0)
        cases[name] = {"attrs": attrs, "inputs": dict(zip(present_in, inputs)),
                       "outputs": dict(zip(present_out, outputs)), "opset": opset}
    return cases, failures


def load_cases(source):
    """{name: case} and a list of cases that could not be read, from SOURCE."""
    for base in ("", NODE_DATA):
        dirs = attention_dirs(source, base) if base or not source.git else []
        if dirs:
            cases, failures = {}, []
            for d in dirs:
                try:
                    cases[d] = case_from_data(source, os.path.join(base, d) if base else d)
                except Exception as e:
                    failures.append(f"{d}: {type(e).__name__}: {e}")
            return cases, failures, f"node-test data in {source.describe()}/{base}"
    if not source.listdir("onnx/backend/test/case/node") and not source.git:
        raise SystemExit(f"onnx_conformance: {source.path}: no test_attention_* cases and no "
                         "onnx/backend/test/case/node/attention.py")
    cases, failures = generated_cases(source)
    return cases, failures, f"generated from attention.py of {source.describe()}"


# ---- Running a case through mha and comparing.

def compare(got, want, stats=None):
    """'' when got matches want under the dtype's tolerance, else one line. With
    stats, records per dtype the largest |got - want| over finite values and
    the largest |got - want| / allowed."""
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}"
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    atol, rtol = TOLERANCE.get(want.dtype, (0.0, 0.0))
    g, w = got.astype(np.float64), want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan | (g == w), 0.0, np.abs(g - w))
    allowed = atol + rtol * np.where(np.isfinite(w), np.abs(w), 0.0)
    bad = ~(diff <= allowed)
    if stats is not None and want.size:
        finite = np.isfinite(diff)
        entry = stats.setdefault(str(want.dtype), [0.0, 0.0])
        entry[0] = max(entry[0], float(np.max(diff[finite], initial=0.0)))
        entry[1] = max(entry[1], float(np.max(np.where(finite, diff / allowed, np.inf))))
    if not bad.any():
        return ""
    ratio = np.where(bad, np.nan_to_num(diff / allowed, nan=np.inf, posinf=np.inf), 0.0)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    return (f"{int(bad.sum())} of {want.size} differ, worst at {list(map(int, worst))}: "
            f"got {g[worst]:.9g}, expected {w[worst]:.9g} (allowed {allowed[worst]:.3g})")


def flags_of(attrs):
    """The CLI flags of a node's attributes; raises on one mha has no flag for."""
    flags = []
    for name, value in sorted(attrs.items()):
        if name == "is_causal":
            if value:
                flags.append("--is-causal")
        elif name in ATTRIBUTE_FLAG:
            flags += [ATTRIBUTE_FLAG[name], repr(float(value)) if isinstance(value, float)
                      else str(int(value))]
        else:
            raise ValueError(f"attribute {name} has no flag")
    return flags


def write_case(folder, case, flags):
    """The case in tests/data/attention_core's layout."""
    os.makedirs(folder, exist_ok=True)
    line = []
    for slot, array in case["inputs"].items():
        np.save(os.path.join(folder, FILE_OF[slot] + ".npy"), array)
        line += [INPUT_FLAG[slot], FILE_OF[slot] + ".npy"]
    line += flags
    for slot, array in case["outputs"].items():
        np.save(os.path.join(folder, "expected_" + FILE_OF[slot] + ".npy"), array)
        line += [OUTPUT_FLAG[slot], FILE_OF[slot] + ".npy"]
    with open(os.path.join(folder, "args.txt"), "w") as f:
        f.write(" ".join(line) + "\n")


def oracle_outputs(case):
    kwargs = dict(case["inputs"])
    q, k, v = kwargs.pop("Q"), kwargs.pop("K"), kwargs.pop("V")
    attrs = dict(case["attrs"])
    attrs["is_causal"] = bool(attrs.get("is_causal", 0))
    got = oracle.attention(q, k, v, **kwargs, **attrs)
    return dict(zip(OUTPUT_SLOTS, got))


def run_case(mha, plugin, folder, case, stats):
    """'' when mha's outputs match onnx's, else what went wrong."""
    flags = flags_of(case["attrs"])
    write_case(folder, case, flags)
    out = os.path.join(folder, "out")
    os.makedirs(out, exist_ok=True)
    argv = [mha, "attention", "--plugin", plugin]
    for slot in case["inputs"]:
        argv += [INPUT_FLAG[slot], os.path.join(folder, FILE_OF[slot] + ".npy")]
    argv += flags
    for slot in case["outputs"]:
        argv += [OUTPUT_FLAG[slot], os.path.join(out, FILE_OF[slot] + ".npy")]
    run = subprocess.run(argv, capture_output=True, text=True)
    if run.returncode != 0:
        first = (run.stderr.strip().splitlines() or ["(no message)"])[0]
        return f"mha attention exited {run.returncode}: {first}"
    problems = []
    for slot, want in case["outputs"].items():
        path = os.path.join(out, FILE_OF[slot] + ".npy")
        if not os.path.isfile(path):
            problems.append(f"{FILE_OF[slot]} not written")
            continue
        problem = compare(np.load(path), np.asarray(want), stats)
        if problem:
            problems.append(f"{FILE_OF[slot]}: {problem}")
    return "; ".join(problems)


def main(argv):
    keep = None
    if "--keep" in argv:
        j = argv.index("--keep")
        keep = argv[j + 1]
        del argv[j:j + 2]
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    source, mha, plugin = Source(argv[0]), argv[1], argv[2]
    cases, unreadable, origin = load_cases(source)
    work = keep or tempfile.mkdtemp(prefix="mha-onnx-conformance.")
    print(f"{len(cases)} cases, {origin}; mha attention --plugin {plugin}")
    passed = failed = oracle_agrees = 0
    oracle_problems = []
    mha_stats, oracle_stats = {}, {}
    try:
        for name in sorted(cases):
            case = cases[name]
            try:
                problem = run_case(mha, plugin, os.path.join(work, name), case, mha_stats)
            except Exception as e:
                problem = f"{type(e).__name__}: {e}"
            if problem:
                failed += 1
                print(f"FAIL {name} (opset {case['opset']}): {problem}")
            else:
                passed += 1
                print(f"PASS {name}")
            try:
                mine = oracle_outputs(case)
                diffs = [f"{FILE_OF[s]}: {d}" for s, want in case["outputs"].items()
                         for d in [compare(mine[s], np.asarray(want), oracle_stats)] if d]
            except Exception as e:
                diffs = [f"{type(e).__name__}: {e}"]
            if diffs:
                oracle_problems.append(f"{name}: " + "; ".join(diffs))
            else:
                oracle_agrees += 1
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for line in unreadable:
        failed += 1
        print(f"FAIL {line}")
    for line in oracle_problems:
        print(f"oracle.py differs from onnx's data: {line}")
    print(f"oracle.py within tolerance of onnx's data in {oracle_agrees} of {len(cases)} cases")
    for who, stats in (("mha", mha_stats), ("oracle.py", oracle_stats)):
        for dtype, (diff, ratio) in sorted(stats.items()):
            print(f"  {who} vs onnx's data, {dtype}: max |got - want| {diff:.3g}, "
                  f"{ratio:.3g} of the tolerance")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
