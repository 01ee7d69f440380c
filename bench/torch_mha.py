#!/usr/bin/python3
"""torch_mha.py - the PyTorch side of bench/run-side-by-side.sh.

Times torch.nn.MultiheadAttention on the CPU on the cases of `mha bench --suite
standard`, with the rules `mha bench` uses:

  * the same shapes; self-attention (query, key and value one tensor) when
    L = S, else cross attention with key and value one tensor; bias on, no
    mask, inputs uniform in [-1, 1) from a fixed seed, random weights;
  * eval mode, torch.no_grad(), need_weights as in the case (weights averaged
    over heads, PyTorch's default), torch.set_num_threads(--threads);
  * one first call (its time is cold_first_ms), --warmup more calls (default
    1), then timed calls (time.perf_counter around each forward, a monotonic
    clock) until they took --target seconds (default 1) and at least
    --min-reps (3) were made, at most --max-reps (1000); or exactly --reps;
  * median/min/max ms, GFLOP/s with the FLOP formula of docs/performance.md.

Layout: by default the (L, N, E) layout of mha (batch_first=False). With
--layout best, self-attention cases without weights are also timed with
batch_first=True, where PyTorch may take its fused "fast path"
(torch._native_multi_head_attention), and the faster of the two is kept; the
record says which ("layout").

Writes a JSON array with the field names of `mha bench --json` (plugin
"pytorch"). Exits 3 with a message on stderr when torch cannot be imported.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

SUITE = [  # N, L, S, E, H, need_weights
    (4, 128, 128, 512, 8, False),
    (4, 512, 512, 512, 8, False),
    (4, 128, 128, 512, 8, True),
    (4, 512, 512, 512, 8, True),
    (1, 2048, 2048, 512, 8, False),
    (1, 4096, 4096, 512, 8, False),
    (8, 1, 2048, 512, 8, False),
]


def flops(n, l, s, e, kdim=None, vdim=None):
    """The FLOP count of docs/performance.md (host/common/bench_stats.c)."""
    kdim = kdim or e
    vdim = vdim or e
    return (2 * n * l * e * e + 2 * n * s * kdim * e + 2 * n * s * vdim * e
            + 4 * n * l * s * e + 2 * n * l * e * e)


def describe(n, l, s, e, h, w):
    return f"N={n} L={l} S={s} E={e} H={h}" + (" weights" if w else "")


def time_case(torch, case, args, batch_first):
    n, l, s, e, h, need_weights = case
    gen = torch.Generator().manual_seed(args.seed)
    mha = torch.nn.MultiheadAttention(e, h, batch_first=batch_first).eval()
    with torch.no_grad():
        for p in mha.parameters():
            p.uniform_(-e ** -0.5, e ** -0.5, generator=gen)
    qshape = (n, l, e) if batch_first else (l, n, e)
    kshape = (n, s, e) if batch_first else (s, n, e)
    query = torch.rand(qshape, generator=gen) * 2 - 1
    kv = query if l == s else torch.rand(kshape, generator=gen) * 2 - 1

    def forward():
        t0 = time.perf_counter()
        mha(query, kv, kv, need_weights=need_weights)
        return (time.perf_counter() - t0) * 1e3

    with torch.no_grad():
        cold = forward()
        for _ in range(args.warmup):
            forward()
        times = []
        while True:
            if args.reps:
                if len(times) >= args.reps:
                    break
            elif len(times) >= args.max_reps or (
                    len(times) >= args.min_reps and sum(times) >= args.target * 1e3):
                break
            times.append(forward())
    return cold, times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="output file (JSON array)")
    ap.add_argument("--describe", metavar="VARIANT",
                    help="print one markdown line about this PyTorch (version, threads, the "
                         "BLAS libraries loaded) and exit")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=0, help="0 = automatic")
    ap.add_argument("--target", type=float, default=1.0)
    ap.add_argument("--min-reps", type=int, default=3)
    ap.add_argument("--max-reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layout", choices=["seq", "best"], default="seq")
    ap.add_argument("--cases", default="", help="comma-separated suite indices (default all)")
    args = ap.parse_args()
    try:
        import torch
    except Exception as exc:  # ImportError, or a broken install
        print(f"torch_mha.py: PyTorch is not available ({exc})", file=sys.stderr)
        return 3
    torch.set_num_threads(args.threads)
    if args.describe:
        a = torch.rand(64, 64)
        a @ a  # load the BLAS
        with open("/proc/self/maps") as fh:
            libs = sorted({ln.split()[-1] for ln in fh if "blas" in ln.lower() and "/" in ln})
        print(f"- PyTorch ({args.describe}): torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, BLAS loaded: {', '.join(libs) or 'none found'}")
        return 0
    if not args.json:
        ap.error("--json is required")
    cases = SUITE
    if args.cases:
        cases = [SUITE[int(i)] for i in args.cases.split(",")]
    device = f"{platform.processor() or platform.machine()} (torch {torch.__version__}, " \
             f"{torch.get_num_threads()} threads)"
    records = []
    start = time.monotonic()
    for case in cases:
        n, l, s, e, h, w = case
        layouts = [False]
        if args.layout == "best" and l == s and not w:
            layouts.append(True)
        best = None
        for bf in layouts:
            if time.monotonic() - start > 3:
                print(f"torch_mha.py [{time.monotonic() - start:6.1f} s]: "
                      f"{describe(*case)} batch_first={bf}", file=sys.stderr, flush=True)
            cold, times = time_case(torch, case, args, bf)
            med = statistics.median(times)
            if best is None or med < best[0]:
                best = (med, cold, times, bf)
        med, cold, times, bf = best
        f = flops(n, l, s, e)
        records.append({
            "plugin": "pytorch", "device": device, "device_spec": "cpu",
            "case": describe(*case), "batch": n, "tgt_len": l, "src_len": s,
            "embed_dim": e, "num_heads": h, "need_weights": w,
            "warmup": args.warmup, "reps": len(times),
            "median_ms": med, "min_ms": min(times), "max_ms": max(times),
            "flop": f, "gflops": f / (med * 1e6),
            "gemm_ms": None, "stages": None, "gemm_stages": None,
            "peak_device_bytes": None, "device_allocations": None,
            "steady_allocations": None, "backend_open_ms": None,
            "cold_first_ms": cold, "warm_first_ms": None,
            "layout": "batch_first" if bf else "seq_first",
            "threads": torch.get_num_threads(), "torch_version": torch.__version__,
        })
        print(f"pytorch    {describe(*case):34s} {len(times):5d} {med:10.3f} "
              f"{min(times):10.3f} {max(times):10.3f} {f / (med * 1e6):8.2f} "
              f"{'batch_first' if bf else 'seq_first'}", flush=True)
    with open(args.json, "w") as fh:
        json.dump(records, fh, indent=2)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
