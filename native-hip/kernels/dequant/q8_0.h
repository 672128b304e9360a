// Twin of shaders/dequant/q8_0.wgsl (W first).
#pragma once

#include "dequant/common.h"

// Q8_0: { f16 d; i8 qs[32] }; value = d * q.
struct Q8_0 {
  static constexpr u32 TYPE = 8u;
  static constexpr u32 QK = 32u;
  static constexpr u32 BLOCK_BYTES = 34u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    return ld_f16(W, b) * vec4<f32>(sbytes4(ld_u32(W, b + 2u + j)));
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Integer quants of elements j..j+3 of the block at byte b (exact kernels; scale at b, no min).
  static constexpr bool Q_HAS_MIN = false;
  static RF_INLINE vec4<i32> qi4(const u32* W, u32 b, u32 j) {
    return sbytes4(ld_u32(W, b + 2u + j));
  }
};
