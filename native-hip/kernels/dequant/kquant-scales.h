// Twin of shaders/dequant/kquant-scales.wgsl (W first).
#pragma once

#include "dequant/common.h"

// The 6-bit scale/min pairs of Q4_K and Q5_K (ggml's get_scale_min_k4): 8 pairs in 12 bytes at sb.
RF_INLINE vec2<f32> scale_min_k4(const u32* W, u32 sb, u32 is) {
  if (is < 4u) {
    return vec2<f32>(f32(ld_u8(W, sb + is) & 63u), f32(ld_u8(W, sb + is + 4u) & 63u));
  }
  const u32 x = ld_u8(W, sb + is + 4u);
  const u32 sc = (x & 0xFu) | ((ld_u8(W, sb + is - 4u) >> 6u) << 4u);
  const u32 m = (x >> 4u) | ((ld_u8(W, sb + is) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}
