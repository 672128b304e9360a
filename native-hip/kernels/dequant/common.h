// Twin of shaders/dequant/common.wgsl: the helpers take the weight pointer W first (WGSL reads its
// module-scope binding `W`); ld_f16 converts by the hardware.
//
// Every dequant header built on these helpers defines one struct named like its type (Q4_0, F16,
// ...) with, besides the WGSL file's constants and functions (W first):
//   static constexpr u32 TYPE        the GgmlType id (rf_launch.dequant)
//   static constexpr u32 QK          elements per block
//   static constexpr u32 BLOCK_BYTES bytes per block
//   static vec4<f32> dq4(W, rb, i)   elements i..i+3 (i % 4 == 0) of the row at byte rb
//   static f32 dq1(W, rb, i)         element i of the row at byte rb (tails of float rows)
#pragma once

#include "rf_wgsl.h"

RF_INLINE u32 ld_u32(const u32* W, u32 b) {
  const u32 w = b >> 2u;
  const u32 s = (b & 3u) * 8u;
  if (s == 0u) { return W[w]; }
  return (W[w] >> s) | (W[w + 1u] << (32u - s));
}

// b must be even.
RF_INLINE u32 ld_u16(const u32* W, u32 b) {
  return (W[b >> 2u] >> ((b & 2u) * 8u)) & 0xFFFFu;
}

RF_INLINE u32 ld_u8(const u32* W, u32 b) {
  return (W[b >> 2u] >> ((b & 3u) * 8u)) & 0xFFu;
}

RF_INLINE i32 ld_i8(const u32* W, u32 b) {
  return bitcast<i32>(ld_u8(W, b) << 24u) >> 24;
}

RF_INLINE f32 ld_f16(const u32* W, u32 b) {
  return unpack2x16float(ld_u16(W, b)).x;
}

RF_INLINE vec4<u32> bytes4(u32 u) {
  return (vec4<u32>(u) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFFu);
}

RF_INLINE vec4<i32> sbytes4(u32 u) {
  return bitcast<vec4<i32>>(vec4<u32>(u) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
}
