#!/bin/sh
# gpu-check.sh - the checks for the day a GPU is lent (docs/portability.md).
#
#   scripts/gpu-check.sh pack   here: builds build-gpu/ if needed, packs it
#                               with ../shared/gpu/pack.sh into .gpu/ (with
#                               the OpenCL ICD loader, CLBlast, clinfo, and
#                               libcmocka for the test programs), writes the
#                               list of OpenCL tests, and prints the one
#                               device call to make.
#   scripts/gpu-check.sh run    on the device (after `source .gpu/env.sh`), or
#                               here on any OpenCL device: every step below
#                               under its own timeout, within one budget.
#
# run's steps, in order of importance; each gets at most its own limit and
# what is left of GPU_CHECK_BUDGET (seconds, default 420: under 8 minutes with
# the device's start), and a step that would get under 10 s is skipped:
#   clinfo -l; mha devices; mha verify on every path (MHA_OPENCL_ATTENTION =
#   default, fused, gemm, absorbed, flash); small_forwards (tests/portability)
#   on every path and softmax kernel; mha bench --suite standard (the plugin's
#   choice, then the GEMM path); mha bench --suite core (fp32 and fp16);
#   PyTorch on CUDA on the same shapes (nn.MultiheadAttention and
#   F.scaled_dot_product_attention, fp32; the core's shapes fp32 and fp16) when
#   torch sees a GPU; the OpenCL ctests' programs (listed at pack time), each
#   under GPU_CHECK_TEST_TIMEOUT (default 60 s).
# Results go to $OUT (the device tool's folder that comes back), else
# build-gpu/gpu-check-out: summary.txt (each step's status and time), machine.txt, the
# bench JSON, and logs/ (one log per step and per failed or passed test),
# packed into gpu-check-logs.tar.gz when $OUT is set. Exit status: 0 when
# every step that ran passed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build_name=build-gpu
self="$root/scripts/gpu-check.sh"

usage() {
    echo "usage: scripts/gpu-check.sh pack | run" >&2
    exit 2
}

# ---------------------------------------------------------------- pack ----
pack() {
    cd "$root" || exit 1
    build="$root/$build_name"
    if [ ! -x "$build/bin/mha" ] || [ ! -x "$build/bin/small_forwards" ]; then
        cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
    fi
    cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null || exit 1
    "$root/../shared/gpu/pack.sh" "$build" || exit 1
    # The test programs link cmocka, which the GPU machine's image lacks.
    (cd .gpu && apt-get download libcmocka0 >/dev/null 2>&1 &&
        dpkg -x libcmocka0_*.deb root && rm -f libcmocka0_*.deb) || {
        echo "gpu-check: could not fetch libcmocka0: the test step will fail" >&2
    }
    # The OpenCL ctests, as ctest would run them: name, timeout, working
    # folder, environment and command, with this tree's absolute paths (run
    # links them to the device's copy).
    ctest --test-dir "$build" -N --show-only=json-v1 >.gpu/tests.json || exit 1
    /usr/bin/python3 - "$build" <<'EOF' >.gpu/opencl-tests.txt || exit 1
import json, sys
build = sys.argv[1]
skip = ("oclgrind", "offline_compile", "pocl", "opencl_warm_cache", "python")
for test in json.load(open(".gpu/tests.json"))["tests"]:
    name = test["name"]
    props = {p["name"]: p["value"] for p in test.get("properties", [])}
    env = props.get("ENVIRONMENT", [])
    opencl = (name.startswith("opencl_") or any("MHA_OPENCL_CACHE_DIR" in e for e in env)
              or any(e.endswith("=opencl") for e in env))
    if not opencl or any(word in name for word in skip):
        continue
    # POCL_CACHE_DIR is left out: there is no PoCL on the device.
    env = [e for e in env if not e.startswith("POCL_CACHE_DIR=")]
    fields = [name, props.get("WORKING_DIRECTORY", build), " ".join(env),
              " ".join(test["command"])]
    if any("\t" in f or "\n" in f for f in fields):
        sys.exit(f"gpu-check: test {name} has a tab or newline in its command")
    print("\t".join(fields))
EOF
    rm -f .gpu/tests.json
    {
        echo "GPU_CHECK_ROOT=$root"
        echo "GPU_CHECK_BUILD=$build"
    } >.gpu/gpu-check.env
    echo "gpu-check: packed $(wc -l <.gpu/opencl-tests.txt) OpenCL tests;" \
        ".gpu is $(du -sh .gpu | cut -f1)"
    echo "gpu-check: on the device, one call:"
    echo "  run(command=\"source .gpu/env.sh; scripts/gpu-check.sh run\"," \
        "carry=[\".gpu\"], timeout_s=540)"
}

# ----------------------------------------------------------------- run ----
budget=${GPU_CHECK_BUDGET:-420}
start_time=$(date +%s)
failures=0

# remaining seconds of the budget
remaining() { echo $((budget - ($(date +%s) - start_time))); }

# step NAME LIMIT COMMAND...: runs COMMAND with its output in $logs/NAME.log,
# under min(LIMIT, what is left of the budget) seconds, and records the result.
step() {
    name=$1 limit=$2
    shift 2
    left=$(remaining)
    [ "$left" -lt "$limit" ] && limit=$left
    if [ "$limit" -lt 10 ]; then
        printf '%-28s skipped: budget spent\n' "$name" | tee -a "$out/summary.txt"
        return
    fi
    t0=$(date +%s)
    echo "== $name ($*; limit ${limit} s)"
    timeout -k 5 "$limit" "$@" >"$logs/$name.log" 2>&1
    rc=$?
    seconds=$(($(date +%s) - t0))
    case $rc in
    0) result=ok ;;
    124 | 137) result="TIMED OUT after ${limit} s"; failures=$((failures + 1)) ;;
    *) result="FAILED (exit status $rc)"; failures=$((failures + 1)) ;;
    esac
    tail -n 15 "$logs/$name.log"
    printf '%-28s %4d s  %s\n' "$name" "$seconds" "$result" | tee -a "$out/summary.txt"
}

# The OpenCL test programs of .gpu/opencl-tests.txt, each in its working
# folder with its environment, each under GPU_CHECK_TEST_TIMEOUT seconds.
# (Run as `gpu-check.sh _tests LIST OUT`, so that step can time it.)
opencl_tests() {
    tests=$1 out=$2
    limit=${GPU_CHECK_TEST_TIMEOUT:-60}
    passed=0 failed=0
    while IFS="$(printf '\t')" read -r name dir env command; do
        t0=$(date +%s)
        (cd "$dir" && eval "env $env timeout -k 5 $limit $command") >"$out/test-$name.log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
            echo "test $name: ok ($(($(date +%s) - t0)) s)"
        else
            failed=$((failed + 1))
            echo "test $name: FAILED, exit status $rc ($(($(date +%s) - t0)) s); last lines:"
            tail -n 20 "$out/test-$name.log"
        fi
    done <"$tests"
    echo "opencl tests: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# PyTorch on CUDA on the shapes of the standard and core suites (run as
# `gpu-check.sh _torch`).
torch_cuda() {
    command -v python3 >/dev/null || { echo "no python3"; return 0; }
    PYTHONUNBUFFERED=1 python3 - <<'EOF'
import sys, time
try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(f"no torch: {e}"); sys.exit(0)
if not torch.cuda.is_available():
    print("torch sees no CUDA device: skipped"); sys.exit(0)
torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, as mha computes
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}; TF32 off")

def timed(fn, reps=20):
    fn(); torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e3

# mha bench --suite standard: N, L, S, E, H, need_weights
for N, L, S, E, H, w in [(4, 128, 128, 512, 8, False), (4, 512, 512, 512, 8, False),
                         (4, 128, 128, 512, 8, True), (4, 512, 512, 512, 8, True),
                         (1, 2048, 2048, 512, 8, False), (1, 4096, 4096, 512, 8, False),
                         (8, 1, 2048, 512, 8, False)]:
    flop = 2*N*L*E*E + 4*N*S*E*E + 4*N*L*S*E + 2*N*L*E*E
    m = torch.nn.MultiheadAttention(E, H).to(dev).eval()
    q = torch.rand(L, N, E, device=dev) * 2 - 1
    kv = q if L == S else torch.rand(S, N, E, device=dev) * 2 - 1
    with torch.no_grad():
        ms = timed(lambda: m(q, kv, kv, need_weights=w))
    print(f"torch MHA fp32 N={N} L={L} S={S} E={E} H={H}{' weights' if w else ''}: "
          f"{ms:.3f} ms, {flop / ms / 1e6:.1f} GFLOP/s")
    # the attention products alone, SDPA on (N, H, L, D)
    D = E // H
    qh = torch.rand(N, H, L, D, device=dev)
    kh = torch.rand(N, H, S, D, device=dev)
    vh = torch.rand(N, H, S, D, device=dev)
    with torch.no_grad():
        ms = timed(lambda: F.scaled_dot_product_attention(qh, kh, vh))
    print(f"torch SDPA fp32 N={N} H={H} L={L} S={S} D={D}: {ms:.3f} ms, "
          f"{4*N*H*L*S*D / ms / 1e6:.1f} GFLOP/s (attention products)")

# mha bench --suite core: prefill B=1 Hq=32 Hkv=8 D=128 L=S=2048 causal,
# decoding B=4 Hq=32 Hkv=8 D=128 L=1 after 4096 cached rows, and the same
# without GQA (decode-mha: Hkv=32)
for dtype in (torch.float32, torch.float16):
    for name, B, Hq, Hkv, D, L, T, causal in [("prefill", 1, 32, 8, 128, 2048, 2048, True),
                                             ("decode", 4, 32, 8, 128, 1, 4097, False),
                                             ("decode-mha", 4, 32, 32, 128, 1, 4097, False)]:
        q = torch.rand(B, Hq, L, D, device=dev, dtype=dtype)
        k = torch.rand(B, Hkv, T, D, device=dev, dtype=dtype).repeat_interleave(Hq // Hkv, 1)
        v = torch.rand(B, Hkv, T, D, device=dev, dtype=dtype).repeat_interleave(Hq // Hkv, 1)
        with torch.no_grad():
            ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal))
        visible = L * (L + 1) // 2 if causal else L * T
        kv_bytes = 2 * B * Hkv * T * D * q.element_size()
        print(f"torch SDPA core {name} {str(dtype)[6:]}: {ms:.3f} ms, "
              f"{4*D*visible*B*Hq / ms / 1e6:.1f} effective GFLOP/s, "
              f"{kv_bytes / ms / 1e6:.1f} GB/s of K and V")
EOF
}

run() {
    cd "$root" || exit 1
    # $OUT comes back from the device tool with at most 8 files: the step
    # logs go into logs/, packed into one archive at the end.
    out=${OUT:-"$root/$build_name/gpu-check-out"}
    logs=$out/logs
    mkdir -p "$logs"
    : >"$out/summary.txt"
    # The packed tree (pack) or, here, this tree's build.
    ROOT_AT_PACK=$root
    BUILD=$root/$build_name
    tests=""
    if [ -f .gpu/gpu-check.env ]; then
        . ./.gpu/gpu-check.env
        ROOT_AT_PACK=$GPU_CHECK_ROOT
        BUILD=$GPU_CHECK_BUILD
        # The tests' commands carry the packing tree's absolute paths: make
        # them name this copy (the device's working tree, .gpu/build).
        if [ "$(cd "$ROOT_AT_PACK" 2>/dev/null && pwd -P)" != "$(pwd -P)" ]; then
            if [ -e "$ROOT_AT_PACK" ]; then
                echo "gpu-check: $ROOT_AT_PACK exists and is not this tree:" \
                    "the tests' paths will not resolve"
            else
                mkdir -p "$(dirname "$ROOT_AT_PACK")" && ln -s "$(pwd -P)" "$ROOT_AT_PACK"
            fi
        fi
        [ -e "$BUILD" ] || ln -s "$(pwd -P)/.gpu/build" "$BUILD"
        tests=.gpu/opencl-tests.txt
    fi
    [ -n "${GPU_CHECK_BUILD_DIR:-}" ] && BUILD=$GPU_CHECK_BUILD_DIR
    mha="$BUILD/bin/mha"
    if [ ! -x "$mha" ]; then
        echo "gpu-check: no $mha: run pack first (or set GPU_CHECK_BUILD_DIR)"
        exit 1
    fi
    export MHA_OPENCL_CACHE_DIR="${TMPDIR:-/tmp}/gpu-check-cache.$$"
    {
        echo "gpu-check: $(date -u '+%Y-%m-%d %H:%M UTC'), budget $budget s"
        echo "host: $(uname -srm), $(nproc) processors"
        git rev-parse --short HEAD 2>/dev/null | sed 's/^/commit: /'
        command -v nvidia-smi >/dev/null &&
            nvidia-smi --query-gpu=name,driver_version,memory.total \
            --format=csv,noheader
    } | tee "$out/machine.txt"

    if command -v clinfo >/dev/null; then
        step clinfo 20 clinfo -l
    else
        echo "clinfo: not installed" >>"$out/summary.txt"
    fi
    step devices 30 "$mha" devices
    for path in default fused gemm absorbed flash; do
        if [ "$path" = default ]; then
            step "verify_$path" 45 env -u MHA_OPENCL_ATTENTION "$mha" verify --plugin opencl
        else
            step "verify_$path" 45 env MHA_OPENCL_ATTENTION=$path "$mha" verify --plugin opencl
        fi
    done
    step small_forwards 60 "$BUILD/bin/small_forwards" default fused gemm:items gemm:columns \
        gemm:group absorbed:items absorbed:columns absorbed:group flash
    step bench_standard 90 "$mha" bench --suite standard --plugin opencl \
        --json "$out/bench-standard.json"
    step bench_core 60 "$mha" bench --suite core --plugin opencl
    step torch_cuda 60 sh "$self" _torch
    if [ -n "$tests" ]; then
        step opencl_tests 240 sh "$self" _tests "$tests" "$logs"
    else
        echo "opencl_tests: no .gpu/opencl-tests.txt (pack writes it): skipped" \
            | tee -a "$out/summary.txt"
    fi
    step bench_standard_gemm 90 env MHA_OPENCL_ATTENTION=gemm "$mha" bench --suite standard \
        --plugin opencl --json "$out/bench-standard-gemm.json"
    rm -rf "$MHA_OPENCL_CACHE_DIR"
    if [ -n "${OUT:-}" ]; then
        tar -czf "$out/gpu-check-logs.tar.gz" -C "$out" logs && rm -rf "$logs"
    fi
    echo "== summary ($(($(date +%s) - start_time)) s of $budget)"
    cat "$out/summary.txt"
    [ "$failures" -eq 0 ]
}

case ${1:-} in
pack) pack ;;
run) run ;;
_tests) opencl_tests "$2" "$3" ;;
_torch) torch_cuda ;;
*) usage ;;
esac
