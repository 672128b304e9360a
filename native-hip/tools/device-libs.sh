#!/bin/sh
# Prints the hipcc flag that points clang at ROCm device libraries covering every target given,
# or nothing when the installed ones already do.
#
# Why: Debian bookworm's rocm-device-libs (5.2) ships no oclc_isa_version_1100.bc, so clang 15
# refuses --offload-arch=gfx1100 ("cannot find ROCm device library for gfx1100") although it can
# generate gfx1100 code. That file holds one constant, the ISA version (11.0.0 -> 11000), which
# the libraries' few ISA-dependent paths read. For each missing target this makes an overlay
# directory: links to every installed library plus the one constant, compiled from LLVM IR.
# The overlay is for compiling (CI's compile check); a machine that runs gfx11 code has a ROCm
# whose device libraries know gfx11, so no overlay is made there.
#
# usage: device-libs.sh <overlay dir> <gfx target>...
set -eu
overlay=$1
shift
clang=${HIP_CLANG:-}
if [ -z "$clang" ]; then
  for c in clang-15 clang /opt/rocm/llvm/bin/clang; do
    if command -v "$c" >/dev/null 2>&1; then clang=$c; break; fi
  done
fi
found=""
for d in ${ROCM_DEVICE_LIB_PATH:-} /opt/rocm/amdgcn/bitcode /usr/lib/x86_64-linux-gnu/amdgcn/bitcode /usr/lib/amdgcn/bitcode; do
  if [ -f "$d/ockl.bc" ]; then found=$d; break; fi
done
[ -n "$found" ] || exit 0  # unknown layout: let clang report what it misses
missing=""
for t in "$@"; do
  num=${t#gfx}
  num=${num%%:*}
  [ -f "$found/oclc_isa_version_$num.bc" ] || missing="$missing $num"
done
[ -n "$missing" ] || exit 0
if [ -z "$clang" ]; then
  echo "device-libs.sh: no clang found to build the ISA-version library for gfx$missing" >&2
  exit 1
fi
mkdir -p "$overlay"
for f in "$found"/*.bc; do
  [ -e "$overlay/$(basename "$f")" ] || ln -s "$f" "$overlay/$(basename "$f")"
done
for num in $missing; do
  # gfxMmS with one or two major digits: 1100 -> 11.0.0 -> 11000, 90a stays as clang spells it.
  case $num in
    ????) major=${num%??}; rest=${num#??} ;;
    *) major=${num%??}; rest=${num#?} ;;
  esac
  minor=${rest%?}
  step=${rest#?}
  case $step in [0-9]) ;; *) echo "device-libs.sh: cannot derive the ISA version of gfx$num" >&2; exit 1 ;; esac
  version=$((major * 1000 + minor * 100 + step))
  [ -f "$overlay/oclc_isa_version_$num.bc" ] && continue
  ll="$overlay/oclc_isa_version_$num.ll"
  cat >"$ll" <<IR
target datalayout = "e-p:64:64-p1:64:64-p2:32:32-p3:32:32-p4:64:64-p5:32:32-p6:32:32-i64:64-v16:16-v24:32-v32:32-v48:64-v96:128-v192:256-v256:256-v512:512-v1024:1024-v2048:2048-n32:64-S32-A5-G1-ni:7"
target triple = "amdgcn-amd-amdhsa"
@__oclc_ISA_version = linkonce_odr protected local_unnamed_addr addrspace(4) constant i32 $version, align 4
IR
  "$clang" -c -emit-llvm -nogpulib -target amdgcn-amd-amdhsa -x ir "$ll" -o "$overlay/oclc_isa_version_$num.bc"
  rm -f "$ll"
done
echo "--rocm-device-lib-path=$overlay"
