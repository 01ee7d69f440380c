#!/bin/sh
# Compiles each OpenCL program of the plugin, exactly as the plugin joins it
# (cl/shared.h + cl/philox.cl + cl/common.cl + the program's file, printed by
# the program_source tool of tests/portability), with clang-15 for GPU targets
# we cannot run here, warnings as errors:
#   gfx906, gfx1030, gfx1100  amdgcn-amd-amdhsa (AMD Vega 20, RDNA2, RDNA3), -S
#   nvptx64                   nvptx64-nvidia-nvcl (NVIDIA's OpenCL), -S: PTX
#                             (no ptxas here, so PTX is as far as it goes)
#   spir64                    SPIR 64-bit LLVM bitcode, -emit-llvm -c
# The amdgcn targets link ROCm's device libraries (Debian's rocm-device-libs,
# 5.2: gfx906 and gfx1030, not gfx1100) where they have the target, else
# compile with -nogpulib; the result lines say which.
# Programs are picked up from the kernel table: a new OCL_PROGRAMS line is
# compiled with no change here.
#
# Usage: scripts/offline-compile.sh [--full] PROGRAM_SOURCE OUT_DIR
#   PROGRAM_SOURCE  the program_source tool (build/bin/program_source)
#   OUT_DIR         where the joined sources, outputs and logs go
#   --full          the amdgcn targets at -O2 as well (minutes: the flash
#                   and fused programs' unrolled loops), not only at -O0.
# nvptx64 and spir64 are compiled at -O2, the amdgcn targets at -O0 unless
# --full: the checks are the front end's (OpenCL C, warnings) and that each
# backend lowers every operation, which -O0 does in a second where -O2 takes
# over two minutes on two cores. With --full, the amdgcn kernels' registers,
# spills and scratch (private memory) per work-item are printed from the
# code-object metadata.
# CLANG names another compiler (default clang-15); JOBS the parallel
# compiles (default: the processors). Exit status: 0 all clean, 1 a compile
# failed or warned, 77 no such compiler (skipped), 2 usage.
set -u

if [ "${1:-}" = "--one" ]; then
    # One compile (run by xargs below): --one PROGRAM TARGET OPT
    program=$2 target=$3 opt=$4
    libs=""
    case $target in
    gfx*)
        flags="-target amdgcn-amd-amdhsa -mcpu=$target -S" ext=s
        # ROCm's device libraries implement the builtins (exp, ...); without
        # them (-nogpulib) every builtin is an external call, which distorts
        # the registers and scratch the backend reports.
        if [ -n "$ROCM_LIBS" ] && [ -f "$ROCM_LIBS/oclc_isa_version_${target#gfx}.bc" ]; then
            flags="$flags --rocm-device-lib-path=$ROCM_LIBS" libs="device libs"
        else
            flags="$flags -nogpulib" libs="-nogpulib"
        fi
        ;;
    nvptx64) flags="-target nvptx64-nvidia-nvcl -S" ext=ptx ;;
    spir64) flags="-target spir64 -emit-llvm -c" ext=bc ;;
    *) echo "offline-compile: unknown target $target" >&2; exit 2 ;;
    esac
    name="$program.$target$opt"
    start=$(date +%s.%N)
    # -Wno-unused-function: common.cl's helpers are shared by every program
    # and each program uses only some of them.
    # shellcheck disable=SC2086
    "$CLANG" -cl-std=CL1.2 -Xclang -finclude-default-header $opt $flags \
        -Werror -Wall -Wextra -Wno-unused-function \
        "$OUT/$program.cl" -o "$OUT/$name.$ext" >"$OUT/$name.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" -eq 0 ] && [ ! -s "$OUT/$name.log" ]; then
        result=ok
    else
        result="FAILED (exit status $rc)"
    fi
    printf '%-10s %-8s %-4s %-11s %6s s  %s\n' "$program" "$target" "$opt" "$libs" "$seconds" \
        "$result" >"$OUT/$name.result"
    echo "$libs" >"$OUT/$name.libs"
    exit 0
fi

full=0
if [ "${1:-}" = "--full" ]; then
    full=1
    shift
fi
if [ $# -ne 2 ]; then
    echo "usage: scripts/offline-compile.sh [--full] PROGRAM_SOURCE OUT_DIR" >&2
    exit 2
fi
tool=$1
OUT=$2
CLANG=${CLANG:-clang-15}
ROCM_LIBS=${ROCM_DEVICE_LIBS:-$(ls -d /usr/lib/*/amdgcn/bitcode 2>/dev/null | head -n 1)}
export OUT CLANG ROCM_LIBS
if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "offline-compile: $CLANG is not installed: skipped"
    exit 77
fi
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
mkdir -p "$OUT"
rm -f "$OUT"/*.result "$OUT"/*.log "$OUT"/*.libs

programs=$("$tool" --list) || exit 1
list=""
for program in $programs; do
    "$tool" "$program" >"$OUT/$program.cl" || exit 1
    for target in gfx906 gfx1030 gfx1100; do
        list="$list $program $target -O0"
        [ "$full" -eq 1 ] && list="$list $program $target -O2"
    done
    list="$list $program nvptx64 -O2 $program spir64 -O2"
done
echo "offline-compile: $("$CLANG" --version | head -n 1); programs:" $programs
echo "offline-compile: -cl-std=CL1.2 -Werror -Wall -Wextra -Wno-unused-function, $jobs at a time;" \
    "device libraries: ${ROCM_LIBS:-none}"
# shellcheck disable=SC2086
printf '%s %s %s\n' $list | xargs -n 3 -P "$jobs" sh "$0" --one
cat "$OUT"/*.result
failed=0
for result in "$OUT"/*.result; do
    if ! grep -q ' ok$' "$result"; then
        failed=1
        log="${result%.result}.log"
        echo "offline-compile: $(basename "${result%.result}"):"
        head -n 40 "$log"
    fi
done

if [ "$full" -eq 1 ]; then
    # Per kernel, from the code-object metadata of the -O2 amdgcn outputs.
    echo "offline-compile: amdgcn -O2 resources per work-item (bytes of scratch, i.e. private"
    echo "memory, and of local memory), where compiled with the device libraries:"
    printf '%-8s %-30s %8s %6s %6s %7s %7s\n' target kernel scratch vgprs sgprs vspills local
    for s in "$OUT"/*.gfx*-O2.s; do
        [ -f "$s" ] && grep -q 'device libs' "${s%.s}.libs" || continue
        target=${s%-O2.s}
        target=${target##*.}
        awk -v target="$target" '
            $1 == ".group_segment_fixed_size:" { local = $2 }
            $1 == ".name:" { name = $2 }
            $1 == ".private_segment_fixed_size:" { scratch = $2 }
            $1 == ".sgpr_count:" { sgprs = $2 }
            $1 == ".vgpr_count:" { vgprs = $2 }
            $1 == ".vgpr_spill_count:" {
                printf "%-8s %-30s %8s %6s %6s %7s %7s\n", target, name, scratch, vgprs, sgprs,
                       $2, local
            }' "$s"
    done | sort -k2,2 -k1,1
fi

if [ "$failed" -ne 0 ]; then
    echo "offline-compile: FAILED"
    exit 1
fi
echo "offline-compile: every program compiled cleanly for every target"
exit 0
