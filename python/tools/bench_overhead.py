#!/usr/bin/python3
"""The Python binding's overhead per call against the same call from C.

For each plugin and shape, alternating for --rounds rounds: `mha bench` (the C command line:
mha_attention_forward timed around each call, self-attention, in_proj/out_proj with bias, no
mask, need_weights off, E=512 H=8), then the same forward through mha.Attention (NumPy) and
through mha.torch.MultiheadAttention (when torch is there), timed the same way
(time.perf_counter around each call, --reps calls after one warm-up). Prints the medians of
the rounds' medians: the C call's and the Python call's in milliseconds, and the binding's
own time per call in microseconds (the Python call's total minus the time spent inside
mha_attention_forward, measured on the same call: the C compute's noise cancels out).

    PYTHONPATH=build/python /usr/bin/python3 python/tools/bench_overhead.py --cli build/bin/mha
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

import mha
from mha import _attention

try:
    import torch
    import mha.torch
except ImportError:
    torch = None


def c_median(cli, plugin, n, length, reps):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        subprocess.run([cli, "bench", "--plugin", plugin, "--batch", str(n), "--tgt-len",
                        str(length), "--warmup", "1", "--reps", str(reps), "--json", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)[0]["median_ms"]


class _TimedLib:
    """libmha with mha_attention_forward timed: the binding's own time is a call's total
    minus the time spent inside libmha, measured on the same call."""

    def __init__(self, lib):
        self._lib = lib
        self.inner = 0.0

    def __getattr__(self, name):
        return getattr(self._lib, name)

    def mha_attention_forward(self, *args):
        start = time.perf_counter()
        status = self._lib.mha_attention_forward(*args)
        self.inner = time.perf_counter() - start
        return status


def py_medians(call, reps):
    """(median ms of the whole Python call, median us of the binding's own part)."""
    timed = _TimedLib(_attention.lib)
    _attention.lib = timed
    try:
        call()
        totals, overheads = [], []
        for _ in range(reps):
            start = time.perf_counter()
            call()
            total = time.perf_counter() - start
            totals.append(total)
            overheads.append(total - timed.inner)
    finally:
        _attention.lib = timed._lib
    return statistics.median(totals) * 1e3, statistics.median(overheads) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", required=True, help="the mha command (build/bin/mha)")
    parser.add_argument("--plugin", action="append", help="plugins (default: reference)")
    parser.add_argument("--shapes", default="1x1,4x128", help="NxL,... (default 1x1,4x128)")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    E, H = 512, 8
    rng = np.random.default_rng(0)
    weights = {"in_proj_weight": rng.uniform(-0.1, 0.1, (3 * E, E)).astype(np.float32),
               "in_proj_bias": rng.uniform(-0.1, 0.1, 3 * E).astype(np.float32),
               "out_proj.weight": rng.uniform(-0.1, 0.1, (E, E)).astype(np.float32),
               "out_proj.bias": rng.uniform(-0.1, 0.1, E).astype(np.float32)}
    print(f"{'plugin':10} {'shape':12} {'C ms':>9} {'numpy ms':>9} {'own us':>7} "
          f"{'torch ms':>9} {'own us':>7}")
    for plugin in args.plugin or ["reference"]:
        backend = mha.Backend(plugin)
        attention = mha.Attention(E, H, weights, backend=backend)
        module = None
        if torch is not None:
            module = mha.torch.MultiheadAttention(E, H, backend=backend).requires_grad_(False)
            module.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        for shape in args.shapes.split(","):
            n, length = (int(x) for x in shape.split("x"))
            reps = max(5, args.reps // (1 if n * length <= 16 else 20))
            x = rng.uniform(-1, 1, (length, n, E)).astype(np.float32)
            xt = torch.from_numpy(x) if torch is not None else None
            c, p, po, t, to = [], [], [], [], []
            for _ in range(args.rounds):
                c.append(c_median(args.cli, backend.spec, n, length, reps))
                ms, us = py_medians(lambda: attention(x, x, x, need_weights=False), reps)
                p.append(ms)
                po.append(us)
                if module is not None:
                    ms, us = py_medians(lambda: module(xt, xt, xt, need_weights=False), reps)
                    t.append(ms)
                    to.append(us)
            med = statistics.median
            line = (f"{plugin:10} {f'N={n} L={length}':12} {med(c):9.3f} {med(p):9.3f} "
                    f"{med(po):7.1f}")
            if t:
                line += f" {med(t):9.3f} {med(to):7.1f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
