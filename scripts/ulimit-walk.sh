#!/bin/sh
# ulimit-walk.sh - runs one command under a range of address-space limits
# (ulimit -v) and counts how each run ended: passed (exit 0), a clean error
# (exit 1 with an "mha: ..." message), killed (a signal: a crash inside the
# process) or hung (still running after MHA_WALK_TIMEOUT seconds, default
# 60: a deadlock). docs/reliability.md ("Real out of memory") has the figures.
#
# Usage: scripts/ulimit-walk.sh [FROM_KIB [STEP_KIB [COUNT]]] [-- COMMAND...]
#   defaults: 100000 25000 40 (100 MB to 1.08 GB), and the command
#   $MHA_BUILD_DIR/bin/mha verify --plugin opencl --cases 5 (MHA_BUILD_DIR
#   default: build). Run it with warm program caches (MHA_OPENCL_CACHE_DIR,
#   POCL_CACHE_DIR) so that every run does the same work.
# Output: one line per limit (limit, exit status, how it ended, the first
# error line), then "walk: N limits: P passed, E clean errors, K killed, H
# hung".
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MHA_BUILD_DIR:-"$root/build"}
from=100000 step=25000 count=40
[ $# -gt 0 ] && [ "$1" != "--" ] && { from=$1; shift; }
[ $# -gt 0 ] && [ "$1" != "--" ] && { step=$1; shift; }
[ $# -gt 0 ] && [ "$1" != "--" ] && { count=$1; shift; }
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
if [ $# -eq 0 ]; then
    set -- "$build/bin/mha" verify --plugin opencl --cases 5
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
passed=0 clean=0 killed=0 hung=0 other=0 signals=""
i=0
while [ "$i" -lt "$count" ]; do
    limit=$((from + i * step))
    (ulimit -v "$limit" && exec timeout -k 5 "${MHA_WALK_TIMEOUT:-60}" "$@") >"$out" 2>&1
    rc=$?
    first=$(grep -m1 -E '^mha: |ERROR' "$out" | cut -c1-160)
    if [ "$rc" -eq 0 ]; then
        how=passed passed=$((passed + 1))
    elif [ "$rc" -eq 124 ]; then
        how=hung hung=$((hung + 1))
    elif [ "$rc" -gt 128 ]; then
        sig=$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))
        how="killed (SIG$sig)" killed=$((killed + 1))
        case " $signals " in *" SIG$sig "*) ;; *) signals="$signals SIG$sig" ;; esac
    elif [ "$rc" -eq 1 ] && [ -n "$first" ]; then
        how="clean error" clean=$((clean + 1))
    else
        how="other (exit $rc)" other=$((other + 1))
    fi
    printf '%8s KiB  exit %3s  %-18s %s\n' "$limit" "$rc" "$how" "$first"
    i=$((i + 1))
done
printf 'walk: %s limits (%s..%s KiB): %s passed, %s clean errors, %s killed%s, %s hung, %s other\n' \
    "$count" "$from" "$((from + (count - 1) * step))" "$passed" "$clean" "$killed" \
    "${signals:+ (}${signals# }${signals:+)}" "$hung" "$other"
