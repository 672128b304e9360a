// Twin of shaders/dequant/q6_k.wgsl (W first).
#pragma once

#include "dequant/common.h"

// Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }, two halves of 128. In half h, element
// e = 32g + l takes 4 low bits from ql[64h + l + 32(g & 1)] (low nibble for g < 2, high
// otherwise) and 2 high bits (bits 2g..2g+1) from qh[32h + l]; scale scales[8h + l/16 + 2g];
// value = d * sc * (q - 32).
struct Q6_K {
  static constexpr u32 TYPE = 14u;
  static constexpr u32 QK = 256u;
  static constexpr u32 BLOCK_BYTES = 210u;

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    const u32 h = j / 128u;
    const u32 g = (j % 128u) / 32u;
    const u32 l = j % 32u;
    const vec4<u32> ql = bytes4(ld_u32(W, b + h * 64u + l + 32u * (g & 1u)));
    const vec4<u32> lo = (ql >> vec4<u32>(4u * (g / 2u))) & vec4<u32>(0xFu);
    const vec4<u32> hi = (bytes4(ld_u32(W, b + 128u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
    const vec4<i32> q = vec4<i32>(lo | (hi << vec4<u32>(4u))) - vec4<i32>(32);
    const f32 sc = f32(ld_i8(W, b + 192u + h * 8u + l / 16u + 2u * g));
    return ld_f16(W, b + 208u) * sc * vec4<f32>(q);
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b (no mins).
  static constexpr u32 KD_OFF = 208u;
  static constexpr u32 KDMIN_OFF = 208u;
  static constexpr u32 K_MINS = 0u;
  static RF_INLINE vec4<i32> ksq4(const u32* W, u32 b, u32 j) {
    const u32 h = j / 128u;
    const u32 g = (j % 128u) / 32u;
    const u32 l = j % 32u;
    const vec4<u32> ql = bytes4(ld_u32(W, b + h * 64u + l + 32u * (g & 1u)));
    const vec4<u32> lo = (ql >> vec4<u32>(4u * (g / 2u))) & vec4<u32>(0xFu);
    const vec4<u32> hi = (bytes4(ld_u32(W, b + 128u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
    const vec4<i32> q = vec4<i32>(lo | (hi << vec4<u32>(4u))) - vec4<i32>(32);
    return q * ld_i8(W, b + 192u + h * 8u + l / 16u + 2u * g);
  }
  static RF_INLINE i32 kmin(const u32*, u32, u32) { return 0; }
};
