#!/bin/bash
# run_cases.sh MHA PLUGIN DATA_DIR COMPARE
#
# Runs every case of DATA_DIR (tests/data/attention_core: one folder per case,
# see its README.md) through `MHA attention --plugin PLUGIN` and compares each
# output with the case's expected file using COMPARE (npy_compare GOT WANT).
#
# A case's args.txt is one line of `mha attention` flags. Input files named
# there are taken from the case's folder and output files are written to a
# temporary folder, each compared with expected_<name>. Files the line does not
# name are implied by their presence: q.npy k.npy v.npy attn_mask.npy
# past_key.npy past_value.npy nonpad_kv_seqlen.npy as inputs, and
# expected_{y,present_key,present_value,qk_matmul_output}.npy as outputs to
# check. A file named but absent fails the case.
#
# Prints one line per case and a final "N passed, N failed" line; exits 1 when
# a case failed or none was found, 2 on a usage error.
set -u

if [ $# -ne 4 ]; then
    echo "usage: run_cases.sh MHA PLUGIN DATA_DIR COMPARE" >&2
    exit 2
fi
mha=$1 plugin=$2 data=$3 compare=$4

work=$(mktemp -d "${TMPDIR:-/tmp}/mha-attention-cases.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

input_flag() {  # the flag of an input file's base name, or nothing
    case $1 in
        q.npy) echo --q ;;
        k.npy) echo --k ;;
        v.npy) echo --v ;;
        attn_mask.npy) echo --attn-mask ;;
        past_key.npy) echo --past-key ;;
        past_value.npy) echo --past-value ;;
        nonpad_kv_seqlen.npy) echo --nonpad-kv-seqlen ;;
    esac
}
output_flag() {  # the flag of an output's base name, or nothing
    case $1 in
        y.npy) echo --y ;;
        present_key.npy) echo --present-key ;;
        present_value.npy) echo --present-value ;;
        qk_matmul_output.npy) echo --qk-matmul-output ;;
    esac
}

passed=0 failed=0
for dir in "$data"/*/; do
    dir=${dir%/}
    [ -f "$dir/args.txt" ] || continue
    name=${dir##*/}
    out="$work/$name"
    mkdir -p "$out"
    read -r -a words < "$dir/args.txt"
    argv=() outputs=() named=() problem=""
    i=0
    while [ $i -lt ${#words[@]} ]; do
        flag=${words[$i]}
        case $flag in
            --is-causal) argv+=("$flag"); i=$((i + 1)); continue ;;
            --plugin|--device) i=$((i + 2)); continue ;;  # the runner's own choice
        esac
        if [ $((i + 1)) -ge ${#words[@]} ]; then
            problem="args.txt: $flag has no value"
            break
        fi
        value=${words[$((i + 1))]}
        base=${value##*/}
        i=$((i + 2))
        case $flag in
            --q|--k|--v|--attn-mask|--past-key|--past-value|--nonpad-kv-seqlen)
                [ -f "$dir/$base" ] || problem="args.txt names $base, which is not there"
                argv+=("$flag" "$dir/$base")
                named+=("$base")
                ;;
            --y|--present-key|--present-value|--qk-matmul-output)
                base=${base#expected_}
                [ -f "$dir/expected_$base" ] ||
                    problem="args.txt names $base, but expected_$base is not there"
                argv+=("$flag" "$out/$base")
                outputs+=("$base")
                named+=("expected_$base")
                ;;
            *) argv+=("$flag" "$value") ;;
        esac
    done
    # Files present but not named in args.txt: implied by their presence.
    for file in "$dir"/*.npy; do
        [ -e "$file" ] || continue
        base=${file##*/}
        case " ${named[*]} " in *" $base "*) continue ;; esac
        if flag=$(input_flag "$base") && [ -n "$flag" ]; then
            argv+=("$flag" "$file")
        elif [ "${base#expected_}" != "$base" ] && flag=$(output_flag "${base#expected_}") &&
             [ -n "$flag" ]; then
            argv+=("$flag" "$out/${base#expected_}")
            outputs+=("${base#expected_}")
        else
            problem="$base is neither an input nor an expected output"
        fi
    done
    if [ -z "$problem" ] && [ ${#outputs[@]} -eq 0 ]; then
        problem="no expected output"
    fi
    if [ -z "$problem" ]; then
        if ! "$mha" attention --plugin "$plugin" "${argv[@]}" > "$out/stdout" 2> "$out/stderr"; then
            problem="mha attention failed: $(head -n 1 "$out/stderr")"
        else
            for base in "${outputs[@]}"; do
                if [ ! -f "$out/$base" ]; then
                    problem="${problem:+$problem; }$base not written"
                    continue
                fi
                line=$("$compare" "$out/$base" "$dir/expected_$base" 2>&1)
                rc=$?
                if [ $rc -ne 0 ]; then
                    problem="${problem:+$problem; }${line//"$out/"/}"
                    [ -n "$line" ] || problem="${problem}$base: compare exited $rc"
                fi
            done
        fi
    fi
    if [ -z "$problem" ]; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: $problem"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
