// Twin of shaders/dequant/q5_0.wgsl (W first).
#pragma once

#include "dequant/common.h"

// Q5_0: { f16 d; u8 qh[4]; u8 qs[16] }. Low 4 bits as Q4_0, bit j of qh is the 5th bit of
// element j; value = d * (q - 16).
struct Q5_0 {
  static constexpr u32 TYPE = 6u;
  static constexpr u32 QK = 32u;
  static constexpr u32 BLOCK_BYTES = 22u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    const u32 qh = ld_u32(W, b + 2u);
    const vec4<u32> q = bytes4(ld_u32(W, b + 6u + (j & 15u)));
    const vec4<u32> lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
    const vec4<u32> hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
    return ld_f16(W, b) * (vec4<f32>(lo | hi) - 16.0f);
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Integer quants of elements j..j+3 of the block at byte b (exact kernels; scale at b, no min).
  static constexpr bool Q_HAS_MIN = false;
  static RF_INLINE vec4<i32> qi4(const u32* W, u32 b, u32 j) {
    const u32 qh = ld_u32(W, b + 2u);
    const vec4<u32> q = bytes4(ld_u32(W, b + 6u + (j & 15u)));
    const vec4<u32> lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
    const vec4<u32> hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<i32>(lo | hi) - 16;
  }
};
