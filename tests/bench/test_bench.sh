#!/bin/sh
# test_bench.sh MHA JSON_CHECK WORKDIR SECTION
#
# End-to-end tests of `mha bench`'s logic (never of its timings):
#   json    a tiny case on the reference plugin: JSON well-formed, every field
#           present with the right type and value; statistics null (the
#           reference plugin keeps none); "n/a" in the table
#   stats   benchstub (tests/bench/bench_fixture_plugin.c, known statistics):
#           steady_allocations 0 / reps, peak bytes, device allocations,
#           stages summed by name, gemm_ms; no stages -> null
#   suite   --suite standard on benchstub twice: 14 records with the suite's
#           shapes, automatic reps >= 3; unsupported cases skipped, not fatal
#   errors  usage errors exit 2, runtime errors exit 1, one "mha: " line on
#           stderr, nothing on stdout, no JSON file left behind
set -u
MHA=$1
JQ=$2
WORK=$3
SECTION=$4

# shellcheck source=../cli/checks.sh
. "$(dirname "$0")/../cli/checks.sh"

rm -rf "$WORK"
mkdir -p "$WORK"

# field FILE INDEX KEY WANT: the JSON text of KEY in record INDEX is WANT
field() {
    got=$("$JQ" "$1" "$2" "$3" 2>&1)
    if [ "$got" = "$4" ]; then
        echo "ok: record $2 $3 = $4"
    else
        fail "record $2 $3: got '$got', want '$4'"
    fi
}

# field_match FILE INDEX KEY REGEX
field_match() {
    got=$("$JQ" "$1" "$2" "$3" 2>&1)
    if printf '%s\n' "$got" | grep -Eq -- "$4"; then
        echo "ok: record $2 $3 = $got"
    else
        fail "record $2 $3: got '$got', want /$4/"
    fi
}

# run_ok NAME CMD...: exit 0
run_ok() {
    name=$1
    shift
    "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name: exit $rc: $(cat "$WORK/stderr")"
        return 1
    fi
    echo "ok: $name"
    return 0
}

# expect_bench_error NAME WANT_RC PATTERN CMD...: expect_error (checks.sh)
# with the one stderr line reading "mha: bench: ..." followed by PATTERN
expect_bench_error() {
    name=$1
    want=$2
    pattern=$3
    shift 3
    expect_error "$name" "$want" "^mha: bench: .*$pattern" "$@"
}

NUM='^[0-9]+(\.[0-9]+)?$'
POS='^([1-9][0-9]*(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$'

case $SECTION in
json)
    J=$WORK/out.json
    if run_ok "tiny case on reference" "$MHA" bench --plugin reference --batch 1 --tgt-len 3 \
        --src-len 5 --embed-dim 8 --num-heads 2 --reps 2 --warmup 1 --json "$J"; then
        if "$JQ" "$J"; then echo "ok: well-formed"; else fail "malformed JSON"; fi
        n=$("$JQ" "$J" count)
        [ "$n" = 1 ] && echo "ok: 1 record" || fail "$n records, want 1"
        field "$J" 0 plugin '"reference"'
        field_match "$J" 0 device '^".+"$'
        field "$J" 0 batch 1
        field "$J" 0 tgt_len 3
        field "$J" 0 src_len 5
        field "$J" 0 embed_dim 8
        field "$J" 0 num_heads 2
        field "$J" 0 need_weights false
        field "$J" 0 warmup 1
        field "$J" 0 reps 2
        field "$J" 0 flop 2528
        for k in median_ms min_ms max_ms gflops cold_first_ms warm_first_ms; do
            field_match "$J" 0 $k "$POS"
        done
        # min <= median <= max
        mn=$("$JQ" "$J" 0 min_ms); md=$("$JQ" "$J" 0 median_ms); mx=$("$JQ" "$J" 0 max_ms)
        if awk -v a="$mn" -v b="$md" -v c="$mx" 'BEGIN { exit !(a <= b && b <= c) }'; then
            echo "ok: min <= median <= max"
        else
            fail "min $mn median $md max $mx out of order"
        fi
        # gflops = flop / (median_ms * 1e6), to the printed precision
        gf=$("$JQ" "$J" 0 gflops)
        if awk -v g="$gf" -v m="$md" 'BEGIN { e = 2528 / (m * 1e6); d = g - e; if (d < 0) d = -d;
                                              exit !(d <= 1e-3 * e + 2e-6) }'; then
            echo "ok: gflops = flop / median"
        else
            fail "gflops $gf is not 2528 / ($md ms)"
        fi
        # the reference plugin keeps no statistics
        for k in gemm_ms stages gemm_stages peak_device_bytes device_allocations \
            steady_allocations; do
            field "$J" 0 $k null
        done
        if grep -Eq '^reference .* n/a +n/a +n/a ' "$WORK/stdout"; then
            echo "ok: table says n/a"
        else
            fail "table lacks n/a for gemm/peak/allocs: $(cat "$WORK/stdout")"
        fi
    fi
    # need_weights and self-attention (src_len defaults to tgt_len)
    if run_ok "weights on reference" "$MHA" bench --plugin reference --batch 2 --tgt-len 4 \
        --embed-dim 6 --num-heads 3 --need-weights --reps 1 --warmup 0 --json "$J"; then
        "$JQ" "$J" || fail "malformed JSON (weights)"
        field "$J" 0 need_weights true
        field "$J" 0 src_len 4
        field "$J" 0 warmup 0
        field "$J" 0 reps 1
        field_match "$J" 0 case '"N=2 L=4 S=4 E=6 H=3 weights"'
    fi
    ;;
stats)
    J=$WORK/steady.json
    if run_ok "benchstub steady" "$MHA" bench --plugin benchstub --device steady --batch 1 \
        --tgt-len 2 --embed-dim 4 --num-heads 1 --reps 5 --warmup 2 --json "$J"; then
        "$JQ" "$J" || fail "malformed JSON (steady)"
        field "$J" 0 plugin '"benchstub"'
        field "$J" 0 device '"bench \"stub\" device"'
        field "$J" 0 device_spec '"steady"'
        field "$J" 0 steady_allocations 0
        # 2 at creation + 1 scratch at the first call
        field "$J" 0 device_allocations 3
        field "$J" 0 peak_device_bytes 5120
        field "$J" 0 gemm_ms 1.375000
        field "$J" 0 stages \
            '{"projections": 1.000000, "scores": 0.250000, "softmax": 1.000000, "pv": 0.125000}'
        field "$J" 0 gemm_stages '["projections", "scores", "pv"]'
        if grep -Eq 'stages \(median ms\): projections 1.000 \(gemm\) scores 0.250 \(gemm\) softmax 1.000 pv 0.125 \(gemm\)' "$WORK/stdout"; then
            echo "ok: stages line"
        else
            fail "no stages line: $(cat "$WORK/stdout")"
        fi
        if grep -Eq '^benchstub .* 1\.375 +0\.0 +0 ' "$WORK/stdout"; then
            echo "ok: table gemm/peak/allocs"
        else
            fail "table row: $(cat "$WORK/stdout")"
        fi
    fi
    J=$WORK/leaky.json
    if run_ok "benchstub leaky" "$MHA" bench --plugin benchstub --device leaky --batch 1 \
        --tgt-len 2 --embed-dim 4 --num-heads 1 --reps 4 --warmup 3 --json "$J"; then
        "$JQ" "$J" || fail "malformed JSON (leaky)"
        # one allocation per timed call; the warm-up ones are not counted
        field "$J" 0 steady_allocations 4
        # 2 + 1 scratch + 1 per call: first call, 3 warm-up, 4 timed
        field "$J" 0 device_allocations 11
        field "$J" 0 peak_device_bytes 6144
    fi
    J=$WORK/nostages.json
    if run_ok "benchstub nostages" "$MHA" bench --plugin benchstub --device nostages \
        --batch 1 --tgt-len 2 --embed-dim 4 --num-heads 1 --reps 2 --json "$J"; then
        "$JQ" "$J" || fail "malformed JSON (nostages)"
        field "$J" 0 steady_allocations 0
        field "$J" 0 peak_device_bytes 5120
        field "$J" 0 stages null
        field "$J" 0 gemm_stages null
        field "$J" 0 gemm_ms null
    fi
    ;;
suite)
    J=$WORK/suite.json
    if run_ok "suite on benchstub twice" "$MHA" bench --suite standard --plugin benchstub \
        --plugin benchstub:nostages --json "$J"; then
        "$JQ" "$J" || fail "malformed JSON (suite)"
        n=$("$JQ" "$J" count)
        [ "$n" = 14 ] && echo "ok: 14 records" || fail "$n records, want 14"
        # N L S E H need_weights of the 7 cases, twice
        want="4 128 128 512 8 false
4 512 512 512 8 false
4 128 128 512 8 true
4 512 512 512 8 true
1 2048 2048 512 8 false
1 4096 4096 512 8 false
8 1 2048 512 8 false"
        i=0
        while [ $i -lt 14 ]; do
            got=""
            for k in batch tgt_len src_len embed_dim num_heads need_weights; do
                got="$got $("$JQ" "$J" $i $k)"
            done
            line=$(printf '%s\n' "$want" | sed -n "$((i % 7 + 1))p")
            [ "$got" = " $line" ] && echo "ok: case $i:$got" || fail "case $i:$got, want $line"
            reps=$("$JQ" "$J" $i reps)
            [ "$reps" -ge 3 ] && [ "$reps" -le 1000 ] || fail "case $i: $reps reps, want 3..1000"
            field "$J" $i warmup 1
            i=$((i + 1))
        done
        field "$J" 0 device_spec '"steady"'
        field "$J" 7 device_spec '"nostages"'
        field "$J" 7 stages null
        if [ "$(grep -c '^benchstub ' "$WORK/stdout")" = 14 ]; then
            echo "ok: 14 table rows"
        else
            fail "table: $(cat "$WORK/stdout")"
        fi
    fi
    # a plugin without need_weights: those two cases are skipped, the others run
    if run_ok "suite with unsupported cases" "$MHA" bench --suite standard \
        --plugin benchstub:noweights --reps 1 --json "$J"; then
        "$JQ" "$J" || fail "malformed JSON (noweights)"
        n=$("$JQ" "$J" count)
        [ "$n" = 5 ] && echo "ok: 5 records" || fail "$n records, want 5"
        field "$J" 2 tgt_len 2048
        if [ "$(grep -c 'skipped: .*weights' "$WORK/stdout")" = 2 ]; then
            echo "ok: 2 cases skipped"
        else
            fail "skipped lines: $(cat "$WORK/stdout")"
        fi
    fi
    if run_ok "suite with --reps" "$MHA" bench --suite standard --plugin benchstub --reps 2 \
        --warmup 0 --json "$J"; then
        field "$J" 6 reps 2
        field "$J" 6 warmup 0
        field "$J" 6 batch 8
    fi
    ;;
errors)
    J=$WORK/never.json
    expect_bench_error "unknown option" 2 "unknown option '--bogus'" "$MHA" bench --bogus
    expect_bench_error "missing value" 2 "--reps needs a value" "$MHA" bench --reps
    expect_bench_error "reps 0" 2 "--reps: '0'" "$MHA" bench --reps 0
    expect_bench_error "negative warmup" 2 "--warmup: '-1'" "$MHA" bench --warmup -1
    expect_bench_error "bad batch" 2 "--batch: 'x'" "$MHA" bench --batch x
    expect_bench_error "E not a multiple of H" 2 "not a multiple" "$MHA" bench --embed-dim 10 \
        --num-heads 3
    expect_bench_error "unknown suite" 2 "unknown suite 'huge'" "$MHA" bench --suite huge
    expect_bench_error "suite with a shape" 2 "--suite takes no shape" "$MHA" bench --suite standard \
        --batch 2
    expect_bench_error "suite with need-weights" 2 "--suite takes no shape" "$MHA" bench \
        --suite standard --need-weights
    expect_bench_error "two plugins without suite" 2 "need --suite" "$MHA" bench --plugin reference \
        --plugin benchstub
    expect_bench_error "device without plugin" 2 "--device needs --plugin" "$MHA" bench --device 0
    expect_bench_error "empty json name" 2 "--json needs a file name" "$MHA" bench --json ""
    [ -e "$J" ] && fail "usage errors left $J"
    expect_bench_error "unknown plugin" 1 "cannot open backend 'nope'" "$MHA" bench --plugin nope \
        --json "$J"
    [ -e "$J" ] && fail "unknown plugin left $J" || echo "ok: no JSON left behind"
    expect_bench_error "unknown device" 1 "cannot open backend 'benchstub:9'" "$MHA" bench \
        --plugin benchstub --device 9 --json "$J"
    [ -e "$J" ] && fail "unknown device left $J" || echo "ok: no JSON left behind"
    expect_bench_error "unwritable json" 1 "cannot create '$WORK/no/such/dir/x.json'" "$MHA" bench \
        --plugin benchstub --batch 1 --tgt-len 2 --embed-dim 4 --num-heads 1 \
        --json "$WORK/no/such/dir/x.json"
    # the checker itself refuses malformed JSON, so "well-formed" above means something
    for bad in '[{"a": 1,}]' '[{"a": 1} {"b": 2}]' '[{"a": 01}]' '[{"a": "x
"}]' '[{"a": 1, "a": 2}]' '[1]' '{"a": 1}' '[{"a": nan}]' '[{"a": 1}] x' '[{"a": "\q"}]'; do
        printf '%s' "$bad" >"$WORK/bad.json"
        if "$JQ" "$WORK/bad.json" 2>/dev/null; then
            fail "bench_json_check accepts $bad"
        else
            echo "ok: bench_json_check refuses $bad"
        fi
    done
    printf '[{"a": -1.5e+3, "b": [true, false, null], "c": {"d": "\\u00e9\\""}}]' >"$WORK/good.json"
    "$JQ" "$WORK/good.json" && [ "$("$JQ" "$WORK/good.json" 0 a)" = "-1.5e+3" ] &&
        echo "ok: bench_json_check reads good JSON" || fail "bench_json_check on good JSON"
    # --help
    if "$MHA" bench --help >"$WORK/stdout" 2>"$WORK/stderr" && grep -q 'usage: mha bench' \
        "$WORK/stdout" && [ ! -s "$WORK/stderr" ]; then
        echo "ok: --help"
    else
        fail "--help"
    fi
    ;;
*)
    echo "unknown section $SECTION"
    exit 2
    ;;
esac

if [ $failures -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all ok"
