// Twin of shaders/common/q8-dot.wgsl: the helpers take the pointers first (W, then XQ) and the
// weight's dequant type as a template parameter DQ (WGSL composes one type's qi4 into the module).
#pragma once

#include "rf_wgsl.h"
#include "common/exact.h"
#include "dequant/common.h"

// Integer block dots of legacy-quantized weights with Q8 activation blocks (q8_quant's layout:
// 8 words of packed i8 quants, then d and s as f32 bits). Lane w of a block holds elements
// 4w..4w+3, as ggml's maddubs/dpbusd.

// Lane w of the weight block at byte b against activation block xb.
template <class DQ> RF_INLINE i32 lane_sum(const u32* W, const u32* XQ, u32 b, u32 xb, u32 w) {
  const vec4<i32> p = DQ::qi4(W, b, 4u * w) * sbytes4(XQ[xb * 10u + w]);
  return (p.x + p.y) + (p.z + p.w);
}

template <class DQ> RF_INLINE array<i32, 8> block_lanes(const u32* W, const u32* XQ, u32 b, u32 xb) {
  array<i32, 8> l;
  for (u32 w = 0u; w < 8u; w++) { l[w] = lane_sum<DQ>(W, XQ, b, xb, w); }
  return l;
}

// A block's whole integer dot, in the lanes' pairwise order (exact either way).
RF_INLINE i32 isum8(array<i32, 8> l) {
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

// Activation block xb's scale, weight block at byte b's scale (and min at b + 2, s of xb).
RF_INLINE f32 xd(const u32* XQ, u32 xb) { return bitcast<f32>(XQ[xb * 10u + 8u]); }
RF_INLINE f32 xs(const u32* XQ, u32 xb) { return bitcast<f32>(XQ[xb * 10u + 9u]); }
RF_INLINE f32 wd(const u32* W, u32 b) { return half_to_f32(ld_u16(W, b)); }
RF_INLINE f32 wm(const u32* W, u32 b) { return half_to_f32(ld_u16(W, b + 2u)); }
