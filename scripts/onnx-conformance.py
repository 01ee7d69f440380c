#!/usr/bin/env python3
"""Runs every ONNX Attention conformance case through `mha attention`.

The cases are onnx's own (onnx/backend/test/case/node/attention.py, 87 as of
2026-12): each case's generator runs again here (numpy seed 0 before each),
with onnx main's reference implementation (onnx/reference/ops/op_attention.py)
computing the expected outputs, exactly as onnx does to make its test data.
Both files are read at run time from an onnx checkout; nothing of onnx is in
this repository. The inputs go to `mha attention --plugin PLUGIN` as .npy
files and every output is compared: float32 within 1e-5 + 1e-5 |b|, float16
within 1e-2 + 1e-2 |b| (the reference computes float16 cases in float16
arithmetic; mha accumulates in float32 or better). NaN must meet NaN.

Usage: /usr/bin/python3 scripts/onnx-conformance.py ONNX_CHECKOUT MHA PLUGIN [WORK_DIR]
  ONNX_CHECKOUT: a work tree, or a bare git directory (read at HEAD)
Needs python3-numpy. Exit status: 0 when every case passes.
"""
import os
import subprocess
import sys
import tempfile
import types

import numpy as np


def read_onnx_file(checkout, path):
    if os.path.isfile(os.path.join(checkout, path)):
        with open(os.path.join(checkout, path)) as f:
            return f.read()
    return subprocess.run(["git", "--git-dir", checkout, "show", "HEAD:" + path],
                          check=True, capture_output=True, text=True).stdout


CHECKOUT, MHA, PLUGIN = sys.argv[1], sys.argv[2], sys.argv[3]
WORK = sys.argv[4] if len(sys.argv) > 4 else tempfile.mkdtemp(prefix="mha-onnx-")
onnx = types.ModuleType('onnx')
class Node:
    def __init__(self, op, inputs, outputs, **attrs):
        self.inputs, self.outputs, self.attrs = inputs, outputs, attrs
onnx.helper = types.SimpleNamespace(make_opsetid=lambda d, v: (d, v), make_node=lambda op, inputs, outputs, **a: Node(op, inputs, outputs, **a),
                                    tensor_dtype_to_np_dtype=lambda t: {1: np.float32, 10: np.float16, 11: np.float64}.get(t, np.float32))
onnx.TensorProto = types.SimpleNamespace(FLOAT=1, FLOAT16=10, DOUBLE=11, BFLOAT16=16)
sys.modules['onnx'] = onnx
for name in ['onnx.backend', 'onnx.backend.test', 'onnx.backend.test.case', 'onnx.backend.test.case.node',
             'onnx.backend.test.case.base', 'onnx.reference', 'onnx.reference.op_run', 'onnx.reference.ops',
             'onnx.reference.ops.op_attention']:
    sys.modules[name] = types.ModuleType(name)
sys.modules['onnx.backend.test.case.base'].Base = object
sys.modules['onnx.reference.op_run'].OpRun = object
ref = {}
exec(compile(read_onnx_file(CHECKOUT, 'onnx/reference/ops/op_attention.py'), 'op_attention.py', 'exec'), ref)
sys.modules['onnx.reference.ops.op_attention']._compute_attention = ref['_compute_attention']
cases = []
def expect(node, inputs, outputs, name, **kw):
    cases.append((name, node, inputs, outputs))
sys.modules['onnx.backend.test.case.node'].expect = expect
mod = {}
exec(compile(read_onnx_file(CHECKOUT, 'onnx/backend/test/case/node/attention.py'), 'attention.py', 'exec'), mod)
for attr in dir(mod['Attention']):
    if attr.startswith('export'):
        np.random.seed(0)
        try:
            getattr(mod['Attention'], attr)()
        except Exception as e:
            print('could not generate', attr, e)
flags = {'Q': '--q', 'K': '--k', 'V': '--v', 'attn_mask': '--attn-mask', 'past_key': '--past-key',
         'past_value': '--past-value', 'nonpad_kv_seqlen': '--nonpad-kv-seqlen'}
outflags = ['--y', '--present-key', '--present-value', '--qk-matmul-output']
passed = failed = 0
for name, node, inputs, outputs in cases:
    d = os.path.join(WORK, name); os.makedirs(d, exist_ok=True)
    cmd = [MHA, 'attention', '--plugin', PLUGIN]
    for slot, arr in zip([s for s in node.inputs if s != ''], inputs):
        if arr is None: continue
        path = os.path.join(d, slot + '.npy'); np.save(path, arr); cmd += [flags[slot], path]
    for key, value in node.attrs.items():
        if key == 'is_causal':
            if value: cmd.append('--is-causal')
        else:
            cmd += ['--' + key.replace('_', '-'), str(value)]
    outs = []
    for i, slot in enumerate(node.outputs):
        if slot == '': continue
        path = os.path.join(d, 'out%d.npy' % i); cmd += [outflags[i], path]; outs.append((i, path))
    if '--present-key' in cmd and '--present-value' not in cmd or '--present-value' in cmd and '--present-key' not in cmd:
        print('SKIP', name, 'one of present_key/value only'); continue
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print('FAIL', name, r.stderr.strip()); failed += 1; continue
    ok = True
    for (i, path), want in zip(outs, [o for o, s in zip(outputs, node.outputs) if s != '']):
        got = np.load(path).astype(np.float64); w = np.asarray(want).astype(np.float64)
        tol = 1e-2 if np.asarray(want).dtype == np.float16 else 1e-5
        both = np.isinf(got) & np.isinf(w) & (np.sign(got) == np.sign(w))
        good = (np.isclose(got, w, rtol=tol, atol=tol, equal_nan=True) | both) if got.shape == w.shape else np.zeros(1, bool)
        if not good.all():
            ok = False
            print('FAIL', name, 'output', i, 'shape', got.shape, w.shape, 'max diff', np.nanmax(np.abs(got - w)) if got.shape == w.shape else '')
    if ok: passed += 1
    else: failed += 1
print(f'{len(cases)} ONNX Attention cases on {PLUGIN}: {passed} passed, {failed} failed')
sys.exit(0 if failed == 0 and cases else 1)
