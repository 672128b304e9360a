// Twin of shaders/common/tanhf.wgsl: glibc's (fdlibm's) tanhf and expm1f in float, each operation
// rounded as written (builds never contract), the divisions by exact.h's div_rn. Named glibc_* so
// as not to meet the toolkits' own tanhf / expm1f.
#pragma once

#include "rf_wgsl.h"
#include "common/exact.h"

// Adds k to the exponent of y (fdlibm's SET_FLOAT_WORD(y, i + (k << 23))).
RF_INLINE f32 add_exponent(f32 y, i32 k) { return bitcast<f32>(bitcast<u32>(y) + (bitcast<u32>(k) << 23u)); }

RF_INLINE f32 glibc_expm1f(f32 x_in) {
  const f32 LN2_HI = bitcast<f32>(0x3f317180u);
  const f32 LN2_LO = bitcast<f32>(0x3717f7d1u);
  const f32 INVLN2 = bitcast<f32>(0x3fb8aa3bu);
  const f32 Q1 = bitcast<f32>(0xbd088889u);
  const f32 Q2 = bitcast<f32>(0x3ad00d01u);
  const f32 Q3 = bitcast<f32>(0xb8a670cdu);
  const f32 Q4 = bitcast<f32>(0x36867e54u);
  const f32 Q5 = bitcast<f32>(0xb457edbbu);
  f32 x = x_in;
  const u32 hx = bitcast<u32>(x) & 0x7fffffffu;
  const bool neg = (bitcast<u32>(x) >> 31u) != 0u;
  if (hx >= 0x4195b844u) {
    // |x| >= 27 ln2
    if (hx >= 0x42b17218u) {
      if (hx > 0x7f800000u) { return x; }
      if (hx == 0x7f800000u) { return select(x, -1.0f, neg); }
      if (!neg) { return f32_inf(); }
    }
    if (neg) { return -1.0f; }
  }
  i32 k = 0;
  f32 c = 0.0f;
  if (hx > 0x3eb17218u) {
    // |x| > 0.5 ln2: reduce by k ln2
    f32 hi;
    f32 lo;
    if (hx < 0x3f851592u) {
      if (neg) { hi = x + LN2_HI; lo = -LN2_LO; k = -1; } else { hi = x - LN2_HI; lo = LN2_LO; k = 1; }
    } else {
      k = i32(mul_rn(INVLN2, x) + select(0.5f, -0.5f, neg));
      const f32 t = f32(k);
      hi = x - mul_rn(t, LN2_HI);
      lo = mul_rn(t, LN2_LO);
    }
    x = hi - lo;
    c = (hi - x) - lo;
  } else if (hx < 0x33000000u) {
    return x;
  }
  const f32 hfx = mul_rn(0.5f, x);
  const f32 hxs = mul_rn(x, hfx);
  const f32 r1 = 1.0f + mul_rn(hxs, Q1 + mul_rn(hxs, Q2 + mul_rn(hxs, Q3 + mul_rn(hxs, Q4 + mul_rn(hxs, Q5)))));
  const f32 t = 3.0f - mul_rn(r1, hfx);
  f32 e = mul_rn(hxs, div_rn(r1 - t, 6.0f - mul_rn(x, t)));
  if (k == 0) { return x - (mul_rn(x, e) - hxs); }
  e = mul_rn(x, e - c) - c;
  e = e - hxs;
  if (k == -1) { return mul_rn(0.5f, x - e) - 0.5f; }
  if (k == 1) {
    if (x < -0.25f) { return mul_rn(-2.0f, e - (x + 0.5f)); }
    return 1.0f + mul_rn(2.0f, x - e);
  }
  if (k <= -2 || k > 56) { return add_exponent(1.0f - (e - x), k) - 1.0f; }
  if (k < 23) { return add_exponent(bitcast<f32>(0x3f800000u - (0x1000000u >> u32(k))) - (e - x), k); }
  return add_exponent((x - (e + bitcast<f32>(u32(0x7f - k) << 23u))) + 1.0f, k);
}

RF_INLINE f32 glibc_tanhf(f32 x) {
  const u32 ix = bitcast<u32>(x) & 0x7fffffffu;
  if (ix >= 0x7f800000u) {
    if (ix > 0x7f800000u) { return x; }
    return select(1.0f, -1.0f, x < 0.0f);
  }
  f32 z = 1.0f;
  if (ix < 0x41b00000u) {
    // |x| < 22
    if (ix == 0u) { return x; }
    if (ix < 0x24000000u) { return mul_rn(x, 1.0f + x); }
    const f32 ax = fabsf(x);
    if (ix >= 0x3f800000u) {
      const f32 t = glibc_expm1f(mul_rn(2.0f, ax));
      z = 1.0f - div_rn(2.0f, t + 2.0f);
    } else {
      const f32 t = glibc_expm1f(mul_rn(-2.0f, ax));
      z = div_rn(-t, t + 2.0f);
    }
  }
  return select(z, -z, x < 0.0f);
}
