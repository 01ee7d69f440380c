#!/bin/sh
# Installs what mha needs to build and test on Debian 12, skipping what is
# already there (so it also runs offline once everything is installed).
# clang and libclang-rt-14-dev: libFuzzer and clang's sanitizer runtimes
# (scripts/fuzz.sh); gcc's ASan/UBSan/TSan runtimes come with build-essential.
# oclgrind: the OpenCL simulator tests/core and tests/portability run the
# plugin's kernels on. clang-15: the offline compiles of the kernels for AMD
# (amdgcn), NVIDIA (nvptx64) and SPIR targets (scripts/offline-compile.sh),
# with rocm-device-libs, the builtins of the amdgcn targets. mesa-opencl-icd:
# Mesa's rusticl (llvmpipe), the second OpenCL implementation the OpenCL
# suites run on (tests/opencl/rusticl_check.sh).
# python3-numpy and python3-pytest run tests/python (the Python package); python3-torch
# (Debian's 1.13) lets its torch tests run, which skip without it.
set -eu
packages="build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers libclblast-dev \
pocl-opencl-icd libcmocka-dev clinfo clang libclang-rt-14-dev oclgrind clang-15 rocm-device-libs \
mesa-opencl-icd \
python3-numpy python3-pytest python3-torch"
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "install-deps: installing$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $missing
fi
