// Twin of shaders/common/half.wgsl: the halves' bits are widened back by the hardware conversion
// (no compiler here folds unpack(pack(x)) into x, the reason WGSL widens by integer code).
#pragma once

#include "rf_wgsl.h"

// Native conversion (exact for every number).
RF_INLINE f32 f16_bits_to_f32(u32 h) { return f16_bits_to_f32_hw(h); }

RF_INLINE f32 round_f16(f32 v) {
  return f16_bits_to_f32(pack2x16float(vec2<f32>(v, 0.0f)) & 0xffffu);
}

RF_INLINE vec2<f32> round_f16x2(vec2<f32> v) {
  const u32 p = pack2x16float(v);
  return vec2<f32>(f16_bits_to_f32(p & 0xffffu), f16_bits_to_f32(p >> 16u));
}

// f32 -> bf16 precision as ggml's GGML_FP32_TO_BF16: round to nearest even on the upper 16 bits,
// NaN kept quiet.
RF_INLINE f32 round_bf16(f32 v) {
  const u32 u = bitcast<u32>(v);
  u32 h;
  if ((u & 0x7fffffffu) > 0x7f800000u) { h = (u >> 16u) | 64u; } else { h = (u + (0x7fffu + ((u >> 16u) & 1u))) >> 16u; }
  return bitcast<f32>(h << 16u);
}
