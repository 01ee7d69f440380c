#!/bin/sh
# Runs test commands on Oclgrind (an OpenCL simulator that reports
# out-of-bounds accesses, data races between work-items, work-group
# divergence at barriers and misuse of the OpenCL API) as the only OpenCL
# platform, and fails on any report about one of our kernels.
#
# Usage: oclgrind_check.sh WORK_DIR COMMAND...
# Each COMMAND is one shell command line (run with sh -c), in turn, each with
# its own Oclgrind log (OCLGRIND_LOG), so that Oclgrind's reports are kept
# apart from what the programs print. A report is a paragraph of the log; it
# names the kernel it is about ("\tKernel: NAME"):
#   - a kernel whose name starts with mha_ is ours: the check fails;
#   - another kernel (CLBlast's: Xgemm..., XgemmDirect..., copy and pad
#     kernels) is not ours: its reports are listed, and do not fail the check;
#   - a report that names no kernel (an API error, Oclgrind's own errors)
#     fails the check.
# The check also fails when a command exits non-zero; it exits 77 (skipped)
# when oclgrind is not installed or every command exited 77. A command must
# run one OpenCL process: each process Oclgrind starts rewrites the log, so
# the reports of all but the last would be lost (seen: a command of two
# processes, the first with 1000 reports, came out clean).
#
# Not turned on here: Oclgrind's uninitialised-value checker
# (OCLGRIND_UNINITIALIZED). At -O2 it stops at LLVM's `freeze` instruction,
# which Debian's Oclgrind 21.10 does not know, so a command that builds its
# programs with -cl-opt-disable turns it on itself (tests/portability).
# Oclgrind 21.10's checker also carries a released buffer's state over to the
# next buffer given its index, and takes a host write (clEnqueueWriteBuffer at
# a nonzero offset or of part of a buffer, clEnqueueFillBuffer,
# clEnqueueCopyBufferRect) as the whole of the buffer's state
# (docs/portability.md).
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
rm -f "$work"/oclgrind-*.log

failed=0
ran=0
index=0
for command in "$@"; do
    index=$((index + 1))
    log="$work/oclgrind-$index.log"
    echo "oclgrind_check: [$index] $command"
    OCL_ICD_VENDORS="$work/vendors" MHA_OPENCL_CACHE_DIR="$work/cache" \
        OCLGRIND_DATA_RACES=1 OCLGRIND_CHECK_API=1 OCLGRIND_LOG="$log" \
        sh -c "$command"
    rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "oclgrind_check: [$index] skipped (exit status 77)"
        continue
    fi
    ran=$((ran + 1))
    if [ "$rc" -ne 0 ]; then
        echo "oclgrind_check: [$index] FAILED: exit status $rc"
        failed=1
    fi
    [ -s "$log" ] || continue
    # One line per report: "ours|theirs|unknown<TAB>kernel<TAB>first line".
    awk 'BEGIN { RS = "" }
        {
            title = $0; sub(/\n.*/, "", title)
            kernel = ""
            if (match($0, /\tKernel: *[A-Za-z_][A-Za-z_0-9]*/)) {
                kernel = substr($0, RSTART, RLENGTH); sub(/.*Kernel: */, "", kernel)
            }
            owner = kernel == "" ? "unknown" : kernel ~ /^mha_/ ? "ours" : "theirs"
            printf "%s\t%s\t%s\n", owner, kernel, title
        }' "$log" >"$log.summary"
    ours=$(grep -c '^ours' "$log.summary")
    theirs=$(grep -c '^theirs' "$log.summary")
    unknown=$(grep -c '^unknown' "$log.summary")
    echo "oclgrind_check: [$index] reports: $ours in our kernels, $theirs in others'," \
        "$unknown naming no kernel"
    if [ "$theirs" -gt 0 ]; then
        echo "oclgrind_check: [$index] reports in kernels that are not ours (not failing):"
        grep '^theirs' "$log.summary" | cut -f2,3 | sort | uniq -c
    fi
    if [ "$ours" -gt 0 ] || [ "$unknown" -gt 0 ]; then
        echo "oclgrind_check: [$index] FAILED: Oclgrind reported (log $log):"
        awk 'BEGIN { RS = ""; ORS = "\n\n" }
            !/\tKernel: *[A-Za-z_][A-Za-z_0-9]*/ || /\tKernel: *mha_/' "$log" | head -n 200
        failed=1
    fi
done
if [ "$ran" -eq 0 ]; then
    echo "oclgrind_check: every command skipped"
    exit 77
fi
if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "oclgrind_check: no report in our kernels"
exit 0
