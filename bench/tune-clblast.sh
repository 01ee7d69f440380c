#!/bin/sh
# tune-clblast.sh - runs CLBlast's GEMM tuners (Debian's clblast-utils) for one
# OpenCL device and writes the best parameters where the opencl plugin finds
# them: the cache directory's clblast-<device name>-<driver>.txt (see
# docs/opencl.md, "CLBlast tuning"). The plugin applies them with
# CLBlastOverrideParameters when it creates a context on that device.
#
# usage: bench/tune-clblast.sh [--mha PATH] [--device P.D] [--size N]
#            [--budget SECONDS] [--fraction F] [--out FILE]
#
#   --mha PATH        the mha command (default: build/bin/mha), for the device's
#                     name and driver as the plugin sees them
#   --device P.D      platform P, device D (default 0.0; `mha devices` lists them)
#   --size N          the tuners' M = N = K (default 512: attention's projections,
#                     Q.K^T and P.V at E = 512 are of that order)
#   --budget SECONDS  wall-clock limit of each tuner (default 900 for xgemm,
#                     a third of it for xgemm_direct); a tuner stopped by the
#                     limit keeps the best of the phases it finished
#   --fraction F      share of the random-search phases tried (default 0.01)
#   --out FILE        write here instead of the cache directory
#                     ($MHA_OPENCL_CACHE_DIR, else $XDG_CACHE_HOME/mha, else
#                     ~/.cache/mha)
#
# Tuning takes minutes to an hour and wants an otherwise idle machine. It is a
# one-off per device and driver, never part of CI. To measure with and
# without: MHA_OPENCL_TUNING_FILE=off mha bench ... turns the file off.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
MHA=$root/build/bin/mha
SPEC=0.0
SIZE=512
BUDGET=900
FRACTION=0.01
OUT=""
while [ $# -gt 0 ]; do
    case $1 in
    --mha) MHA=$2; shift 2 ;;
    --device) SPEC=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    --fraction) FRACTION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "tune-clblast.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done
say() { echo "tune-clblast: $*" >&2; }

for t in clblast_tuner_xgemm clblast_tuner_xgemm_direct; do
    command -v "$t" >/dev/null 2>&1 || { say "$t missing (apt-get install clblast-utils)"; exit 1; }
done
[ -x "$MHA" ] || { say "no mha command at $MHA (--mha PATH)"; exit 1; }
case $SPEC in *.*) ;; *) say "--device wants P.D"; exit 2 ;; esac
P=${SPEC%%.*}
D=${SPEC#*.}

# The device's name and driver exactly as the plugin reports them.
line=$("$MHA" devices --plugin opencl | grep "opencl:$SPEC " || true)
[ -n "$line" ] || { say "no device opencl:$SPEC (mha devices --plugin opencl)"; exit 1; }
name=$(printf '%s\n' "$line" | sed -n 's/.* name="\([^"]*\)".*/\1/p')
driver=$(printf '%s\n' "$line" | sed -n 's/.* driver="\([^"]*\)".*/\1/p')

if [ -z "$OUT" ]; then
    if [ -n "${MHA_OPENCL_CACHE_DIR:-}" ] && [ "$MHA_OPENCL_CACHE_DIR" != off ]; then
        dir=$MHA_OPENCL_CACHE_DIR
    elif [ -n "${XDG_CACHE_HOME:-}" ]; then
        dir=$XDG_CACHE_HOME/mha
    else
        dir=$HOME/.cache/mha
    fi
    safe=$(printf '%s-%s' "$name" "$driver" | tr -c 'A-Za-z0-9._-' '_')
    OUT=$dir/clblast-$safe.txt
fi
mkdir -p "$(dirname "$OUT")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs tuner $1 for $2 seconds; prints "GFLOPS PARAMS" of its best finished
# phase (PRECISION dropped), nothing when none finished.
tune() {
    say "$1 on $name (platform $P, device $D), M=N=K=$SIZE, at most $2 s"
    (cd "$work" && timeout "$2" "$1" -platform "$P" -device "$D" -precision 32 -m "$SIZE" \
        -n "$SIZE" -k "$SIZE" -fraction "$FRACTION" -runs 2 >"$work/$1.log" 2>&1) || true
    sed 's/\x1b\[[0-9;]*m//g' "$work/$1.log" | awk '
        /Found best result/ { for (i = 1; i <= NF; ++i) if ($i == "GFLOPS") g = $(i - 1) }
        /Best parameters:/ {
            p = ""
            for (i = 4; i <= NF; ++i) if ($i !~ /^PRECISION=/) p = p " " $i
            if (g + 0 > best + 0) { best = g; bp = p }
        }
        END { if (bp != "") print best bp }'
}

gemm=$(tune clblast_tuner_xgemm "$BUDGET")
direct=$(tune clblast_tuner_xgemm_direct $((BUDGET / 3)))
[ -n "$gemm$direct" ] || { say "no tuner finished a phase: raise --budget"; exit 1; }
g_gemm=${gemm%% *}
g_direct=${direct%% *}

{
    echo "# CLBlast parameters for the mha opencl plugin, by bench/tune-clblast.sh"
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), M=N=K=$SIZE, budget ${BUDGET} s, fraction $FRACTION"
    echo "# Xgemm: ${g_gemm:-not tuned} GFLOP/s, XgemmDirect: ${g_direct:-not tuned} GFLOP/s"
    echo "device $name"
    echo "driver $driver"
    [ -n "$gemm" ] && echo "kernel Xgemm ${gemm#* }"
    [ -n "$direct" ] && echo "kernel XgemmDirect ${direct#* }"
    # Indirect (padded, Xgemm) from 128^3 multiply-adds up when it is the
    # faster kernel, else direct up to 2048^3.
    if [ -n "$gemm" ] && [ -n "$direct" ]; then
        if awk -v a="$g_gemm" -v b="$g_direct" 'BEGIN { exit !(a >= b) }'; then
            echo "kernel GemmRoutine XGEMM_MIN_INDIRECT_SIZE=128"
        else
            echo "kernel GemmRoutine XGEMM_MIN_INDIRECT_SIZE=2048"
        fi
    fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
say "wrote $OUT"
cat "$OUT"
