// Twin of shaders/dequant/iq4_nl.wgsl (W first; the tables are __constant__ arrays).
#pragma once

#include "dequant/common.h"

static __constant__ f32 IQ4NL_VALUES[16] = {
  -127.0f, -104.0f, -83.0f, -65.0f, -49.0f, -35.0f, -22.0f, -10.0f,
  1.0f, 13.0f, 25.0f, 38.0f, 53.0f, 69.0f, 89.0f, 113.0f};
static __constant__ i32 IQ4NL_INTS[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// IQ4_NL: { f16 d; u8 qs[16] }, nibbles laid out as Q4_0 but mapped through a non-linear table.
struct IQ4_NL {
  static constexpr u32 TYPE = 20u;
  static constexpr u32 QK = 32u;
  static constexpr u32 BLOCK_BYTES = 18u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    const vec4<u32> q = bytes4(ld_u32(W, b + 2u + (j & 15u)));
    const vec4<u32> n = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
    const vec4<f32> v = vec4<f32>(IQ4NL_VALUES[n.x], IQ4NL_VALUES[n.y], IQ4NL_VALUES[n.z], IQ4NL_VALUES[n.w]);
    return ld_f16(W, b) * v;
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Integer quants (table values) of elements j..j+3 of the block at byte b (exact kernels; scale at b, no min).
  static constexpr bool Q_HAS_MIN = false;
  static RF_INLINE vec4<i32> qi4(const u32* W, u32 b, u32 j) {
    const vec4<u32> q = bytes4(ld_u32(W, b + 2u + (j & 15u)));
    const vec4<u32> n = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
    return vec4<i32>(IQ4NL_INTS[n.x], IQ4NL_INTS[n.y], IQ4NL_INTS[n.z], IQ4NL_INTS[n.w]);
  }
};
