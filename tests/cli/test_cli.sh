#!/bin/sh
# test_cli.sh MHA HELPER WORKDIR SECTION
#
# End-to-end tests of the `mha` command line, one SECTION per CTest test:
#   basic     --help, --version, usage errors
#   plugins   `mha plugins`
#   devices   `mha devices`
#   run       `mha run` on generated .npy files, checked against a recomputation
#   errors    bad inputs: non-zero exit, exactly one "mha: ..." line on stderr,
#             nothing on stdout, no output file left behind
#   verify    `mha verify --cases 3` and its usage errors
set -u
MHA=$1
HELPER=$2
WORK=$3
SECTION=$4

# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"

rm -rf "$WORK"
mkdir -p "$WORK"
D=$WORK/in
"$HELPER" gen "$D" || { echo "FAIL: cannot generate inputs"; exit 1; }

COMMON="--embed-dim 8 --num-heads 2 --weights $D/weights --key $D/k.npy --value $D/v.npy"
OUT=$WORK/out.npy
WOUT=$WORK/w.npy

case $SECTION in
basic)
    expect_ok "--help" "$MHA" --help
    expect_stdout "--help lists run" "run OPTIONS"
    expect_ok "--version" "$MHA" --version
    expect_stdout "--version" "^mha [0-9]+\.[0-9]+\.[0-9]+"
    expect_ok "run --help" "$MHA" run --help
    expect_stdout "run --help" "--key-padding-mask"
    expect_ok "verify --help" "$MHA" verify --help
    expect_stdout "verify --help states the tolerance" "1e-4"
    "$MHA" >/dev/null 2>&1
    [ $? -eq 2 ] && echo "ok: no command exits 2" || fail "no command: want exit 2"
    expect_error "unknown command" 2 "unknown command 'frob'" "$MHA" frob
    expect_error "plugins extra arg" 2 "unexpected argument" "$MHA" plugins extra
    ;;
plugins)
    expect_ok "plugins" "$MHA" plugins
    expect_stdout "plugins lists reference" "^reference +[^ ]+ +ABI [0-9]+\.[0-9]+ +/.*libmha_plugin_reference\.so$"
    # A broken candidate is listed as skipped, and does not stop the others.
    mkdir -p "$WORK/plugins"
    echo "not a library" >"$WORK/plugins/libmha_plugin_broken.so"
    expect_ok "plugins with a broken candidate" env MHA_PLUGIN_PATH="$WORK/plugins" "$MHA" plugins
    expect_stdout "broken candidate skipped" "^skipped $WORK/plugins/libmha_plugin_broken\.so: "
    expect_stdout "reference still listed" "^reference "
    # --verbose (anywhere) and MHA_TRACE print the library's debug messages
    # on stderr, one "mha: " line each; stdout is unchanged.
    for verbose in "--verbose plugins" "plugins --verbose" "MHA_TRACE=1 plugins"; do
        case $verbose in
        MHA_TRACE*) env MHA_TRACE=1 "$MHA" plugins >"$WORK/stdout" 2>"$WORK/stderr" ;;
        *) "$MHA" $verbose >"$WORK/stdout" 2>"$WORK/stderr" ;;
        esac
        if [ $? -ne 0 ]; then
            fail "$verbose: exit status"
        elif ! grep -q "^mha: loaded plugin 'reference'" "$WORK/stderr"; then
            fail "$verbose: no trace on stderr: $(cat "$WORK/stderr")"
        elif grep -qv '^mha: ' "$WORK/stderr"; then
            fail "$verbose: a stderr line without 'mha: ': $(cat "$WORK/stderr")"
        else
            echo "ok: $verbose traces"
        fi
        expect_stdout "$verbose lists reference" "^reference "
    done
    ;;
devices)
    expect_ok "devices" "$MHA" devices
    expect_stdout "devices lists reference" "^reference: [0-9]+ device"
    expect_stdout "device line" "^  reference:[^ ]+  kind=(cpu|gpu|accelerator|other)  name=\".*\"  vendor=.*memory=.*compute_units="
    expect_ok "devices --plugin reference" "$MHA" devices --plugin reference
    expect_error "devices unknown plugin" 1 "nope" "$MHA" devices --plugin nope
    expect_error "devices missing value" 2 "--plugin needs a value" "$MHA" devices --plugin
    ;;
run)
    ARGS="$COMMON --query $D/q.npy --key-padding-mask $D/kpm.npy --attn-mask $D/mask.npy --causal --need-weights --no-average-weights --weights-out $WOUT --out $OUT"
    # shellcheck disable=SC2086
    expect_ok "run with masks, causal, per-head weights" "$MHA" run --plugin reference $ARGS
    [ -s "$WORK/stdout" ] && fail "run printed on stdout: $(cat "$WORK/stdout")"
    # shellcheck disable=SC2086
    expect_ok "outputs match a recomputation" "$HELPER" check $ARGS
    cat "$WORK/stdout"
    expect_stdout "output shape" "^output: 80 values, shape \(5, 2, 8\), identical"
    expect_stdout "weights shape" "^weights: 140 values, shape \(2, 2, 5, 7\), identical"
    rm -f "$OUT" "$WOUT"

    ARGS="$COMMON --query $D/q.npy --causal --causal-align bottom-right --dropout 0.5 --seed 42 --out $OUT"
    # shellcheck disable=SC2086
    expect_ok "run default backend, dropout" "$MHA" run $ARGS
    # shellcheck disable=SC2086
    expect_ok "dropout output matches" "$HELPER" check $ARGS
    cp "$OUT" "$WORK/first.npy"
    # shellcheck disable=SC2086
    expect_ok "run again, same seed" "$MHA" run --plugin reference --device 0 $ARGS
    cmp -s "$OUT" "$WORK/first.npy" && echo "ok: same seed, same bytes" || fail "same seed gave different output"
    ls -A "$WORK" | grep -q '^\.' && fail "temporary files left behind: $(ls -A "$WORK" | grep '^\.')"
    rm -f "$OUT"
    ;;
errors)
    Q="--query $D/q.npy"
    # usage errors: exit 2
    expect_error "unknown option" 2 "unknown option '--frob'" "$MHA" run $COMMON $Q --out "$OUT" --frob
    expect_error "missing --out" 2 "missing required option --out" "$MHA" run $COMMON $Q
    expect_error "missing value" 2 "--out needs a value" "$MHA" run $COMMON $Q --out
    expect_error "non-numeric" 2 "--num-heads" "$MHA" run --embed-dim 8 --num-heads two --weights "$D/weights" $Q --key "$D/k.npy" --value "$D/v.npy" --out "$OUT"
    expect_error "out of range" 2 "--dropout" "$MHA" run $COMMON $Q --dropout 1.5 --seed 1 --out "$OUT"
    expect_error "need-weights without weights-out" 2 "--weights-out" "$MHA" run $COMMON $Q --need-weights --out "$OUT"
    expect_error "device without plugin" 2 "--device needs --plugin" "$MHA" run $COMMON $Q --device 0 --out "$OUT"
    no_file "$OUT"
    # run-time errors: exit 1
    expect_error "missing query file" 1 "nosuch\.npy" "$MHA" run $COMMON --query "$D/nosuch.npy" --out "$OUT"
    expect_error "float64 query" 1 "q_f8\.npy: dtype '<f8'" "$MHA" run $COMMON --query "$D/q_f8.npy" --out "$OUT"
    expect_error "truncated query" 1 "q_trunc\.npy: declares 320 bytes of data but has 319" "$MHA" run $COMMON --query "$D/q_trunc.npy" --out "$OUT"
    expect_error "wrong query width" 1 "." "$MHA" run $COMMON --query "$D/q_e6.npy" --out "$OUT"
    expect_error "bool query" 1 "." "$MHA" run $COMMON --query "$D/q_bool.npy" --out "$OUT"
    expect_error "mask as query shape" 1 "." "$MHA" run $COMMON $Q --attn-mask "$D/q.npy" --out "$OUT"
    expect_error "weights of the wrong shape" 1 "weights_badshape/out_proj\.weight\.npy: shape \(8, 4\) but expected \(8, 8\)" \
        "$MHA" run --embed-dim 8 --num-heads 2 --weights "$D/weights_badshape" $Q --key "$D/k.npy" --value "$D/v.npy" --out "$OUT"
    expect_error "missing weights file" 1 "weights_missing/out_proj\.bias\.npy" \
        "$MHA" run --embed-dim 8 --num-heads 2 --weights "$D/weights_missing" $Q --key "$D/k.npy" --value "$D/v.npy" --out "$OUT"
    expect_error "config disagrees with weights" 1 "in_proj_bias\.npy" "$MHA" run $COMMON $Q --no-bias --out "$OUT"
    expect_error "embed dim disagrees" 1 "in_proj_weight\.npy: shape \(24, 8\) but expected \(48, 16\)" \
        "$MHA" run --embed-dim 16 --num-heads 2 --weights "$D/weights" $Q --key "$D/k.npy" --value "$D/v.npy" --out "$OUT"
    expect_error "unknown plugin" 1 "nope" "$MHA" run --plugin nope $COMMON $Q --out "$OUT"
    no_file "$OUT"
    expect_error "output folder missing" 1 "nodir/out\.npy" "$MHA" run $COMMON $Q --out "$WORK/nodir/out.npy"
    # weights-out fails: nothing is put in place, and a previous --out is kept
    expect_error "weights-out folder missing" 1 "nodir/w\.npy" "$MHA" run $COMMON $Q --need-weights --weights-out "$WORK/nodir/w.npy" --out "$OUT"
    no_file "$OUT" "$WORK/nodir/w.npy"
    echo "previous output" >"$OUT"
    expect_error "weights-out fails, out kept" 1 "nodir/w\.npy" "$MHA" run $COMMON $Q --need-weights --weights-out "$WORK/nodir/w.npy" --out "$OUT"
    [ "$(cat "$OUT")" = "previous output" ] && echo "ok: previous --out kept" || fail "previous --out was replaced or removed"
    rm -f "$OUT"
    # the same file under two spellings, or two names of one file
    mkdir -p "$WORK/d"
    expect_error "out and weights-out through ./" 2 "name the same file" "$MHA" run $COMMON $Q --need-weights --weights-out "$WORK/d/./x.npy" --out "$WORK/d/x.npy"
    echo x >"$WORK/d/a.npy"
    ln -f "$WORK/d/a.npy" "$WORK/d/b.npy"
    expect_error "out and weights-out hard links" 2 "name the same file" "$MHA" run $COMMON $Q --need-weights --weights-out "$WORK/d/b.npy" --out "$WORK/d/a.npy"
    rm -rf "$WORK/d"
    # no temporary file is left beside a failed output
    ls -A "$WORK" | grep -q '^\.out\.npy\.' && fail "temporary file left behind" || echo "ok: no temporary file left"
    ;;
verify)
    expect_ok "verify --cases 3" "$MHA" verify --cases 3 --seed 5
    cat "$WORK/stdout"
    expect_stdout "representative timing" "ms \(median of 5\)"
    expect_stdout "case lines" "^case 3: .*: (max abs err .*: ok|skipped)"
    expect_stdout "summary" "^verify: [0-9]+ passed, 0 failed"
    expect_ok "verify --against reference" "$MHA" verify --plugin reference --against reference --cases 1 --tolerance 0
    expect_error "verify unknown against" 1 "nope" "$MHA" verify --against nope --cases 1
    expect_error "verify bad --cases" 2 "--cases" "$MHA" verify --cases x
    expect_error "verify negative tolerance" 2 "--tolerance" "$MHA" verify --tolerance -1
    expect_error "verify unknown option" 2 "--frob" "$MHA" verify --frob 1
    ;;
*)
    echo "unknown section $SECTION"
    exit 2
    ;;
esac

if [ $failures -ne 0 ]; then
    echo "$failures failure(s) in section $SECTION"
    exit 1
fi
echo "section $SECTION: all passed"
exit 0
