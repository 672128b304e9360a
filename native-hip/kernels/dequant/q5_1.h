// Twin of shaders/dequant/q5_1.wgsl (W first).
#pragma once

#include "dequant/common.h"

// Q5_1: { f16 d; f16 m; u8 qh[4]; u8 qs[16] }, bits as Q5_0; value = d * q + m.
struct Q5_1 {
  static constexpr u32 TYPE = 7u;
  static constexpr u32 QK = 32u;
  static constexpr u32 BLOCK_BYTES = 24u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    const u32 qh = ld_u32(W, b + 4u);
    const vec4<u32> q = bytes4(ld_u32(W, b + 8u + (j & 15u)));
    const vec4<u32> lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
    const vec4<u32> hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
    return ld_f16(W, b) * vec4<f32>(lo | hi) + ld_f16(W, b + 2u);
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Integer quants of elements j..j+3 of the block at byte b (exact kernels; scale at b, min at b + 2).
  static constexpr bool Q_HAS_MIN = true;
  static RF_INLINE vec4<i32> qi4(const u32* W, u32 b, u32 j) {
    const u32 qh = ld_u32(W, b + 4u);
    const vec4<u32> q = bytes4(ld_u32(W, b + 8u + (j & 15u)));
    const vec4<u32> lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
    const vec4<u32> hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<i32>(lo | hi);
  }
};
