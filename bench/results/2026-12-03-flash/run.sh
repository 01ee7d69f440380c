#!/bin/sh
# The flash path against the fused and GEMM paths on PoCL (docs/performance.md,
# "The flash path on PoCL"), then peak device memory at L = S = 8192 (flash, GEMM).
# Usage: run.sh BUILD_DIR   (records and tables written beside this script)
# Run at 1fdb1de on 2026-12-03 13:52-13:56 UTC (the stage was then named
# "attention"; it is "flash" since 42e5093).
build=${1:?usage: run.sh BUILD_DIR}
out=$(dirname "$0")
for shape in "--batch 1 --tgt-len 512 --src-len 512" "--batch 1 --tgt-len 2048 --src-len 2048" "--batch 1 --tgt-len 1 --src-len 4096"; do
  for p in flash fused gemm; do
    tag=$(echo "$shape" | tr -d ' -' )
    MHA_OPENCL_ATTENTION=$p "$build/bin/mha" bench --plugin opencl $shape --embed-dim 512 --num-heads 8 --warmup 1 --reps 5 --json "$out/$p-$tag.json" > "$out/$p-$tag.txt" 2>&1
  done
done
for p in flash gemm; do
  MHA_OPENCL_ATTENTION=$p "$build/bin/mha" bench --plugin opencl --batch 1 --tgt-len 8192 --src-len 8192 --embed-dim 512 --num-heads 8 --warmup 0 --reps 1 --json "$out/$p-8192.json" > "$out/$p-8192.txt" 2>&1
done
