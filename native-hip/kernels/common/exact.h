// Twin of shaders/common/exact.wgsl: the same functions over the native instructions WGSL has to
// emulate (fused FMA, correctly rounded division and sqrt, f16 conversion). HIP/CUDA compilers do
// not contract (builds pass -ffp-contract=off / -fmad=false) nor re-associate floats, so opq() is
// the identity and exact_init() does nothing. Not twinned: split12, two_prod_dekker, add_ro and
// div_fix, the emulation of a fused FMA / correct division for devices without them.
// HIP on AMD relies on hipcc's correctly rounded f32 division and sqrt
// (-fhip-fp32-correctly-rounded-divide-sqrt, the default) and no denormal flushing.
#pragma once

#include "rf_wgsl.h"

// The device's FMA is fused.
constexpr bool FMA_FUSED = true;

// Native: nothing to initialize (WGSL seeds an opaque zero against Mesa's inexact rewrites).
RF_INLINE void exact_init() {}

// Native: identity (no compiler here rewrites float expressions).
RF_INLINE f32 opq(f32 x) { return x; }

// a*b rounded to f32 (ggml rounds these products separately). Native: __fmul_rn, never contracted.
RF_INLINE f32 mul_rn(f32 a, f32 b) { return __fmul_rn(a, b); }

// fma(a, b, c) rounded once, as x86's vfmadd. Native: __fmaf_rn.
RF_INLINE f32 fmx(f32 a, f32 b, f32 c) { return __fmaf_rn(a, b, c); }

// a / b correctly rounded. Native: __fdiv_rn (CUDA); hipcc's division is correctly rounded.
RF_INLINE f32 div_rn(f32 a, f32 b) {
#if RF_CUDA
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

// sqrt(a) correctly rounded. Native: __fsqrt_rn (CUDA); sqrtf under hipcc's correctly rounded sqrt
// (HIP 5's __fsqrt_rn is the approximate native sqrt).
RF_INLINE f32 sqrt_rn(f32 a) {
#if RF_CUDA
  return __fsqrt_rn(a);
#else
  return sqrtf(a);
#endif
}

// f32 -> f16 bits, round to nearest even (as F16C's vcvtps2ph and ggml's scalar conversion).
// Native conversion for numbers and infinities; NaNs keep WGSL's bits (sign, quiet bit, payload).
RF_INLINE u32 f16_bits_rne(f32 v) {
  const u32 u = bitcast<u32>(v);
  const u32 s = (u >> 16u) & 0x8000u;
  const u32 a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return s | 0x7c00u | 0x200u | ((a >> 13u) & 0x3ffu); }
  return f32_to_f16_bits(v);
}

// Native conversion (exact for every number; a signalling NaN may come back quieted).
RF_INLINE f32 half_to_f32(u32 h) { return f16_bits_to_f32_hw(h); }

RF_INLINE f32 to_f16(f32 v) { return half_to_f32(f16_bits_rne(v)); }

// ---- float-float (double emulation)
RF_INLINE vec2<f32> two_sum(f32 a, f32 b) {
  const f32 s = a + b;
  const f32 bb = s - a;
  const f32 e = (a - (s - bb)) + (b - bb);
  return vec2<f32>(s, e);
}

RF_INLINE vec2<f32> ff_add_f(vec2<f32> x, f32 b) {
  const vec2<f32> t = two_sum(x.x, b);
  return two_sum(t.x, t.y + x.y);
}

RF_INLINE vec2<f32> ff_add(vec2<f32> x, vec2<f32> y) {
  const vec2<f32> t = two_sum(x.x, y.x);
  return two_sum(t.x, t.y + (x.y + y.y));
}

// The exact product a*b as a float-float (FMA_FUSED: the residual by a native fma).
RF_INLINE vec2<f32> two_prod(f32 a, f32 b) {
  const f32 p = mul_rn(a, b);
  return vec2<f32>(p, __fmaf_rn(a, b, -p));
}

// Rounds hi + lo to f32 (hi, lo normalized by two_sum).
RF_INLINE f32 ff_round(vec2<f32> x) { return x.x + x.y; }

// ---- ggml's SIMD reduction trees (see ggml-simd.ts)
// GCC's _mm512_reduce_add_ps over 16 lanes.
RF_INLINE f32 reduce16(array<f32, 16> l) {
  array<f32, 8> t;
  for (u32 i = 0u; i < 8u; i++) { t[i] = l[i + 8u] + l[i]; }
  const f32 u0 = t[4] + t[0];
  const f32 u1 = t[5] + t[1];
  const f32 u2 = t[6] + t[2];
  const f32 u3 = t[7] + t[3];
  return (u0 + u2) + (u1 + u3);
}

// +infinity.
RF_INLINE f32 f32_inf() { return bitcast<f32>(0x7f800000u); }

// ---- ggml_v_expf, the AVX-512 variant (polynomial with the 1 folded in, then scalef).
// ldexpf is exact (correctly rounded where the result is subnormal) on both toolkits.
RF_INLINE f32 v_expf(f32 x) {
  const f32 R = 12582912.0f; // 0x1.8p23
  const f32 z = fmx(x, 0x1.715476p0f, R);
  const f32 n = z - R;
  const f32 b = fmx(-n, 0x1.7f7d1cp-20f, fmx(-n, 0x1.62e4p-1f, x));
  const f32 u = mul_rn(b, b);
  if (fabsf(n) > 192.0f) { return select(f32_inf(), 0.0f, n <= 0.0f); }
  const f32 j = fmx(fmx(fmx(0x1.0e402p-7f, b, 0x1.573e2ep-5f), u, fmx(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u, fmx(0x1.ffffecp-1f, b, 1.0f));
  return ldexpf(j, i32(n));
}

// The 8-lane horizontal sum of ggml's hsum_float_8.
RF_INLINE f32 hsum8(array<f32, 8> a) {
  const f32 t0 = a[0] + a[4];
  const f32 t1 = a[1] + a[5];
  const f32 t2 = a[2] + a[6];
  const f32 t3 = a[3] + a[7];
  return (t0 + t2) + (t1 + t3);
}
