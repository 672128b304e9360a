// Twin of shaders/dequant/q3_k.wgsl (W first).
#pragma once

#include "dequant/common.h"

// Q3_K: { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }. Indexing as Q2_K (half h, group g,
// lane l); the 3rd bit is bit 4h+g of hmask[l] (clear means subtract 4); the 16 signed 6-bit
// scales are packed as low nibbles in scales[0..7] (two per byte) and high 2-bit pairs in
// scales[8..11]; value = d * (sc - 32) * q.
struct Q3_K {
  static constexpr u32 TYPE = 11u;
  static constexpr u32 QK = 256u;
  static constexpr u32 BLOCK_BYTES = 110u;

  static RF_INLINE f32 q3k_scale(const u32* W, u32 sb, u32 is) {
    const u32 lo = select(ld_u8(W, sb + is - 8u) >> 4u, ld_u8(W, sb + is) & 0xFu, is < 8u);
    const u32 hi = (ld_u8(W, sb + 8u + (is % 4u)) >> (2u * (is / 4u))) & 3u;
    return f32(i32(lo | (hi << 4u)) - 32);
  }

  static RF_INLINE vec4<f32> dq4(const u32* W, u32 rb, u32 i) {
    const u32 b = rb + (i / QK) * BLOCK_BYTES;
    const u32 j = i % QK;
    const u32 h = j / 128u;
    const u32 g = (j % 128u) / 32u;
    const u32 l = j % 32u;
    const f32 sc = q3k_scale(W, b + 96u, h * 8u + g * 2u + l / 16u);
    const vec4<u32> q = (bytes4(ld_u32(W, b + 32u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
    const vec4<u32> hm = (bytes4(ld_u32(W, b + l)) >> vec4<u32>(h * 4u + g)) & vec4<u32>(1u);
    const vec4<f32> v = vec4<f32>(q) - select(vec4<f32>(4.0f), vec4<f32>(0.0f), hm != vec4<u32>(0u));
    return ld_f16(W, b + 108u) * sc * v;
  }

  static RF_INLINE f32 dq1(const u32* W, u32 rb, u32 i) {
    return dq4(W, rb, i & ~3u)[i & 3u];
  }

  // Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b (no mins).
  static constexpr u32 KD_OFF = 108u;
  static constexpr u32 KDMIN_OFF = 108u;
  static constexpr u32 K_MINS = 0u;
  static RF_INLINE vec4<i32> ksq4(const u32* W, u32 b, u32 j) {
    const u32 h = j / 128u;
    const u32 g = (j % 128u) / 32u;
    const u32 l = j % 32u;
    const i32 sc = i32(q3k_scale(W, b + 96u, h * 8u + g * 2u + l / 16u));
    const vec4<u32> q = (bytes4(ld_u32(W, b + 32u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
    const vec4<u32> hm = (bytes4(ld_u32(W, b + l)) >> vec4<u32>(h * 4u + g)) & vec4<u32>(1u);
    return (vec4<i32>(q) - select(vec4<i32>(4), vec4<i32>(0), hm != vec4<u32>(0u))) * sc;
  }
  static RF_INLINE i32 kmin(const u32*, u32, u32) { return 0; }
};
