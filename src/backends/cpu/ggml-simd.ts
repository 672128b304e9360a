// ggml's float32 arithmetic on x86 with AVX-512 (and FMA, F16C), as llama.cpp's CPU backend built
// with -march=native runs it, replayed operation by operation.
//
// Why: llama.cpp rounds keys, values, q and the attention probabilities to f16 (and quantized
// matmuls round activations to 8 bits). A value that lands near a rounding boundary flips to the
// neighbouring f16 when our float32 result differs from ggml's by a single ulp, and on the small
// models of the oracle test one flip moves later log-probs by 1e-4..5e-3. Computing "more exactly"
// (in double) does not help: only the same float32 operations in the same order give the same
// roundings. So the dot products below keep ggml's SIMD lane layout and reduction trees, products are
// fused multiply-adds where ggml uses FMA instructions, and exp is ggml's polynomial (ggml_v_expf).
// Quantized dots live in quant-dot.ts and kquant-dot.ts, rope's cos/sin in glibc-sincosf.ts.
//
// Which kernel llama.cpp runs depends on the number of rows (tokens) in the batch:
//   - llamafile's tinyBLAS (sgemm.cpp) serves float matmuls only when n >= 2 ("only enable sgemm for
//     prompt processing") and k is a multiple of the vector width: each output is one vector of FMA
//     accumulation and one horizontal sum;
//   - otherwise ggml's ggml_vec_dot_f32 / _f16: 4 vectors (a step of 4 x width), a reduction tree,
//     then the leftover elements one by one;
//   - BF16 runs AVX-512 BF16's vdpbf16ps in both (tinyBLAS when k % 32 == 0 and n >= 2).
// Measured against the oracle (test/model/oracle.test.ts): AVX-512 widths with AVX-512 BF16 match
// llama.cpp's recorded log-probs to ~1e-6 at every step of every shared model; AVX2 widths do not,
// so the oracle machine ran AVX-512. ISA = 'avx2' switches the F32/F16 dots, softmax and silu to
// ggml's AVX2 widths (BF16 always replays AVX-512 BF16).
const fr = Math.fround;

/** fma(a, b, c) rounded to float32. a*b of two floats is exact in double, so one double add then fround. */
function fma(a: number, b: number, c: number): number {
  return fr(a * b + c);
}

const lanes = new Float64Array(64);

/** tinyBLAS's hsum of one __m256: ((x0+x4)+(x2+x6)) + ((x1+x5)+(x3+x7)). */
function hsum8(l: Float64Array, o: number): number {
  const t0 = fr(l[o]! + l[o + 4]!);
  const t1 = fr(l[o + 1]! + l[o + 5]!);
  const t2 = fr(l[o + 2]! + l[o + 6]!);
  const t3 = fr(l[o + 3]! + l[o + 7]!);
  return fr(fr(t0 + t2) + fr(t1 + t3));
}

/** GGML_F32x8_REDUCE of the 4 accumulators in lanes[0..32): pairwise adds, then two hadds. */
function reduce32(l: Float64Array): number {
  for (let j = 0; j < 8; j++) {
    const a = fr(l[j]! + l[16 + j]!);
    const b = fr(l[8 + j]! + l[24 + j]!);
    l[j] = fr(a + b);
  }
  const t0 = fr(l[0]! + l[4]!);
  const t1 = fr(l[1]! + l[5]!);
  const t2 = fr(l[2]! + l[6]!);
  const t3 = fr(l[3]! + l[7]!);
  return fr(fr(t0 + t1) + fr(t2 + t3));
}

/**
 * tinyBLAS's dot of a[aOff..aOff+n) and b[bOff..): lane j accumulates elements j, j+8, ... by FMA,
 * then one hsum. n must be a multiple of 8. Inputs must already be floats (f16/bf16 values widened).
 */
export function dotTiny(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
  const l = lanes;
  const W = ISA === 'avx512' ? 16 : 8;
  for (let j = 0; j < W; j++) l[j] = 0;
  for (let i = 0; i < n; i += W) {
    for (let j = 0; j < W; j++) l[j] = fma(a[aOff + i + j]!, b[bOff + i + j]!, l[j]!);
  }
  return W === 16 ? reduce512(l, 0) : hsum8(l, 0);
}

/** GCC's _mm512_reduce_add_ps: halves added (8, then 4), then (0+2) + (1+3). */
const reduceScratch = new Float64Array(8);
function reduce512(l: Float64Array, o: number): number {
  const t = reduceScratch;
  for (let i = 0; i < 8; i++) t[i] = fr(l[o + i + 8]! + l[o + i]!);
  const u0 = fr(t[4]! + t[0]!), u1 = fr(t[5]! + t[1]!), u2 = fr(t[6]! + t[2]!), u3 = fr(t[7]! + t[3]!);
  return fr(fr(u0 + u2) + fr(u1 + u3));
}

/** GGML_F32x16_REDUCE of 4 accumulators of 16 in lanes[0..64). */
function reduce64(l: Float64Array): number {
  for (let j = 0; j < 16; j++) l[j] = fr(fr(l[j]! + l[32 + j]!) + fr(l[16 + j]! + l[48 + j]!));
  return reduce512(l, 0);
}
/** The vector ISA whose kernels are replayed: llama.cpp's oracle ran AVX-512. */
export const ISA: 'avx512' | 'avx2' = 'avx512';
export const VW = ISA === 'avx512' ? 16 : 8;

/** ggml_vec_dot_f32: 4 vectors of FMA lanes, the reduction tree, then float leftovers (see below). */
export function dotVecF32(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
  const l = lanes;
  l.fill(0);
  const S = ISA === 'avx512' ? 64 : 32;
  const np = n - (n % S);
  for (let i = 0; i < np; i += S) {
    for (let j = 0; j < S; j++) l[j] = fma(a[aOff + i + j]!, b[bOff + i + j]!, l[j]!);
  }
  let s = S === 64 ? reduce64(l) : reduce32(l);
  // The leftover loop (sumf += x[i]*y[i]) is vectorized by GCC in 8-wide chunks (its preferred
  // 256-bit width): products rounded as a vector, then added in order; the last n % 8 are scalar and
  // contracted to FMA. This is the only form that matches llama.cpp on stories260K's k = 172.
  const cut = np + ((n - np) & ~7);
  for (let i = np; i < cut; i++) s = fr(s + fr(a[aOff + i]! * b[bOff + i]!));
  for (let i = cut; i < n; i++) s = fma(a[aOff + i]!, b[bOff + i]!, s);
  return s;
}

/**
 * ggml_vec_dot_f16 (inputs are f16 values as numbers): 32 lanes of FMA in f32, reduce32 into a
 * double, leftovers as exact products added in double, stored as float.
 */
export function dotVecF16(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
  const l = lanes;
  l.fill(0);
  const S = ISA === 'avx512' ? 64 : 32;
  const np = n - (n % S);
  for (let i = 0; i < np; i += S) {
    for (let j = 0; j < S; j++) l[j] = fma(a[aOff + i + j]!, b[bOff + i + j]!, l[j]!);
  }
  let s = np > 0 ? (S === 64 ? reduce64(l) : reduce32(l)) : 0;
  for (let i = np; i < n; i++) s += a[aOff + i]! * b[bOff + i]!;
  return fr(s);
}

const f32s = new Float32Array(1);
const u32s = new Uint32Array(f32s.buffer);
function bits(x: number): number {
  f32s[0] = x;
  return u32s[0]!;
}
function fromBits(b: number): number {
  u32s[0] = b >>> 0;
  return f32s[0]!;
}

/** A C hex float literal 0x1.<frac>p<exp> (JavaScript has none). */
function hexFloat(frac: string, exp: number): number {
  return (parseInt(`1${frac}`, 16) / 16 ** frac.length) * 2 ** exp;
}
const R = hexFloat('8', 23);
const LOG2E = fr(hexFloat('715476', 0));
const LN2_HI = fr(hexFloat('62e4', -1));
const LN2_LO = fr(hexFloat('7f7d1c', -20));
const C0 = fr(hexFloat('0e4020', -7));
const C1 = fr(hexFloat('573e2e', -5));
const C2 = fr(hexFloat('555e66', -3));
const C3 = fr(hexFloat('fffdb6', -2));
const C4 = fr(hexFloat('ffffec', -1));

/** ggml_v_expf (AVX2 + FMA), one lane: ARM's optimized-routines expf polynomial, max error ~1.5 ulp. */
export function vExpf(x: number): number {
  const z = fma(x, LOG2E, R);
  const n = fr(z - R);
  const b = fr(-n * LN2_LO + fr(-n * LN2_HI + x));
  const e = (bits(z) << 23) >>> 0;
  const k = fromBits((e + 0x3f800000) >>> 0);
  const u = fr(b * b);
  if (ISA === 'avx512') {
    // _mm512_scalef_ps variant: the polynomial includes the 1, then j * 2^n.
    if (Math.abs(n) > 192) return n <= 0 ? 0 : Infinity;
    const j5 = fma(fma(fma(C0, b, C1), u, fma(C2, b, C3)), u, fma(C4, b, 1));
    return fr(j5 * 2 ** n);
  }
  const j = fma(fma(fma(C0, b, C1), u, fma(C2, b, C3)), u, fr(C4 * b));
  if (!(Math.abs(n) > 126)) return fma(j, k, k);
  const g = n <= 0 ? 0x82000000 : 0;
  const s1 = fromBits((g + 0x7f000000) >>> 0);
  const s2 = fromBits((e - g) >>> 0);
  if (Math.abs(n) > 192) return fr(s1 * s1);
  return fr(fma(s2, j, s2) * s1);
}

/** ggml_vec_silu_f32: lanes of 8 from the row start use ggml_v_silu, the rest x/(1+expf(-x)). */
export function siluRow(x: Float32Array, off: number, n: number, out: Float32Array): void {
  const full = n - (n % VW);
  for (let i = 0; i < n; i++) {
    const v = x[off + i]!;
    const e = i < full ? vExpf(fr(-v)) : fr(Math.exp(-v));
    out[off + i] = fr(v / fr(1 + e));
  }
}

/** Horizontal sum of one SIMD vector (VW lanes) starting at l[o], in the ISA's order. */
export function hsum(l: Float64Array, o: number, w: number = VW): number {
  return w === 16 ? reduce512(l, o) : hsum8(l, o);
}

/**
 * AVX-512 BF16's vdpbf16ps over one 32-element chunk into 16 lanes: lane j adds the product of
 * elements 2j+1, then of 2j (each bf16 product is exact in float, each add rounds).
 */
function dpbf16(l: Float64Array, a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number): void {
  for (let j = 0; j < 16; j++) {
    const t = fma(a[aOff + 2 * j + 1]!, b[bOff + 2 * j + 1]!, l[j]!);
    l[j] = fma(a[aOff + 2 * j]!, b[bOff + 2 * j]!, t);
  }
}

/** tinyBLAS for BF16 on AVX-512 BF16 (k % 32 == 0): 16 lanes of vdpbf16ps, one horizontal sum. */
export function dotTinyBf16(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
  const l = lanes;
  for (let j = 0; j < 16; j++) l[j] = 0;
  for (let i = 0; i < n; i += 32) dpbf16(l, a, aOff + i, b, bOff + i);
  return reduce512(l, 0);
}

/**
 * ggml_vec_dot_bf16 on AVX-512 BF16: two 16-lane accumulators over 64-element steps (vdpbf16ps on
 * each half), each reduced and added in double, leftovers as exact products in double.
 */
export function dotVecBf16(a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
  const l = lanes;
  l.fill(0);
  const l2 = lanes2;
  l2.fill(0);
  let i = 0;
  for (; i + 64 <= n; i += 64) {
    dpbf16(l, a, aOff + i, b, bOff + i);
    dpbf16(l2, a, aOff + i + 32, b, bOff + i + 32);
  }
  for (let j = 0; j < 16; j++) l[16 + j] = l2[j]!;
  let s = reduce512(l, 0);
  s += reduce512(l, 16);
  for (; i < n; i++) s += a[aOff + i]! * b[bOff + i]!;
  return fr(s);
}
const lanes2 = new Float64Array(16);
