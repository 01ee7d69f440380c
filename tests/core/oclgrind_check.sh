#!/bin/sh
# Runs a test program on Oclgrind (an OpenCL simulator that reports
# out-of-bounds accesses, data races and barrier divergence) as the only
# OpenCL platform, and fails on any report. (Its uninitialised-read checker
# stops at LLVM's `freeze` instruction, which Debian's Oclgrind 21.10 does
# not know, so it is not turned on.)
# Usage: oclgrind_check.sh WORK_DIR PROGRAM [ARGS...]
set -u
work=$1
shift
icd=/usr/lib/oclgrind/liboclgrind-rt-icd.so
if [ ! -f "$icd" ]; then
    echo "oclgrind is not installed ($icd): skipped"
    exit 77
fi
mkdir -p "$work/vendors"
echo "$icd" >"$work/vendors/oclgrind.icd"
OCL_ICD_VENDORS="$work/vendors" MHA_OPENCL_CACHE_DIR="$work/cache" OCLGRIND_DATA_RACES=1 \
    "$@" >"$work/stdout" 2>"$work/stderr"
rc=$?
cat "$work/stdout"
# Oclgrind's diagnostics go to stderr; anything else there is ours to show.
if grep -Eiq "invalid (read|write)|data race|uninitiali[sz]ed|barrier|out-of-bounds|oclgrind" "$work/stderr"; then
    echo "oclgrind reported:"
    cat "$work/stderr"
    exit 1
fi
cat "$work/stderr"
exit $rc
