// tanhf as glibc computes it, for ggml's tanh (gemma2's soft-capping) and its GELU table: the
// fdlibm algorithm in float arithmetic (glibc before 2.41's correctly rounded CORE-MATH tanhf),
// built for baseline x86-64, so without fused multiply-adds. tanhf(x) = -t/(t+2) with t = expm1f(-2|x|)
// for |x| < 1, 1 - 2/(t+2) with t = expm1f(2|x|) for 1 <= |x| < 22, ±1 beyond. Every operation
// below rounds to float as the C code does (FLT_EVAL_METHOD 0 on x86-64).
import { f32Bits, f32FromBits } from '../../quant/float.ts';

const fr = Math.fround;

const LN2_HI = f32FromBits(0x3f317180);
const LN2_LO = f32FromBits(0x3717f7d1);
const INVLN2 = f32FromBits(0x3fb8aa3b);
const Q1 = f32FromBits(0xbd088889);
const Q2 = f32FromBits(0x3ad00d01);
const Q3 = f32FromBits(0xb8a670cd);
const Q4 = f32FromBits(0x36867e54);
const Q5 = f32FromBits(0xb457edbb);

/** Adds k to the exponent of y (fdlibm's SET_FLOAT_WORD(y, i + (k << 23))). */
function addExponent(y: number, k: number): number {
  return f32FromBits((f32Bits(y) + (k << 23)) >>> 0);
}

/** fdlibm's expm1f for the arguments tanhf passes (finite, |x| < 44). */
export function expm1f(xIn: number): number {
  let x = fr(xIn);
  const hx = f32Bits(x) & 0x7fffffff;
  const neg = x < 0 || Object.is(x, -0);
  if (hx >= 0x4195b844) {
    // |x| >= 27 ln2
    if (hx >= 0x42b17218) {
      if (hx > 0x7f800000) return x;
      if (hx === 0x7f800000) return neg ? -1 : x;
      if (!neg) return Infinity;
    }
    if (neg) return -1;
  }
  let k = 0;
  let c = 0;
  if (hx > 0x3eb17218) {
    // |x| > 0.5 ln2: reduce by k ln2
    let hi: number;
    let lo: number;
    if (hx < 0x3f851592) {
      hi = neg ? fr(x + LN2_HI) : fr(x - LN2_HI);
      lo = neg ? -LN2_LO : LN2_LO;
      k = neg ? -1 : 1;
    } else {
      k = Math.trunc(fr(fr(INVLN2 * x) + (neg ? -0.5 : 0.5)));
      hi = fr(x - fr(k * LN2_HI));
      lo = fr(k * LN2_LO);
    }
    x = fr(hi - lo);
    c = fr(fr(hi - x) - lo);
  } else if (hx < 0x33000000) {
    return x;
  }
  const hfx = fr(0.5 * x);
  const hxs = fr(x * hfx);
  const r1 = fr(1 + fr(hxs * fr(Q1 + fr(hxs * fr(Q2 + fr(hxs * fr(Q3 + fr(hxs * fr(Q4 + fr(hxs * Q5))))))))));
  const t = fr(3 - fr(r1 * hfx));
  let e = fr(hxs * fr(fr(r1 - t) / fr(6 - fr(x * t))));
  if (k === 0) return fr(x - fr(fr(x * e) - hxs));
  e = fr(fr(x * fr(e - c)) - c);
  e = fr(e - hxs);
  if (k === -1) return fr(fr(0.5 * fr(x - e)) - 0.5);
  if (k === 1) {
    if (x < -0.25) return fr(-2 * fr(e - fr(x + 0.5)));
    return fr(1 + fr(2 * fr(x - e)));
  }
  if (k <= -2 || k > 56) return fr(addExponent(fr(1 - fr(e - x)), k) - 1);
  if (k < 23) return addExponent(fr(f32FromBits(0x3f800000 - (0x1000000 >> k)) - fr(e - x)), k);
  const y = fr(fr(x - fr(e + f32FromBits((0x7f - k) << 23))) + 1);
  return addExponent(y, k);
}

/** glibc's (fdlibm's) tanhf of a float argument. */
export function glibcTanhf(xIn: number): number {
  const x = fr(xIn);
  const ix = f32Bits(x) & 0x7fffffff;
  if (ix >= 0x7f800000) return Number.isNaN(x) ? x : Math.sign(x);
  let z: number;
  if (ix < 0x41b00000) {
    if (ix === 0) return x;
    if (ix < 0x24000000) return fr(x * fr(1 + x));
    const ax = Math.abs(x);
    if (ix >= 0x3f800000) {
      const t = expm1f(fr(2 * ax));
      z = fr(1 - fr(2 / fr(t + 2)));
    } else {
      const t = expm1f(fr(-2 * ax));
      z = fr(-t / fr(t + 2));
    }
  } else {
    z = 1;
  }
  return x < 0 ? -z : z;
}

/** The correctly rounded tanhf (glibc 2.41's CORE-MATH one): tanh in double, rounded once. */
export function correctTanhf(x: number): number {
  return fr(Math.tanh(fr(x)));
}
