#!/bin/sh
# Builds with warnings as errors, runs every test, then installs mha into a
# temporary prefix and builds the example against the installed package (CMake
# and pkg-config), as a user of the library would.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MHA_BUILD_DIR:-"$root/build"}
jobs=$(nproc 2>/dev/null || echo 2)
# OpenCL runs on PoCL in CI. Debian's ICD loader (ocl-icd) finds drivers through
# OCL_ICD_VENDORS (it ignores OCL_ICD_FILENAMES); PoCL keeps its kernel cache in
# the build folder, so every run starts from the same, known cache state.
export OCL_ICD_VENDORS="${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}"
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$build/pocl-cache}"

cmake -S "$root" -B "$build" -DMHA_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$root/examples" -B "$prefix/example-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
cmake --build "$prefix/example-build"
"$prefix/example-build/basic_attention" reference
# The same program built with pkg-config alone.
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -std=c11 -Wall -Wextra -Werror \
    -o "$prefix/basic_pkgconfig" "$root/examples/basic_attention.c" \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs mha) \
    -Wl,-rpath,"$prefix/lib"
"$prefix/basic_pkgconfig" reference
# The OpenCL interop example: with mha::opencl (CMake) and with
# `pkg-config mha-opencl`, on the caller's cl_context and cl_mem buffers.
if [ -x "$prefix/example-build/opencl_buffers" ]; then
    "$prefix/example-build/opencl_buffers"
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -std=c11 -Wall -Wextra -Werror \
        -o "$prefix/opencl_pkgconfig" "$root/examples/opencl_buffers.c" \
        $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs mha-opencl) -lm \
        -Wl,-rpath,"$prefix/lib"
    "$prefix/opencl_pkgconfig"
fi
# The installed command line finds the installed plugins on its own, and a
# plugin built out of tree with the installed mha_add_plugin() helper.
"$prefix/bin/mha" plugins
cmake -S "$root/examples/plugin" -B "$prefix/plugin-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
cmake --build "$prefix/plugin-build"
MHA_PLUGIN_PATH="$prefix/plugin-build" "$prefix/bin/mha" plugins | grep '^skeleton '

# The suites that need no OpenCL again under AddressSanitizer +
# UndefinedBehaviorSanitizer, the host and threads tests under
# ThreadSanitizer, and the OpenCL tests under ASan + UBSan, each in its own
# build folder.
"$root/scripts/sanitize.sh" asan tsan asan-opencl
# libFuzzer harnesses (clang), each for MHA_FUZZ_SECONDS (default 20) over the
# committed seed corpus.
"$root/scripts/fuzz.sh"
# The figures of docs/reliability.md, from the logs of the runs above.
MHA_BUILD_DIR="$build" "$root/scripts/reliability-figures.sh" --stdout
echo "test.sh: all tests passed"
