// Twin of shaders/dequant/f16.wgsl (W first; unpack2x16float is the hardware conversion).
#pragma once

#include "dequant/common.h"

// F16: IEEE halves.
struct F16 {
  static constexpr u32 TYPE = 1u;
  static constexpr u32 QK = 1u;
  static constexpr u32 BLOCK_BYTES = 2u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + i * 2u;
    return vec4<f32>(unpack2x16float(ld_u32(W, b)), unpack2x16float(ld_u32(W, b + 4u)));
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return ld_f16(W, rb + i * 2u);
  }
};
