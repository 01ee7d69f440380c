#!/bin/sh
# Builds mha with sanitizers in separate build folders and runs the suites
# that do not need OpenCL (host, reference, common, cli, torch, reliability):
#
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (leak checking on),
#         every report fatal (-fno-sanitize-recover=all)      -> build-asan
#   tsan  ThreadSanitizer on the threaded reliability test (reliability_threads)
#         and the host tests (host_*)                         -> build-tsan
#   asan-opencl  AddressSanitizer + UndefinedBehaviorSanitizer on the OpenCL
#         tests on PoCL alone (MHA_SANITIZE_OPENCL_ICD, default PoCL's .icd:
#         other installed drivers, Mesa's rusticl among them, leak on their
#         own and are checked without a sanitizer, docs/portability.md),
#         LeakSanitizer with the library-name suppressions of
#         scripts/sanitizers/lsan-opencl.supp (LLVM and PoCL only, each
#         justified there)                                   -> build-asan-opencl
#
# Usage: scripts/sanitize.sh [asan] [tsan] [asan-opencl]   (no argument: all)
# Environment: MHA_SANITIZE_CC (default gcc: its sanitizer runtimes are shared
# libraries, so plugins linked with -Wl,--no-undefined resolve their
# __asan_*/__tsan_* symbols; clang's static runtime leaves them undefined),
# MHA_ASAN_BUILD_DIR, MHA_TSAN_BUILD_DIR.
#
# asan and tsan build with MHA_BUILD_OPENCL=OFF and suppress nothing. The
# asan-opencl mode suppresses leaks by library name (LLVM, PoCL) only; none of
# mha's code is excluded from instrumentation in any mode.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cc=${MHA_SANITIZE_CC:-gcc}
modes=${*:-asan tsan asan-opencl}

configure() { # build-dir sanitizer-flags [OpenCL ON|OFF]
    flags="-O1 -g -fno-omit-frame-pointer $2"
    cmake -S "$root" -B "$1" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
        -DMHA_WERROR=ON -DMHA_BUILD_OPENCL="${3:-OFF}" -DMHA_BUILD_FUZZERS=OFF \
        -DCMAKE_C_FLAGS="$flags" \
        -DCMAKE_EXE_LINKER_FLAGS="$2" -DCMAKE_SHARED_LINKER_FLAGS="$2" \
        -DCMAKE_MODULE_LINKER_FLAGS="$2" >/dev/null
    cmake --build "$1" -j "$jobs"
}

for mode in $modes; do
    case $mode in
    asan)
        build=${MHA_ASAN_BUILD_DIR:-"$root/build-asan"}
        configure "$build" "-fsanitize=address,undefined -fno-sanitize-recover=all"
        # detect_leaks: LeakSanitizer at exit of every test program.
        # abort_on_error=0 and exitcode: a report fails the test with a
        # non-zero status that ctest shows, with the report in its output.
        ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_string_checks=1:detect_stack_use_after_return=1" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
            ctest --test-dir "$build" --output-on-failure -j "$jobs" -E opencl \
            --output-log "$build/sanitize-asan.log"
        echo "sanitize.sh: asan+ubsan: clean"
        ;;
    tsan)
        build=${MHA_TSAN_BUILD_DIR:-"$root/build-tsan"}
        configure "$build" "-fsanitize=thread"
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
            ctest --test-dir "$build" --output-on-failure -j "$jobs" \
            -R '^(host_|reliability_threads$)' \
            --output-log "$build/sanitize-tsan.log"
        echo "sanitize.sh: tsan: clean"
        ;;
    asan-opencl)
        build=${MHA_ASAN_OPENCL_BUILD_DIR:-"$root/build-asan-opencl"}
        configure "$build" "-fsanitize=address,undefined -fno-sanitize-recover=all" ON
        # One driver, PoCL: rusticl's library leaks 72 bytes at exit even
        # when it lists no device, and any installed .icd is loaded into
        # every process when OCL_ICD_VENDORS names the whole folder.
        icd=${MHA_SANITIZE_OPENCL_ICD:-/etc/OpenCL/vendors/pocl.icd}
        [ -e "$icd" ] || icd=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
        OCL_ICD_VENDORS="$icd" \
        ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_string_checks=1" \
        LSAN_OPTIONS="suppressions=$root/scripts/sanitizers/lsan-opencl.supp:print_suppressions=0" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
            ctest --test-dir "$build" --output-on-failure -j "$jobs" -R opencl \
            --output-log "$build/sanitize-asan-opencl.log"
        echo "sanitize.sh: asan+ubsan on the OpenCL tests: clean (LLVM/PoCL leaks suppressed)"
        ;;
    *)
        echo "sanitize.sh: unknown mode '$mode' (asan, tsan, asan-opencl)" >&2
        exit 2
        ;;
    esac
done
