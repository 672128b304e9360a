// Dot products of legacy-quantized weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) with Q8
// activations, with the float arithmetic of ggml's x86 kernels (ggml_vec_dot_*_q8_0/_q8_1 and
// llamafile's tinyBLAS_Q0_AVX), for the same reason as ggml-simd.ts: a one-ulp difference changes
// which integer a later activation rounds to.
//
// Per 32-element block the integer products are summed exactly into 8 int32 lanes (lane j holds
// elements 4j..4j+3, as maddubs + madd or dpbusd produce), converted to float, and accumulated by FMA
// with the block's scale product d = dx*dy; one horizontal sum ends the row. Q4_1/Q5_1 add the
// min term m * s, where s is Q8_1's f16 block sum d*sum(q). IQ4_NL's vec_dot alternates two
// accumulators over block pairs (tinyBLAS uses one). Q4_0 weights whose row count is a multiple of 8
// are repacked by llama.cpp's CPU "extra buffer" (q4_0_8x8) and dotted by gemv/gemm kernels that add
// each block's whole integer dot to one float per output.
import { GgmlType } from '../../gguf/types.ts';
import { f16ToF32, f32ToF16 } from '../../quant/float.ts';
import { IQ4NL_VALUES } from '../../quant/iq4nl.ts';
import { readF16 } from '../../quant/util.ts';

const fr = Math.fround;
const QK = 32;

/** Activations quantized to Q8_0 / Q8_1 blocks: integer quants, f16 scales and (Q8_1) f16 sums. */
export interface Q8Rows {
  readonly q: Int8Array;
  readonly d: Float64Array;
  readonly s: Float64Array;
}

/** ggml's x86 quantize_row_q8_0 / _q8_1 over every row of x (row length a multiple of 32). */
export function quantizeQ8Rows(x: Float32Array): Q8Rows {
  const nb = x.length / QK;
  const q = new Int8Array(x.length);
  const d = new Float64Array(nb);
  const s = new Float64Array(nb);
  for (let b = 0; b < nb; b++) {
    const o = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[o + j]!));
    const dF = fr(amax / 127);
    const id = amax !== 0 ? fr(127 / amax) : 0;
    let sum = 0;
    for (let j = 0; j < QK; j++) {
      const v = roundHalfEven(fr(x[o + j]! * id));
      q[o + j] = v;
      sum += v;
    }
    d[b] = f16ToF32(f32ToF16(dF));
    s[b] = f16ToF32(f32ToF16(fr(dF * sum)));
  }
  return { q, d, s };
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A weight row's blocks: integer quants, f16 scales and (Q4_1/Q5_1) f16 mins. */
export interface QuantRow {
  readonly q: Int8Array;
  readonly d: Float64Array;
  readonly m: Float64Array;
}

/** The weight types this module dots exactly (the others are dotted in double). */
export function hasExactDot(type: GgmlType): boolean {
  return type === GgmlType.Q4_0 || type === GgmlType.Q4_1 || type === GgmlType.Q5_0 || type === GgmlType.Q5_1 || type === GgmlType.Q8_0 || type === GgmlType.IQ4_NL;
}

/**
 * A row's blocks read straight from its GGUF bytes: the integers ggml's dot kernels multiply (Q4_0
 * nibble - 8, Q5_0 5-bit value - 16, Q4_1/Q5_1 raw values with the min apart, Q8_0 bytes, IQ4_NL's
 * table values) and the f16 scale (and min), without dequantizing the row and dividing it back
 * (q = round((x - m) / d), the earlier route, kept in the tests as the reference). A block whose
 * scale is 0 gets q = 0 (its products are 0 either way).
 */
export function decodeRow(type: GgmlType, raw: Uint8Array, n: number, out: QuantRow): void {
  const nb = n / QK;
  const bytes = raw.length / nb;
  const withMin = type === GgmlType.Q4_1 || type === GgmlType.Q5_1;
  for (let b = 0, o = 0; b < nb; b++, o += bytes) {
    out.d[b] = readF16(raw, o);
    out.m[b] = withMin ? readF16(raw, o + 2) : 0;
  }
  // One loop per type (the per-element work is a few integer operations).
  const q = out.q;
  switch (type) {
    case GgmlType.Q4_0:
      decodeNibbles(raw, nb, bytes, 2, 8, q);
      break;
    case GgmlType.Q4_1:
      decodeNibbles(raw, nb, bytes, 4, 0, q);
      break;
    case GgmlType.Q5_0:
      decodeFiveBits(raw, nb, bytes, 2, 16, q);
      break;
    case GgmlType.Q5_1:
      decodeFiveBits(raw, nb, bytes, 4, 0, q);
      break;
    case GgmlType.Q8_0:
      for (let b = 0, o = 2; b < nb; b++, o += bytes) {
        for (let j = 0; j < QK; j++) q[b * QK + j] = (raw[o + j]! << 24) >> 24;
      }
      break;
    case GgmlType.IQ4_NL:
      for (let b = 0, o = 2; b < nb; b++, o += bytes) {
        for (let j = 0; j < 16; j++) {
          const v = raw[o + j]!;
          q[b * QK + j] = IQ4NL_Q[v & 15]!;
          q[b * QK + j + 16] = IQ4NL_Q[v >> 4]!;
        }
      }
      break;
    default:
      throw new RangeError(`decodeRow: ${type} is not a legacy 32-block type`);
  }
  for (let b = 0; b < nb; b++) if (out.d[b] === 0) q.fill(0, b * QK, (b + 1) * QK);
}

const IQ4NL_Q = Int8Array.from(IQ4NL_VALUES);

/** Q4_0 / Q4_1 blocks: 16 bytes of two nibbles at `qs` into the block, minus `off`. */
function decodeNibbles(raw: Uint8Array, nb: number, bytes: number, qs: number, off: number, q: Int8Array): void {
  for (let b = 0, o = qs; b < nb; b++, o += bytes) {
    const y = b * QK;
    for (let j = 0; j < 16; j++) {
      const v = raw[o + j]!;
      q[y + j] = (v & 15) - off;
      q[y + j + 16] = (v >> 4) - off;
    }
  }
}

/** Q5_0 / Q5_1 blocks: 32 high bits at `h` into the block, then 16 bytes of low nibbles; minus `off`. */
function decodeFiveBits(raw: Uint8Array, nb: number, bytes: number, h: number, off: number, q: Int8Array): void {
  for (let b = 0, o = h; b < nb; b++, o += bytes) {
    const y = b * QK;
    const qh = (raw[o]! | (raw[o + 1]! << 8) | (raw[o + 2]! << 16) | (raw[o + 3]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const v = raw[o + 4 + j]!;
      q[y + j] = ((v & 15) | (((qh >>> j) << 4) & 0x10)) - off;
      q[y + j + 16] = ((v >> 4) | ((qh >>> (j + 12)) & 0x10)) - off;
    }
  }
}

/**
 * quantDot's repacked Q4_0 path for one activation row, read straight from the weight row's bytes
 * (no decoded copy): decode-time matvecs read each weight once, so decoding first would double the
 * work. Same integers, same FMA order; a block whose scale is 0 adds 0 * (d * dx) as quantDot does.
 */
export function q4_0RepackedDot(raw: Uint8Array, x: Q8Rows, row: number, nBlocks: number): number {
  const xq = x.q;
  const xd = x.d;
  const xb0 = row * nBlocks;
  let s = 0;
  for (let b = 0, o = 0, xo = xb0 * QK; b < nBlocks; b++, o += 18, xo += QK) {
    const d = readF16(raw, o);
    let isum = 0;
    if (d !== 0) {
      for (let j = 0; j < 16; j++) {
        const v = raw[o + 2 + j]!;
        isum += ((v & 15) - 8) * xq[xo + j]! + ((v >> 4) - 8) * xq[xo + j + 16]!;
      }
    }
    s = fr(isum * fr(d * xd[xb0 + b]!) + s);
  }
  return s;
}

const acc = new Float64Array(16);

/** One block's 8 int32 lane sums, accumulated into acc[o..o+8) by FMA with the scale product d. */
function blockFma(w: QuantRow, b: number, x: Q8Rows, xb: number, d: number, o: number): void {
  const wq = w.q;
  const xq = x.q;
  const wo = b * QK;
  const xo = xb * QK;
  for (let j = 0; j < 8; j++) {
    const k = 4 * j;
    const isum = wq[wo + k]! * xq[xo + k]! + wq[wo + k + 1]! * xq[xo + k + 1]! + wq[wo + k + 2]! * xq[xo + k + 2]! + wq[wo + k + 3]! * xq[xo + k + 3]!;
    acc[o + j] = fr(d * isum + acc[o + j]!);
  }
}

function hsum8(o: number): number {
  const t0 = fr(acc[o]! + acc[o + 4]!);
  const t1 = fr(acc[o + 1]! + acc[o + 5]!);
  const t2 = fr(acc[o + 2]! + acc[o + 6]!);
  const t3 = fr(acc[o + 3]! + acc[o + 7]!);
  return fr(fr(t0 + t2) + fr(t1 + t3));
}

/**
 * Weight row w · activation row `row` of x (nBlocks blocks), as ggml computes it for this type and
 * batch size (tinyBLAS_Q0_AVX serves Q4_0, Q5_0, Q8_0 and IQ4_NL batches of two rows or more).
 */
export function quantDot(type: GgmlType, w: QuantRow, x: Q8Rows, row: number, nBlocks: number, batched: boolean, repacked = false): number {
  acc.fill(0);
  const xb0 = row * nBlocks;
  if (repacked) {
    // ggml_gemv/gemm_q4_0_8x8_q8_0: one output per lane, each block's whole integer dot added by FMA.
    const wq = w.q;
    const xq = x.q;
    const wd = w.d;
    const xd = x.d;
    let s = 0;
    for (let b = 0, wo = 0, xo = xb0 * QK; b < nBlocks; b++, wo += QK, xo += QK) {
      let isum = 0;
      for (let j = 0; j < QK; j += 4) {
        isum += wq[wo + j]! * xq[xo + j]! + wq[wo + j + 1]! * xq[xo + j + 1]! + wq[wo + j + 2]! * xq[xo + j + 2]! + wq[wo + j + 3]! * xq[xo + j + 3]!;
      }
      s = fr(isum * fr(wd[b]! * xd[xb0 + b]!) + s);
    }
    return s;
  }
  if (type === GgmlType.Q4_1 || type === GgmlType.Q5_1) {
    let summs = 0;
    for (let b = 0; b < nBlocks; b++) {
      summs = fr(summs + w.m[b]! * x.s[xb0 + b]!);
      blockFma(w, b, x, xb0 + b, fr(w.d[b]! * x.d[xb0 + b]!), 0);
    }
    return fr(hsum8(0) + summs);
  }
  if (type === GgmlType.IQ4_NL && !batched) {
    let b = 0;
    for (; b + 1 < nBlocks; b += 2) {
      blockFma(w, b, x, xb0 + b, fr(x.d[xb0 + b]! * w.d[b]!), 0);
      blockFma(w, b + 1, x, xb0 + b + 1, fr(x.d[xb0 + b + 1]! * w.d[b + 1]!), 8);
    }
    for (let j = 0; j < 8; j++) acc[j] = fr(acc[j]! + acc[8 + j]!);
    let s = hsum8(0);
    for (; b < nBlocks; b++) {
      let isum = 0;
      for (let j = 0; j < QK; j++) isum += w.q[b * QK + j]! * x.q[(xb0 + b) * QK + j]!;
      s = fr(s + fr(fr(w.d[b]! * x.d[xb0 + b]!) * isum));
    }
    return s;
  }
  for (let b = 0; b < nBlocks; b++) blockFma(w, b, x, xb0 + b, fr(w.d[b]! * x.d[xb0 + b]!), 0);
  return hsum8(0);
}
