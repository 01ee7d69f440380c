#!/bin/sh
# run-side-by-side.sh - the standard suite of `mha bench` on every plugin found,
# and in the same run PyTorch's torch.nn.MultiheadAttention on the CPU; writes
# bench/results/<date>/results.md (machine, table) and gflops.png (plot).
#
# usage: bench/run-side-by-side.sh [--mha PATH] [--out DIR] [--plugins "A B"]
#            [--reference-max-gflop X | --reference-all] [--torch-blas WHICH]
#            [--no-torch]
#
#   --mha PATH       a prebuilt mha command (default: build/bin/mha, built now from
#                    the working tree); results.md gives its build time and its
#                    plugins', to compare with the commit times
#   --out DIR        where to write (default: bench/results/<YYYY-MM-DD>)
#   --plugins "A B"  these plugins only (default: every plugin with a device)
#   --reference-max-gflop X
#                    the reference plugin (a double-precision oracle, slow) runs
#                    only the cases of at most X GFLOP per forward (default 7,
#                    the four N=4 cases); the others are listed as skipped
#   --reference-all  the reference plugin runs every case
#   --torch-blas WHICH  system: PyTorch with the BLAS the system gives it (on
#                    Debian, libblas3 is Netlib's reference BLAS unless OpenBLAS
#                    is installed); openblas: with Debian's libopenblas0-pthread
#                    (installed, or fetched with `apt-get download` into
#                    ~/.cache/mha-bench and put first on LD_LIBRARY_PATH, for the
#                    PyTorch process only); both (default): each, as two rows
#   --no-torch       skip PyTorch
#   --gemm-only-rounds K
#                    for the opencl plugin, bench/gemm-only-pairs.sh --rounds K:
#                    each case with L >= 512 (and the decoding case) K times in
#                    turn full, on the GEMM path and with
#                    MHA_OPENCL_GEMM_ONLY=1 (the GEMM path's CLBlast GEMMs alone
#                    on the same shapes), so they ran side by side:
#                    gemm-only.md, appended to results.md (default 3; 0: skip)
#   --wait-idle S    before each plugin and each PyTorch run, wait up to S seconds
#                    (default 600; 0: do not wait) until the CPUs are idle (under 15%
#                    busy over 3 s), so that other jobs on a shared machine do not
#                    skew the figures; the load seen is written to machine.md
#
# Same thread count everywhere: nproc (PyTorch's set_num_threads, OpenBLAS's
# OPENBLAS_NUM_THREADS; PoCL uses every core). Needs python3 (/usr/bin/python3
# for Debian's python3-torch) and gnuplot (apt-get install gnuplot-nox); not
# part of CI.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
MHA=""
OUT=""
PLUGINS=""
REF_MAX=7
TORCH_BLAS=both
NO_TORCH=0
GEMM_ONLY_ROUNDS=3
WAIT_IDLE=600
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

while [ $# -gt 0 ]; do
    case $1 in
    --mha) MHA=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --plugins) PLUGINS=$2; shift 2 ;;
    --reference-max-gflop) REF_MAX=$2; shift 2 ;;
    --reference-all) REF_MAX=""; shift ;;
    --torch-blas)
        case $2 in system | openblas | both) TORCH_BLAS=$2 ;; *)
            echo "run-side-by-side.sh: --torch-blas: system, openblas or both" >&2; exit 2 ;;
        esac
        shift 2 ;;
    --no-torch) NO_TORCH=1; shift ;;
    --gemm-only-rounds) GEMM_ONLY_ROUNDS=$2; shift 2 ;;
    --wait-idle) WAIT_IDLE=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-side-by-side.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done

say() { echo "run-side-by-side: $*" >&2; }

# busy_percent: CPU time not idle over the next 3 s, all CPUs, from /proc/stat.
busy_percent() {
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8, $5 + $6 }' /proc/stat)
    sleep 3
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8, $5 + $6 }' /proc/stat)
    echo "$a $b" | awk '{ t = $3 - $1; i = $4 - $2; printf "%d", (t > 0 ? 100 * (t - i) / t : 0) }'
}

# note_after WHAT: notes how busy the CPUs are right after a section (other jobs
# that started during it show up here).
note_after() {
    echo "- $1: finished; right after, the CPUs were $(busy_percent)% busy with other work" \
        >>"$OUT/load.md"
}

# wait_idle WHAT: waits up to WAIT_IDLE seconds for idle CPUs; notes the result.
wait_idle() {
    [ "$WAIT_IDLE" -gt 0 ] || return 0
    waited=0
    busy=$(busy_percent)
    while [ "$busy" -ge 15 ] && [ "$waited" -lt "$WAIT_IDLE" ]; do
        [ "$waited" = 0 ] && say "$1: CPUs $busy% busy with other work; waiting for idle"
        sleep 7
        waited=$((waited + 10))
        busy=$(busy_percent)
    done
    if [ "$busy" -ge 15 ]; then
        echo "- $1: started with the CPUs $busy% busy with other work (waited ${waited} s)" >>"$OUT/load.md"
        say "$1: starting anyway, CPUs $busy% busy"
    else
        echo "- $1: started with the CPUs idle ($busy% busy; waited ${waited} s)" >>"$OUT/load.md"
    fi
}

if [ -z "$MHA" ]; then
    # Always (re)build, so that the figures are those of the tree named below.
    MHA=$root/build/bin/mha
    say "building $root/build"
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$root/build" -j "$(nproc)" >/dev/null
fi
[ -x "$MHA" ] || { say "no mha command at $MHA"; exit 1; }
command -v gnuplot >/dev/null 2>&1 || say "gnuplot is missing (apt-get install -y gnuplot-nox): no plot"
OUT=${OUT:-$root/bench/results/$(date +%Y-%m-%d)}
mkdir -p "$OUT"
rm -f "$OUT"/mha-*.json "$OUT"/pytorch-*.json "$OUT/skipped.tsv" "$OUT/plot.dat" \
    "$OUT/gflops.png" "$OUT/results.md" "$OUT/load.md"
: >"$OUT/skipped.tsv"
THREADS=$(nproc)

if [ -z "$PLUGINS" ]; then
    for p in $("$MHA" plugins | awk '$3 == "ABI" { print $1 }'); do
        if "$MHA" devices --plugin "$p" 2>/dev/null | head -n 1 | grep -q ': 0 devices'; then
            say "plugin $p has no device: skipped"
        else
            PLUGINS="$PLUGINS $p"
        fi
    done
fi
say "plugins:$PLUGINS; output in $OUT"

# ---- the machine ----
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | awk '{ print $2 }' |
    tr '\n' ' ' | sed 's/ $//')
[ -n "$dirty" ] && commit="$commit + uncommitted changes"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "# mha side by side, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "## Machine"
    echo
    echo "- mha: commit $commit, $("$MHA" --version)"
    [ -n "$dirty" ] && echo "- uncommitted changes in the working tree at the time: $dirty"
    echo "- built: $MHA at $(date -r "$MHA" '+%Y-%m-%d %H:%M:%S'); plugins: $(for f in "$(dirname "$MHA")"/../lib/mha/plugins/libmha_plugin_*.so; do
        [ -e "$f" ] && printf '%s %s; ' "$(basename "$f")" "$(date -r "$f" '+%H:%M:%S')"; done)"
    echo "  (a prebuilt --mha may predate the commit above: compare with \`git log --date=iso\`)"
    lscpu | awk -F: '/^Model name/ { gsub(/^ +/, "", $2); print "- CPU: " $2 }
                     /^CPU\(s\)/ { gsub(/^ +/, "", $2); print "- logical CPUs: " $2 }
                     /^Core\(s\) per socket/ { gsub(/^ +/, "", $2); print "- cores per socket: " $2 }
                     /^Thread\(s\) per core/ { gsub(/^ +/, "", $2); print "- threads per core: " $2 }
                     /^Hypervisor vendor/ { gsub(/^ +/, "", $2); print "- hypervisor: " $2 }'
    echo "- memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- OS: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- threads used: $THREADS (PyTorch set_num_threads, OPENBLAS_NUM_THREADS; PoCL: all cores)"
    echo "- load average (1, 5, 15 min) at the start: $load_start"
    echo "- OpenCL (clinfo -l):"
    echo
    echo '```'
    if command -v clinfo >/dev/null 2>&1; then clinfo -l 2>&1; else echo "clinfo not installed"; fi
    echo '```'
    echo
    echo "- mha devices:"
    echo
    echo '```'
    "$MHA" devices 2>&1
    echo '```'
} >"$OUT/machine.md"

# ---- mha ----
# The suite's cases as `mha bench` options, in suite order, with their GFLOP.
suite_cases="4 128 128 0
4 512 512 0
4 128 128 1
4 512 512 1
1 2048 2048 0
1 4096 4096 0
8 1 2048 0"
for p in $PLUGINS; do
    wait_idle "$p"
    if [ "$p" = reference ] && [ -n "$REF_MAX" ]; then
        # one case at a time, skipping the large ones
        i=0
        printf '%s\n' "$suite_cases" | while read -r n l s w; do
            i=$((i + 1))
            gflop=$(awk -v n="$n" -v l="$l" -v s="$s" 'BEGIN { e = 512;
                printf "%.2f", (4 * n * l * e * e + 4 * n * s * e * e + 4 * n * l * s * e) / 1e9 }')
            desc="N=$n L=$l S=$s E=512 H=8"
            [ "$w" = 1 ] && desc="$desc weights"
            if awk -v g="$gflop" -v m="$REF_MAX" 'BEGIN { exit !(g > m) }'; then
                printf 'reference\t%s\t%s GFLOP per call > --reference-max-gflop %s\n' \
                    "$desc" "$gflop" "$REF_MAX" >>"$OUT/skipped.tsv"
                say "reference: $desc: skipped ($gflop GFLOP per call)"
                continue
            fi
            wflag=""
            [ "$w" = 1 ] && wflag=--need-weights
            say "reference: $desc"
            "$MHA" bench --plugin reference --batch "$n" --tgt-len "$l" --src-len "$s" \
                --embed-dim 512 --num-heads 8 $wflag --json "$OUT/mha-reference-$i.json"
        done
    else
        say "$p: mha bench --suite standard"
        "$MHA" bench --suite standard --plugin "$p" --json "$OUT/mha-$p.json"
    fi
    note_after "$p"
done

# ---- opencl: full against GEMM-only, side by side ----
gemm_only_md=""
case " $PLUGINS " in *" opencl "*) [ "$GEMM_ONLY_ROUNDS" -gt 0 ] && gemm_only_md=$OUT/gemm-only.md ;; esac
if [ -n "$gemm_only_md" ]; then
    wait_idle "opencl full / GEMM-only"
    say "opencl: full and GEMM-only, $GEMM_ONLY_ROUNDS rounds"
    "$root/bench/gemm-only-pairs.sh" --mha "$MHA" --rounds "$GEMM_ONLY_ROUNDS" >"$gemm_only_md"
    note_after "opencl full / GEMM-only"
fi

# ---- PyTorch ----
torch_note=""
if [ "$NO_TORCH" = 1 ]; then
    torch_note="PyTorch: skipped (--no-torch)."
elif ! "$PY" -c 'import torch' 2>/dev/null; then
    torch_note="PyTorch: not installed for $PY (Debian: apt-get install python3-torch): skipped."
    say "$torch_note"
else
    openblas_dir=""
    if [ "$TORCH_BLAS" != system ]; then
        sys_dir=/usr/lib/x86_64-linux-gnu/openblas-pthread
        cache=${XDG_CACHE_HOME:-$HOME/.cache}/mha-bench
        if [ -e "$sys_dir/libblas.so.3" ]; then
            openblas_dir=$sys_dir
        elif [ -e "$cache/root$sys_dir/libblas.so.3" ]; then
            openblas_dir=$cache/root$sys_dir
        else
            mkdir -p "$cache"
            if (cd "$cache" && apt-get download libopenblas0-pthread >/dev/null 2>&1 &&
                dpkg-deb -x libopenblas0-pthread_*.deb root); then
                openblas_dir=$cache/root$sys_dir
            else
                say "cannot get libopenblas0-pthread: PyTorch with OpenBLAS skipped"
            fi
        fi
    fi
    run_torch() { # VARIANT [LD_LIBRARY_PATH]
        wait_idle "pytorch ($1)"
        say "pytorch ($1)"
        LD_LIBRARY_PATH=${2:-${LD_LIBRARY_PATH:-}} OPENBLAS_NUM_THREADS=$THREADS \
            OMP_NUM_THREADS=$THREADS "$PY" "$root/bench/torch_mha.py" --threads "$THREADS" \
            --layout best --json "$OUT/pytorch-$1.json"
        note_after "pytorch ($1)"
        LD_LIBRARY_PATH=${2:-${LD_LIBRARY_PATH:-}} OPENBLAS_NUM_THREADS=$THREADS \
            OMP_NUM_THREADS=$THREADS "$PY" "$root/bench/torch_mha.py" --threads "$THREADS" \
            --describe "$1" >>"$OUT/machine.md"
    }
    echo >>"$OUT/machine.md"
    if [ "$TORCH_BLAS" != openblas ]; then
        run_torch system-blas ""
    fi
    if [ "$TORCH_BLAS" != system ] && [ -n "$openblas_dir" ]; then
        run_torch openblas "$openblas_dir"
    fi
    torch_note="PyTorch: torch.nn.MultiheadAttention, eval(), no_grad, same shapes, self-attention with query = key = value, cross attention with key = value; the faster of batch_first False/True where PyTorch's fast path applies (self-attention without weights); the layout is in the plugin column."
fi
{
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    [ -f "$OUT/load.md" ] && cat "$OUT/load.md"
    [ -n "$torch_note" ] && echo "- $torch_note"
    if [ -n "$REF_MAX" ]; then
        echo "- The reference plugin (double-precision oracle) ran only the cases of at most $REF_MAX GFLOP per call (--reference-all for all)."
    fi
    echo
} >>"$OUT/machine.md"

# ---- table and plot ----
ncols=$("$PY" "$root/bench/report.py" "$OUT")
if command -v gnuplot >/dev/null 2>&1; then
    cpu=$(lscpu | awk -F: '/^Model name/ { gsub(/^ +/, "", $2); print $2; exit }')
    gnuplot -e "datafile='$OUT/plot.dat'; outfile='$OUT/gflops.png'; ncols=$ncols; subtitle='$cpu, $THREADS threads, commit $commit, $(date +%Y-%m-%d)'" \
        "$root/bench/plot.gp"
    printf '\n![GFLOP/s per case and plugin](gflops.png)\n' >>"$OUT/results.md"
fi
if [ -n "$gemm_only_md" ]; then
    {
        echo
        echo "## opencl: full pipeline against its CLBlast GEMMs alone"
        echo
        echo "By bench/gemm-only-pairs.sh: each case timed $GEMM_ONLY_ROUNDS times in turn full (default path), on the GEMM path (MHA_OPENCL_ATTENTION=gemm) and with MHA_OPENCL_GEMM_ONLY=1 (\`mha bench --reps 5 --warmup 1\`), so they ran side by side; the last two columns compare the fastest calls of all rounds, the steadier figure on a shared machine. The issue's target is full / GEMM-only <= 1.15 for L >= 512; GEMM-only is the GEMM path's CLBlast calls, so on the fused and absorbed paths a ratio under 1 is that path beating the GEMM design's lower bound."
        echo
        cat "$gemm_only_md"
    } >>"$OUT/results.md"
fi
say "wrote $OUT/results.md"
