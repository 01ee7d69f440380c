#!/bin/sh
# A stand-in for program_source with one program, "warns", whose kernel has an
# unused variable: offline_compile_selftest checks that
# scripts/offline-compile.sh fails on a warning.
if [ "$1" = "--list" ]; then
    echo warns
else
    printf '%s\n' "kernel void warns(global float *a)" "{" "    int unused = 1;" \
        "    a[get_global_id(0)] = 0.0f;" "}"
fi
