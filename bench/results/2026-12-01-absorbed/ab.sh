#!/bin/sh
# Decoding (N=8 L=1 S=2048 E=512 H=8) alternated, five rounds: the opencl
# plugin on the fused path (MHA_OPENCL_ATTENTION=fused: the pipeline before
# the absorbed path, K and V projected by CLBlast), on its own choice (the
# absorbed path), and PyTorch + OpenBLAS (fetched by bench/run-side-by-side.sh
# into ~/.cache/mha-bench). Then the same N, S with L = 4, 16, 32, fused
# against absorbed (forced), three rounds: where the path choice's break-even
# lies. 2 warm-up and 9 timed calls each. Run from the repository root with
# the build in build/.
set -eu
out=$(dirname "$0")
blas=$HOME/.cache/mha-bench/root/usr/lib/x86_64-linux-gnu/openblas-pthread
case_args="--batch 8 --src-len 2048 --embed-dim 512 --num-heads 8 --warmup 2 --reps 9"
for r in 1 2 3 4 5; do
    MHA_OPENCL_ATTENTION=fused build/bin/mha bench --plugin opencl --tgt-len 1 $case_args \
        --json "$out/ab-fused-$r.json" >/dev/null 2>&1
    build/bin/mha bench --plugin opencl --tgt-len 1 $case_args --json "$out/ab-auto-$r.json" >/dev/null 2>&1
    LD_LIBRARY_PATH=$blas OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 /usr/bin/python3 \
        bench/torch_mha.py --threads 2 --layout best --cases 6 --warmup 2 --reps 9 \
        --json "$out/ab-torch-$r.json" >/dev/null 2>&1
done
for r in 1 2 3; do
    for L in 4 16 32; do
        for p in fused absorbed; do
            MHA_OPENCL_ATTENTION=$p build/bin/mha bench --plugin opencl --tgt-len $L $case_args \
                --json "$out/sweep-$p-L$L-$r.json" >/dev/null 2>&1
        done
    done
done
/usr/bin/python3 - "$out" <<'PY' >"$out/ab.md"
import json, sys
d = sys.argv[1]
def one(name):
    recs = json.load(open(f"{d}/{name}.json"))
    assert len(recs) == 1, name
    return recs[0]
def cell(xs, fmt="%.1f"):
    return ", ".join(fmt % x for x in xs)
f = [one(f"ab-fused-{r}") for r in range(1, 6)]
a = [one(f"ab-auto-{r}") for r in range(1, 6)]
t = [one(f"ab-torch-{r}") for r in range(1, 6)]
fm = [x["median_ms"] for x in f]
am = [x["median_ms"] for x in a]
tm = [x["median_ms"] for x in t]
print("Decoding, N=8 L=1 S=2048 E=512 H=8, five rounds (median of 9 calls each, ms):\n")
print("| fused path ms | absorbed (default) ms | PyTorch+OpenBLAS ms | fused / absorbed | PyTorch / absorbed | peak MiB fused, absorbed |")
print("|---|---|---|---|---|---|")
print(f"| {cell(fm)} | {cell(am)} | {cell(tm)} | {cell([x / y for x, y in zip(fm, am)], '%.1f')} | "
      f"{cell([x / y for x, y in zip(tm, am)], '%.1f')} | "
      f"{f[0]['peak_device_bytes'] / 2**20:.1f}, {a[0]['peak_device_bytes'] / 2**20:.1f} |")
print("\nStages of the absorbed calls (median ms, round 1): " +
      ", ".join(f"{k} {v:.2f}" for k, v in a[0]["stages"].items()))
print("\nN=8 S=2048 E=512 H=8, three rounds, fused against absorbed (forced), median ms:\n")
print("| L | flops projected / absorbed | fused ms | absorbed ms | fused / absorbed |")
print("|---|---|---|---|---|")
for L in (4, 16, 32):
    fs = [one(f"sweep-fused-L{L}-{r}")["median_ms"] for r in (1, 2, 3)]
    ab = [one(f"sweep-absorbed-L{L}-{r}")["median_ms"] for r in (1, 2, 3)]
    S, E, H, kv = 2048, 512, 8, 1024
    gain = (S * E * kv + 2 * L * S * E) / (H * L * S * kv + L * E * kv)
    print(f"| {L} | {gain:.2f} | {cell(fs)} | {cell(ab)} | {cell([x / y for x, y in zip(fs, ab)], '%.2f')} |")
PY
cat "$out/ab.md"
