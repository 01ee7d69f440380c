#!/bin/sh
# The OpenCL plugin's results do not depend on how many threads PoCL runs:
# the same forward with POCL_MAX_PTHREAD_COUNT=1 and =2 gives the same bytes.
# Usage: test_pocl_threads.sh PROGRAM WORKDIR
set -u
program=$1
work=$2
mkdir -p "$work"
for threads in 1 2; do
    if ! POCL_MAX_PTHREAD_COUNT=$threads "$program" "$work/threads$threads.bin"; then
        echo "FAIL: forward with POCL_MAX_PTHREAD_COUNT=$threads"
        exit 1
    fi
done
if cmp "$work/threads1.bin" "$work/threads2.bin"; then
    echo "ok: POCL_MAX_PTHREAD_COUNT=1 and =2 give identical output and weights" \
        "($(wc -c < "$work/threads1.bin") bytes)"
else
    echo "FAIL: results differ between 1 and 2 PoCL threads"
    exit 1
fi
