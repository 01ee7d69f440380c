#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz with clang (build-fuzz: libmha,
# the reference plugin and host/common instrumented for coverage, ASan and
# UBSan) and runs each for a bounded time over its committed seed corpus.
#
# Usage: scripts/fuzz.sh [HARNESS...]        (default: npy api)
# Environment:
#   MHA_FUZZ_SECONDS   time per harness (default 20)
#   MHA_FUZZ_BUILD_DIR build folder (default build-fuzz)
#   MHA_FUZZ_CC        compiler (default clang)
# New inputs go to $build/corpus/<harness> (the committed corpus is only read);
# a crash leaves its input in $build/artifacts/ and fails the script: add that
# file to tests/fuzz/corpus/<harness>/ as crash-<what> and fix the bug, so the
# replay test (fuzz_replay_<harness>, every build) keeps it fixed. The log of
# each run is $build/fuzz-<harness>.log (scripts/reliability-figures.sh reads
# the executions from it).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MHA_FUZZ_BUILD_DIR:-"$root/build-fuzz"}
seconds=${MHA_FUZZ_SECONDS:-20}
cc=${MHA_FUZZ_CC:-clang}
jobs=$(nproc 2>/dev/null || echo 2)
harnesses=${*:-npy api}

# Everything is instrumented; the harness executables add -fsanitize=fuzzer
# (tests/fuzz/CMakeLists.txt). libmha and the plugin are shared objects linked
# with -Wl,--no-undefined, so they use clang's shared ASan runtime
# (-shared-libasan), found at run time through an rpath. libFuzzer links
# libstdc++ ahead of that runtime, so the runs preload it to put it first, as
# ASan requires.
runtime_dir=$(dirname "$("$cc" -print-file-name=libclang_rt.asan-x86_64.so)")
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
link="-shared-libasan -fsanitize=address,undefined -Wl,-rpath,$runtime_dir"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
    -DMHA_WERROR=ON -DMHA_BUILD_OPENCL=OFF -DMHA_BUILD_FUZZERS=ON \
    -DCMAKE_C_FLAGS="-O1 -g -fsanitize=fuzzer-no-link $sanitize" \
    -DCMAKE_EXE_LINKER_FLAGS="$link" -DCMAKE_SHARED_LINKER_FLAGS="$link" \
    -DCMAKE_MODULE_LINKER_FLAGS="$link" >/dev/null
targets=""
for harness in $harnesses; do
    targets="$targets fuzz_$harness"
done
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target mha_plugin_reference $targets

mkdir -p "$build/artifacts"
for harness in $harnesses; do
    corpus="$root/tests/fuzz/corpus/$harness"
    scratch="$build/corpus/$harness"
    mkdir -p "$scratch"
    log="$build/fuzz-$harness.log"
    echo "fuzz.sh: fuzz_$harness for ${seconds}s over $corpus"
    # Only the reference plugin of this build; no plugin from the environment.
    if ! MHA_PLUGIN_PATH= MHA_BACKEND= LD_PRELOAD="$runtime_dir/libclang_rt.asan-x86_64.so" \
        ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1" \
        "$build/bin/fuzz_$harness" "$scratch" "$corpus" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -artifact_prefix="$build/artifacts/$harness-" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz.sh: fuzz_$harness failed; the input is in $build/artifacts/" >&2
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz.sh: fuzz_$harness: ${runs:-?} executions, no crash"
done
