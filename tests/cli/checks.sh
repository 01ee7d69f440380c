# checks.sh - shell checks shared by the command-line tests (tests/cli and
# tests/bench), sourced after WORK is set. Each check prints "ok: ..." or
# "FAIL: ..." and counts failures in $failures.
# shellcheck shell=sh
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect_ok NAME CMD...: exit 0, nothing on stderr
expect_ok() {
    name=$1
    shift
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name: exit $rc: $(cat "$WORK/stderr")"
    elif [ -s "$WORK/stderr" ]; then
        fail "$name: wrote to stderr: $(cat "$WORK/stderr")"
    else
        echo "ok: $name"
    fi
}

# expect_error NAME WANT_RC PATTERN CMD...: exit WANT_RC, one stderr line
# "mha: ..." matching PATTERN (grep -E), nothing on stdout.
expect_error() {
    name=$1
    want=$2
    pattern=$3
    shift 3
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    rc=$?
    lines=$(wc -l <"$WORK/stderr")
    if [ $rc -ne "$want" ]; then
        fail "$name: exit $rc, want $want (stderr: $(cat "$WORK/stderr"))"
    elif [ "$lines" -ne 1 ]; then
        fail "$name: $lines lines on stderr, want 1: $(cat "$WORK/stderr")"
    elif ! grep -q '^mha: ' "$WORK/stderr"; then
        fail "$name: stderr does not start with 'mha: ': $(cat "$WORK/stderr")"
    elif ! grep -Eq -- "$pattern" "$WORK/stderr"; then
        fail "$name: stderr does not match '$pattern': $(cat "$WORK/stderr")"
    elif [ -s "$WORK/stdout" ]; then
        fail "$name: wrote to stdout: $(cat "$WORK/stdout")"
    else
        echo "ok: $name: $(cat "$WORK/stderr")"
    fi
}

expect_stdout() {
    name=$1
    pattern=$2
    if grep -Eq -- "$pattern" "$WORK/stdout"; then
        echo "ok: $name"
    else
        fail "$name: stdout lacks '$pattern':"
        cat "$WORK/stdout"
    fi
}

no_file() {
    for f in "$@"; do
        if [ -e "$f" ] || [ -e "$f.tmp" ]; then
            fail "left a file behind: $f"
            rm -f "$f" "$f.tmp"
        fi
    done
}
