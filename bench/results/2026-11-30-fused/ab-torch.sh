#!/bin/sh
# Alternates the opencl plugin's standard suite and PyTorch + OpenBLAS (the
# peer that beat us before) three times, to take the ratio of each round's
# medians on this noisy machine. Run from the repository root after
# bench/run-side-by-side.sh (which fetched OpenBLAS into ~/.cache/mha-bench).
set -eu
out=$(dirname "$0")
blas=$HOME/.cache/mha-bench/root/usr/lib/x86_64-linux-gnu/openblas-pthread
for r in 1 2 3; do
    build/bin/mha bench --suite standard --plugin opencl --json "$out/ab-opencl-$r.json" >/dev/null 2>&1
    LD_LIBRARY_PATH=$blas OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 /usr/bin/python3 \
        bench/torch_mha.py --threads 2 --layout best --json "$out/ab-torch-$r.json" >/dev/null 2>&1
done
/usr/bin/python3 - "$out" <<'PY' >"$out/ab-torch.md"
import json, sys
d = sys.argv[1]
def key(r):
    return (r["batch"], r["tgt_len"], r["src_len"], bool(r["need_weights"]))
print("| case | opencl ms (3 rounds) | PyTorch+OpenBLAS ms | PyTorch / opencl per round |")
print("|---|---|---|---|")
rounds = [({key(r): r for r in json.load(open(f"{d}/ab-opencl-{i}.json"))},
           {key(r): r for r in json.load(open(f"{d}/ab-torch-{i}.json"))}) for i in (1, 2, 3)]
for k in rounds[0][0]:
    o = [rd[0][k]["median_ms"] for rd in rounds]
    t = [rd[1][k]["median_ms"] for rd in rounds]
    name = f"N={k[0]} L={k[1]} S={k[2]}" + (" weights" if k[3] else "")
    print(f"| {name} | {', '.join('%.1f' % x for x in o)} | {', '.join('%.1f' % x for x in t)} | "
          f"{', '.join('%.2f' % (b / a) for a, b in zip(o, t))} |")
PY
cat "$out/ab-torch.md"
