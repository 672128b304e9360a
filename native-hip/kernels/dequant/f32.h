// Twin of shaders/dequant/f32.wgsl (W first).
#pragma once

#include "dequant/common.h"

// F32: plain little-endian floats (rows are 4-byte aligned).
struct F32 {
  static constexpr u32 TYPE = 0u;
  static constexpr u32 QK = 1u;
  static constexpr u32 BLOCK_BYTES = 4u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 w = (rb >> 2u) + i;
    return bitcast<vec4<f32>>(vec4<u32>(W[w], W[w + 1u], W[w + 2u], W[w + 3u]));
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return bitcast<f32>(W[(rb >> 2u) + i]);
  }
};
