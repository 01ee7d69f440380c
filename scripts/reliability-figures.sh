#!/bin/sh
# Regenerates the figures of docs/reliability.md (between its "figures" markers)
# from the source tables and from the logs the last test runs left behind:
#
#   bad-input cases      tests/host/test_validation.c, entries of bad_cases[]
#   seed inputs          tests/fuzz/corpus/<harness>/ (files)
#   fault points, threads the output of reliability_alloc_faults and
#                        reliability_threads in $build/Testing/Temporary/LastTest.log
#   fuzz executions      $build_fuzz/fuzz-<harness>.log (scripts/fuzz.sh)
#   OpenCL fault points  the output of opencl_faults in the same log
#   sanitizer-clean      $build_asan/sanitize-asan.log, $build_tsan/sanitize-tsan.log,
#                        $build_asan_opencl/sanitize-asan-opencl.log (scripts/sanitize.sh)
#
# Usage: scripts/reliability-figures.sh [--stdout]
#   (run ./scripts/test.sh first, or the scripts above; --stdout prints the
#   table instead of rewriting docs/reliability.md)
# Environment: MHA_BUILD_DIR (default build), MHA_ASAN_BUILD_DIR, MHA_TSAN_BUILD_DIR,
# MHA_FUZZ_BUILD_DIR (defaults build-asan, build-tsan, build-fuzz).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MHA_BUILD_DIR:-"$root/build"}
build_asan=${MHA_ASAN_BUILD_DIR:-"$root/build-asan"}
build_tsan=${MHA_TSAN_BUILD_DIR:-"$root/build-tsan"}
build_asan_opencl=${MHA_ASAN_OPENCL_BUILD_DIR:-"$root/build-asan-opencl"}
build_fuzz=${MHA_FUZZ_BUILD_DIR:-"$root/build-fuzz"}
doc="$root/docs/reliability.md"
missing="not run (log missing)"

cases=$(awk '/static const bad_case bad_cases\[\] = \{/ {inside = 1; next}
             inside && /^};/ {exit}
             inside && /^[[:space:]]*\{"/ {n++}
             END {print n + 0}' "$root/tests/host/test_validation.c")

seeds() { find "$root/tests/fuzz/corpus/$1" -type f | wc -l | tr -d ' '; }

test_log="$build/Testing/Temporary/LastTest.log"
walk=$missing
threads=$missing
opencl_faults=$missing
if [ -f "$test_log" ]; then
    # Each test's output follows its "N/M Testing: NAME" line; the default
    # path's count and the absorbed path's are told apart by the test name.
    faults_of() {
        awk -v test="$1" '/^[0-9]+\/[0-9]+ Testing: / {name = $3}
                          name == test && /^[0-9]+ fault points walked$/ {n = $1}
                          END {print n}' "$test_log"
    }
    opencl_faults=$(faults_of opencl_faults)
    absorbed_faults=$(faults_of opencl_faults_absorbed)
    [ -z "$opencl_faults" ] || [ -z "$absorbed_faults" ] ||
        opencl_faults="$opencl_faults ($absorbed_faults on the absorbed path)"
    [ -n "$opencl_faults" ] || opencl_faults=$missing
    walk=$(sed -n 's/^fault-walk: host allocation points walked: //p' "$test_log" | tail -n 1)
    threads=$(sed -n 's/^threads: \(.*\), results bit-identical$/\1/p' "$test_log" | tail -n 1)
    [ -n "$walk" ] || walk=$missing
    [ -n "$threads" ] || threads=$missing
fi

fuzz_runs() { # harness -> "N executions in T s"
    log="$build_fuzz/fuzz-$1.log"
    if [ ! -f "$log" ]; then
        echo "$missing"
        return
    fi
    sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second(s)$/\1 executions in \2 s, no crash/p' \
        "$log" | tail -n 1
}

# "host 3, reference 6, ..." from the passed tests of a ctest log, or why not.
clean_suites() {
    log=$1
    if [ ! -f "$log" ]; then
        echo "$missing"
        return
    fi
    if ! grep -q "100% tests passed" "$log"; then
        echo "FAILED (see $log)"
        return
    fi
    awk '/Test +#[0-9]+: / && / Passed / {
             name = $0; sub(/.*Test +#[0-9]+: /, "", name); sub(/ .*/, "", name)
             split(name, parts, "_"); print parts[1]
         }' "$log" | sort | uniq -c |
        awk '{total += $1; line = line (NR > 1 ? ", " : "") $2 " " $1}
             END {print total " tests: " line}'
}

# The revision the main build was made from (its source folder's HEAD).
source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
revision=$(git -C "${source_dir:-$root}" rev-parse --short HEAD 2>/dev/null || echo unknown)
table=$(cat <<TABLE
| figure | value | from |
|---|---|---|
| bad-input cases in the validation table | $cases | \`tests/host/test_validation.c\`, \`bad_cases[]\` |
| seed inputs, \`.npy\` reader / public API | $(seeds npy) / $(seeds api) | \`tests/fuzz/corpus/{npy,api}\` |
| host allocation fault points walked | $walk | \`reliability_alloc_faults\` output |
| OpenCL fault points walked (allocations, enqueues, builds, CLBlast) | $opencl_faults | \`opencl_faults\`, \`opencl_faults_absorbed\` output |
| threads sharing one backend | $threads | \`reliability_threads\` output |
| fuzz executions, \`fuzz_npy\` | $(fuzz_runs npy) | \`build-fuzz/fuzz-npy.log\` |
| fuzz executions, \`fuzz_api\` | $(fuzz_runs api) | \`build-fuzz/fuzz-api.log\` |
| ASan + UBSan clean | $(clean_suites "$build_asan/sanitize-asan.log") | \`build-asan/sanitize-asan.log\` |
| TSan clean | $(clean_suites "$build_tsan/sanitize-tsan.log") | \`build-tsan/sanitize-tsan.log\` |
| ASan + UBSan clean, OpenCL on PoCL (LLVM/PoCL leaks suppressed) | $(clean_suites "$build_asan_opencl/sanitize-asan-opencl.log") | \`build-asan-opencl/sanitize-asan-opencl.log\` |

Generated by \`scripts/reliability-figures.sh\` from test logs of revision \`$revision\`.
TABLE
)

if [ "${1:-}" = "--stdout" ]; then
    printf '%s\n' "$table"
    exit 0
fi
begin='<!-- figures:begin (scripts/reliability-figures.sh writes this part) -->'
end='<!-- figures:end -->'
if ! grep -qF "$begin" "$doc" || ! grep -qF "$end" "$doc"; then
    echo "reliability-figures: $doc lacks the figures markers" >&2
    exit 1
fi
tmp="$doc.tmp"
printf '%s\n' "$table" >"$tmp.table"
awk -v begin="$begin" -v end="$end" -v table="$tmp.table" '
    $0 == begin {print; while ((getline line < table) > 0) print line; skip = 1; next}
    $0 == end {skip = 0}
    !skip {print}' "$doc" >"$tmp"
mv "$tmp" "$doc"
rm -f "$tmp.table"
echo "reliability-figures: updated $doc"
