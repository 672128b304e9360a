// Twin of shaders/dequant/bf16.wgsl (W first).
#pragma once

#include "dequant/common.h"

// BF16: the upper 16 bits of an f32.
struct BF16 {
  static constexpr u32 TYPE = 30u;
  static constexpr u32 QK = 1u;
  static constexpr u32 BLOCK_BYTES = 2u;

  static RF_INLINE vec2<f32> bf16_pair(u32 u) {
    return bitcast<vec2<f32>>(vec2<u32>(u << 16u, u & 0xFFFF0000u));
  }

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + i * 2u;
    return vec4<f32>(bf16_pair(ld_u32(W, b)), bf16_pair(ld_u32(W, b + 4u)));
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return bitcast<f32>(ld_u16(W, rb + i * 2u) << 16u);
  }
};
