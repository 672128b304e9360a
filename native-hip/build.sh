#!/bin/sh
# npm run build:hip [-- make arguments]: builds native-hip/build/librocforge_hip.so with nvcc or
# hipcc, whichever matches this machine's GPU (native-hip/Makefile; HIP_ARCH, CUDA_ARCH and
# PLATFORM=amd|nvidia in the environment choose the targets). `npm run build:hip -- compile-check`
# compiles every source for both vendors without linking.
set -e
cd "$(dirname "$0")"
if ! command -v make >/dev/null 2>&1; then
  echo "build:hip: make is not installed: install it, or build on a machine that has it and point ROCFORGE_HIP_LIB at (or carry) native-hip/build/librocforge_hip.so" >&2
  exit 1
fi
jobs=$(nproc 2>/dev/null || echo 2)
exec make --no-print-directory -j"$jobs" "$@"
