// Twin of shaders/dequant/q2_k.wgsl (W first).
#pragma once

#include "dequant/common.h"

// Q2_K: { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }, 256 elements in two halves of 128.
// In half h, element e = 32*g + l (g 0..3, l 0..31) is bits 2g..2g+1 of qs[32h + l], with the
// 4-bit scale/min pair scales[8h + 2g + l/16]; value = d * sc * q - dmin * m.
struct Q2_K {
  static constexpr u32 TYPE = 10u;
  static constexpr u32 QK = 256u;
  static constexpr u32 BLOCK_BYTES = 84u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    const u32 h = j / 128u;
    const u32 g = (j % 128u) / 32u;
    const u32 l = j % 32u;
    const u32 sc = ld_u8(W, b + h * 8u + g * 2u + l / 16u);
    const vec4<u32> q = (bytes4(ld_u32(W, b + 16u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
    const f32 d = ld_f16(W, b + 80u);
    const f32 dmin = ld_f16(W, b + 82u);
    return d * f32(sc & 0xFu) * vec4<f32>(q) - dmin * f32(sc >> 4u);
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b, the
  // sub-block mins, the byte offsets of d / dmin and how the mins enter (K_MINS, see matvec_q8k_exact).
  static constexpr u32 KD_OFF = 80u;
  static constexpr u32 KDMIN_OFF = 82u;
  static constexpr u32 K_MINS = 1u;
  static RF_INLINE vec4<i32> ksq4(const u32* W, u32 b, u32 j) {
    const u32 h = j / 128u;
    const u32 g = (j % 128u) / 32u;
    const u32 l = j % 32u;
    const u32 sc = ld_u8(W, b + h * 8u + g * 2u + l / 16u) & 0xFu;
    const vec4<u32> q = (bytes4(ld_u32(W, b + 16u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
    return vec4<i32>(q) * i32(sc);
  }
  static RF_INLINE i32 kmin(const u32* W, u32 b, u32 is) {
    return i32(ld_u8(W, b + is) >> 4u);
  }
};
