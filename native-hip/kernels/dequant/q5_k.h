// Twin of shaders/dequant/q5_k.wgsl (W first).
#pragma once

#include "dequant/common.h"
#include "dequant/kquant-scales.h"

// Q5_K: { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }. As Q4_K, plus a 5th bit:
// bit (2c + s) of qh[l]; value = d * sc * q - dmin * m.
struct Q5_K {
  static constexpr u32 TYPE = 13u;
  static constexpr u32 QK = 256u;
  static constexpr u32 BLOCK_BYTES = 176u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    const u32 c = j / 64u;
    const u32 s = (j % 64u) / 32u;
    const u32 l = j % 32u;
    const u32 is = 2u * c + s;
    const vec2<f32> sm = scale_min_k4(W, b + 4u, is);
    const vec4<u32> lo = (bytes4(ld_u32(W, b + 48u + c * 32u + l)) >> vec4<u32>(4u * s)) & vec4<u32>(0xFu);
    const vec4<u32> hi = ((bytes4(ld_u32(W, b + 16u + l)) >> vec4<u32>(is)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return ld_f16(W, b) * sm.x * vec4<f32>(lo | hi) - ld_f16(W, b + 2u) * sm.y;
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b, the
  // 8 sub-block mins, the byte offsets of d / dmin and how the mins enter (K_MINS).
  static constexpr u32 KD_OFF = 0u;
  static constexpr u32 KDMIN_OFF = 2u;
  static constexpr u32 K_MINS = 3u;
  static RF_INLINE vec4<i32> ksq4(const u32* W, u32 b, u32 j) {
    const u32 c = j / 64u;
    const u32 s = (j % 64u) / 32u;
    const u32 l = j % 32u;
    const u32 is = 2u * c + s;
    const i32 sc = i32(scale_min_k4(W, b + 4u, is).x);
    const vec4<u32> lo = (bytes4(ld_u32(W, b + 48u + c * 32u + l)) >> vec4<u32>(4u * s)) & vec4<u32>(0xFu);
    const vec4<u32> hi = ((bytes4(ld_u32(W, b + 16u + l)) >> vec4<u32>(is)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<i32>(lo | hi) * sc;
  }
  static RF_INLINE i32 kmin(const u32* W, u32 b, u32 is) {
    return i32(scale_min_k4(W, b + 4u, is).y);
  }
};
