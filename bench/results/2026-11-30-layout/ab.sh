#!/bin/sh
# Alternates three runs of the standard suite, three rounds: the opencl plugin
# before this change (a build of 55f36fa in $OLD, default /tmp/ab-old), after
# it (build/), and PyTorch + OpenBLAS (fetched by bench/run-side-by-side.sh
# into ~/.cache/mha-bench). Ratios are taken per round: this machine's noise
# is 20-50% from minute to minute, so every case gets 2 warm-up and 9 timed
# calls (the suite's automatic count gives decoding only 3). Run from the
# repository root.
set -eu
out=$(dirname "$0")
old=${OLD:-/tmp/ab-old}
blas=$HOME/.cache/mha-bench/root/usr/lib/x86_64-linux-gnu/openblas-pthread
for r in 1 2 3; do
    "$old/build/bin/mha" bench --suite standard --plugin opencl --warmup 2 --reps 9 --json "$out/ab-before-$r.json" >/dev/null 2>&1
    build/bin/mha bench --suite standard --plugin opencl --warmup 2 --reps 9 --json "$out/ab-after-$r.json" >/dev/null 2>&1
    LD_LIBRARY_PATH=$blas OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 /usr/bin/python3 \
        bench/torch_mha.py --threads 2 --layout best --warmup 2 --reps 9 --json "$out/ab-torch-$r.json" >/dev/null 2>&1
done
/usr/bin/python3 - "$out" <<'PY' >"$out/ab.md"
import json, sys
d = sys.argv[1]
def key(r):
    return (r["batch"], r["tgt_len"], r["src_len"], bool(r["need_weights"]))
def load(name, i):
    return {key(r): r for r in json.load(open(f"{d}/ab-{name}-{i}.json"))}
rounds = [(load("before", i), load("after", i), load("torch", i)) for i in (1, 2, 3)]
def cell(xs, fmt="%.1f"):
    return ", ".join(fmt % x for x in xs)
print("| case | before ms | after ms | before / after | PyTorch+OpenBLAS ms | PyTorch / after |")
print("|---|---|---|---|---|---|")
for k in rounds[0][1]:
    b = [rd[0][k]["median_ms"] for rd in rounds]
    a = [rd[1][k]["median_ms"] for rd in rounds]
    t = [rd[2][k]["median_ms"] for rd in rounds]
    name = f"N={k[0]} L={k[1]} S={k[2]}" + (" weights" if k[3] else "")
    print(f"| {name} | {cell(b)} | {cell(a)} | {cell([x / y for x, y in zip(b, a)], '%.2f')} | "
          f"{cell(t)} | {cell([x / y for x, y in zip(t, a)], '%.2f')} |")
PY
cat "$out/ab.md"
