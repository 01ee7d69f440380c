#!/bin/sh
# The attention core's bench shapes on mha (`mha bench --suite core`) and on
# PyTorch (CPU, bench/torch_core.py) in one run, alternated twice, so the two
# are measured under the same load. Usage: bench/run-core-side-by-side.sh
# [BUILD_DIR] [PLUGIN] > results.txt   (defaults: build, opencl)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
plugin=${2:-opencl}
threads=$(nproc 2>/dev/null || echo 2)
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $threads processors; mha $(git -C "$root" rev-parse --short HEAD)"
for round in 1 2; do
    echo "# round $round"
    "$build/bin/mha" bench --suite core --plugin "$plugin" --warmup 1 --reps 2
    if /usr/bin/python3 -c "import torch" 2>/dev/null; then
        /usr/bin/python3 "$root/bench/torch_core.py" --reps 3 --threads "$threads"
    else
        echo "torch      (python3-torch is not installed: no PyTorch figures)"
    fi
done
