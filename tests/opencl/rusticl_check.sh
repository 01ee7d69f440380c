#!/bin/sh
# Runs a test program on Mesa's rusticl (its llvmpipe CPU device), a second
# OpenCL compiler and runtime beside PoCL, as the only OpenCL platform, with
# its own program and shader caches under WORK_DIR. Skipped (77) when rusticl
# is not installed (Debian's mesa-opencl-icd) or lists no device.
# Usage: rusticl_check.sh WORK_DIR PROGRAM [ARGS...]
set -u
work=$1
shift
icd=${MHA_RUSTICL_ICD:-/etc/OpenCL/vendors/rusticl.icd}
if [ ! -f "$icd" ]; then
    echo "rusticl is not installed ($icd, Debian's mesa-opencl-icd): skipped"
    exit 77
fi
mkdir -p "$work"
# ocl-icd reads OCL_ICD_VENDORS as one .icd file too; rusticl lists no device
# unless RUSTICL_ENABLE names its driver.
export OCL_ICD_VENDORS="$icd" RUSTICL_ENABLE=llvmpipe
export MHA_OPENCL_CACHE_DIR="$work/mha-opencl-cache" MESA_SHADER_CACHE_DIR="$work/mesa-cache"
if command -v clinfo >/dev/null 2>&1 && ! clinfo -l 2>/dev/null | grep -q "Device"; then
    echo "rusticl ($icd) lists no device with RUSTICL_ENABLE=llvmpipe: skipped"
    exit 77
fi
exec "$@"
