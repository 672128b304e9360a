// ggml's k-quants: 256-element super-blocks with per-group scales quantized again.
// Layouts (ggml-common.h, QK_K = 256), byte offsets:
//   Q2_K (84):  scales[16] @0 (low nibble scale, high nibble min), qs[64] @16, f16 d @80, f16 dmin @82
//   Q3_K (110): hmask[32] @0, qs[64] @32, scales[12] @96 (16 packed 6-bit), f16 d @108
//   Q4_K (144): f16 d @0, f16 dmin @2, scales[12] @4 (8 packed 6-bit scale/min pairs), qs[128] @16
//   Q5_K (176): f16 d @0, f16 dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
//   Q6_K (210): ql[128] @0, qh[64] @128, i8 scales[16] @192, f16 d @208
// Quantizers replay quantize_row_q*_K_ref (what llama-quantize runs without an imatrix).
import { GgmlType } from '../gguf/types.ts';
import type { QuantFormat } from './format.ts';
import * as search from './kquants-search.ts';
import * as util from './util.ts';

// Hot helpers are bound to module-local constants once: some module runners (vitest's) turn every
// use of an imported binding into a getter call, which made the inner loops several times slower.
const { checkBlocks, checkQuantInput, f32, nearestInt, outFor, readF16, writeF16 } = util;
const { GROUP_MAX_EPS, makeQ3Quants, makeQkx2Quants, makeQxQuants } = search;

const QK_K = 256;

// Per-block scale scratch for the decoders, shared (JS runs one call at a time): row-by-row
// dequantization then allocates nothing but its output.
const SC8 = new Int8Array(16);
const SC = new Uint8Array(8);
const MN = new Uint8Array(8);

// ---------------------------------------------------------------- Q2_K

function q2KDequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q2_K', QK_K, 84, src, n);
  const y = outFor(n, out);
  for (let i = 0; i < nb; i++) {
    const o = i * 84;
    const d = readF16(src, o + 80);
    const dmin = readF16(src, o + 82);
    let yo = i * QK_K;
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = o + 16 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let k = 0; k < 2; k++) {
          const sc = src[o + is++]!;
          const dl = d * (sc & 15);
          const ml = dmin * (sc >> 4);
          const qq = q + k * 16;
          for (let l = 0; l < 16; l++) y[yo++] = dl * ((src[qq + l]! >> shift) & 3) - ml;
        }
      }
    }
  }
  return y;
}

function q2KQuantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q2_K', QK_K, x.length);
  const y = new Uint8Array(nb * 84);
  const L = new Uint8Array(QK_K);
  const laux = new Uint8Array(16);
  const weights = new Float32Array(16);
  const scales = new Float32Array(16);
  const mins = new Float32Array(16);
  const q4scale = 15;
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * 84;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xo + 16 * j + l]!);
      const [scale, min] = makeQkx2Quants(16, 3, x, xo + 16 * j, weights, L, 16 * j, laux, -0.5, f32(0.1), 15, true);
      scales[j] = scale;
      mins[j] = min;
      if (scale > maxScale) maxScale = scale;
      if (min > maxMin) maxMin = min;
    }
    if (maxScale > 0) {
      const iscale = f32(q4scale / maxScale);
      for (let j = 0; j < 16; j++) y[o + j] = nearestInt(f32(iscale * scales[j]!)) & 0xff;
      writeF16(y, o + 80, f32(maxScale / q4scale));
    } else {
      writeF16(y, o + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = f32(q4scale / maxMin);
      for (let j = 0; j < 16; j++) y[o + j] = (y[o + j]! | (nearestInt(f32(iscale * mins[j]!)) << 4)) & 0xff;
      writeF16(y, o + 82, f32(maxMin / q4scale));
    } else {
      writeF16(y, o + 82, 0);
    }
    const dAll = readF16(y, o + 80);
    const mAll = readF16(y, o + 82);
    for (let j = 0; j < 16; j++) {
      const d = f32(dAll * (y[o + j]! & 15));
      if (!d) continue;
      const dm = f32(mAll * (y[o + j]! >> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(f32(f32(x[xo + 16 * j + ii]! + dm) / d));
        L[16 * j + ii] = Math.max(0, Math.min(3, l));
      }
    }
    packQ2(L, y, o + 16);
  }
  return y;
}

/** 2-bit packing shared by Q2_K and Q3_K: byte l of each 32-byte half holds elements l, l+32, l+64, l+96. */
function packQ2(L: Uint8Array | Int8Array, y: Uint8Array, qo: number): void {
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      y[qo + j / 4 + l] = L[j + l]! | (L[j + l + 32]! << 2) | (L[j + l + 64]! << 4) | (L[j + l + 96]! << 6);
    }
  }
}

// ---------------------------------------------------------------- Q3_K

/** The 16 signed 6-bit scales of a Q3_K block (already minus 32). */
function q3KScales(b: Uint8Array, so: number, out: Int8Array): void {
  for (let j = 0; j < 16; j++) {
    const low = j < 8 ? b[so + j]! & 15 : b[so + j - 8]! >> 4;
    const high = (b[so + 8 + (j % 4)]! >> (2 * (j >> 2))) & 3;
    out[j] = (low | (high << 4)) - 32;
  }
}

function q3KDequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q3_K', QK_K, 110, src, n);
  const y = outFor(n, out);
  const sc = SC8;
  for (let i = 0; i < nb; i++) {
    const o = i * 110;
    const dAll = readF16(src, o + 108);
    q3KScales(src, o + 96, sc);
    let yo = i * QK_K;
    let is = 0;
    let hbit = 0;
    for (let half = 0; half < 2; half++) {
      const q = o + 32 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let k = 0; k < 2; k++) {
          const dl = dAll * sc[is++]!;
          const qq = q + k * 16;
          const hh = o + k * 16;
          // Branch-free: a clear high bit means "minus 4" (data-dependent branches mispredict).
          for (let l = 0; l < 16; l++) {
            y[yo++] = dl * (((src[qq + l]! >> shift) & 3) - ((((src[hh + l]! >> hbit) & 1) ^ 1) << 2));
          }
        }
        hbit++;
      }
    }
  }
  return y;
}

function q3KQuantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q3_K', QK_K, x.length);
  const y = new Uint8Array(nb * 110);
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  const sc = new Int8Array(16);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * 110;
    const so = o + 96;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQ3Quants(16, 4, x, xo + 16 * j, L, 16 * j);
      const s = Math.abs(scales[j]!);
      if (s > amax) {
        amax = s;
        maxScale = scales[j]!;
      }
    }
    if (maxScale) {
      const iscale = f32(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        let l = (nearestInt(f32(iscale * scales[j]!)) << 24) >> 24;
        l = Math.max(-32, Math.min(31, l)) + 32;
        if (j < 8) y[so + j] = l & 15;
        else y[so + j - 8] = y[so + j - 8]! | ((l & 15) << 4);
        l >>= 4;
        y[so + 8 + (j % 4)] = y[so + 8 + (j % 4)]! | (l << (2 * (j >> 2)));
      }
      writeF16(y, o + 108, f32(1 / iscale));
    } else {
      writeF16(y, o + 108, 0);
    }
    const dAll = readF16(y, o + 108);
    q3KScales(y, so, sc);
    for (let j = 0; j < 16; j++) {
      const d = f32(dAll * sc[j]!);
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(f32(x[xo + 16 * j + ii]! / d));
        L[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }
    // High bit of element j goes to bit (j / 32) of hmask[j % 32].
    for (let j = 0; j < QK_K; j++) {
      if (L[j]! > 3) {
        y[o + (j & 31)] = y[o + (j & 31)]! | (1 << (j >> 5));
        L[j] = L[j]! - 4;
      }
    }
    packQ2(L, y, o + 32);
  }
  return y;
}

// ---------------------------------------------------------------- Q4_K / Q5_K shared pieces

/** 6-bit scale and min of group j from the 12 packed bytes at so (ggml's get_scale_min_k4). */
function scaleMinK4(b: Uint8Array, so: number, j: number): [number, number] {
  if (j < 4) return [b[so + j]! & 63, b[so + j + 4]! & 63];
  return [(b[so + j + 4]! & 15) | ((b[so + j - 4]! >> 6) << 4), (b[so + j + 4]! >> 4) | ((b[so + j]! >> 6) << 4)];
}

function unpackScaleMinK4(b: Uint8Array, so: number, sc: Uint8Array, mn: Uint8Array): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      sc[j] = b[so + j]! & 63;
      mn[j] = b[so + j + 4]! & 63;
    } else {
      sc[j] = (b[so + j + 4]! & 15) | ((b[so + j - 4]! >> 6) << 4);
      mn[j] = (b[so + j + 4]! >> 4) | ((b[so + j]! >> 6) << 4);
    }
  }
}

/**
 * The part Q4_K and Q5_K share: per 32-group asymmetric search, 6-bit scales/mins packed at so,
 * d/dmin at o/o+2, then every element requantized to [0, nmax] into L.
 */
function quantizeKGroups(
  x: Float32Array,
  xo: number,
  y: Uint8Array,
  o: number,
  nmax: number,
  rmin: number,
  nstep: number,
  L: Uint8Array,
  s: { laux: Uint8Array; weights: Float32Array; scales: Float32Array; mins: Float32Array },
): void {
  const so = o + 4;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = x[xo + 32 * j + l]!;
      sumX2 = f32(sumX2 + f32(v * v));
    }
    const avX = f32(Math.sqrt(f32(sumX2 / 32)));
    for (let l = 0; l < 32; l++) s.weights[l] = f32(avX + Math.abs(x[xo + 32 * j + l]!));
    const [scale, min] = makeQkx2Quants(32, nmax, x, xo + 32 * j, s.weights, L, 32 * j, s.laux, rmin, f32(0.1), nstep, false);
    s.scales[j] = scale;
    s.mins[j] = min;
    if (scale > maxScale) maxScale = scale;
    if (min > maxMin) maxMin = min;
  }
  const invScale = maxScale > 0 ? f32(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f32(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f32(invScale * s.scales[j]!)) & 0xff);
    const lm = Math.min(63, nearestInt(f32(invMin * s.mins[j]!)) & 0xff);
    if (j < 4) {
      y[so + j] = ls;
      y[so + j + 4] = lm;
    } else {
      y[so + j + 4] = (ls & 15) | ((lm & 15) << 4);
      y[so + j - 4] = y[so + j - 4]! | ((ls >> 4) << 6);
      y[so + j] = y[so + j]! | ((lm >> 4) << 6);
    }
  }
  const dAll = writeF16(y, o, f32(maxScale / 63));
  const mAll = writeF16(y, o + 2, f32(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(y, so, j);
    const d = f32(dAll * sc);
    if (!d) continue;
    const dm = f32(mAll * m);
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(f32(f32(x[xo + 32 * j + ii]! + dm) / d));
      L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
}

function kScratch() {
  return { laux: new Uint8Array(32), weights: new Float32Array(32), scales: new Float32Array(8), mins: new Float32Array(8) };
}

// ---------------------------------------------------------------- Q4_K

function q4KDequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q4_K', QK_K, 144, src, n);
  const y = outFor(n, out);
  const sc = SC;
  const mn = MN;
  for (let i = 0; i < nb; i++) {
    const o = i * 144;
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    unpackScaleMinK4(src, o + 4, sc, mn);
    let yo = i * QK_K;
    for (let g = 0; g < 4; g++) {
      const q = o + 16 + g * 32;
      const d1 = d * sc[2 * g]!;
      const m1 = dmin * mn[2 * g]!;
      const d2 = d * sc[2 * g + 1]!;
      const m2 = dmin * mn[2 * g + 1]!;
      for (let l = 0; l < 32; l++) y[yo + l] = d1 * (src[q + l]! & 15) - m1;
      for (let l = 0; l < 32; l++) y[yo + 32 + l] = d2 * (src[q + l]! >> 4) - m2;
      yo += 64;
    }
  }
  return y;
}

function q4KQuantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q4_K', QK_K, x.length);
  const y = new Uint8Array(nb * 144);
  const L = new Uint8Array(QK_K);
  const s = kScratch();
  for (let i = 0; i < nb; i++) {
    const o = i * 144;
    quantizeKGroups(x, i * QK_K, y, o, 15, -1, 20, L, s);
    for (let j = 0, q = o + 16; j < QK_K; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) y[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
    }
  }
  return y;
}

// ---------------------------------------------------------------- Q5_K

function q5KDequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q5_K', QK_K, 176, src, n);
  const y = outFor(n, out);
  const sc = SC;
  const mn = MN;
  for (let i = 0; i < nb; i++) {
    const o = i * 176;
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    unpackScaleMinK4(src, o + 4, sc, mn);
    const qh = o + 16;
    let yo = i * QK_K;
    for (let g = 0; g < 4; g++) {
      const ql = o + 48 + g * 32;
      const b1 = 2 * g;
      const b2 = b1 + 1;
      const d1 = d * sc[2 * g]!;
      const m1 = dmin * mn[2 * g]!;
      const d2 = d * sc[2 * g + 1]!;
      const m2 = dmin * mn[2 * g + 1]!;
      for (let l = 0; l < 32; l++) y[yo + l] = d1 * ((src[ql + l]! & 15) | (((src[qh + l]! >> b1) & 1) << 4)) - m1;
      for (let l = 0; l < 32; l++) y[yo + 32 + l] = d2 * ((src[ql + l]! >> 4) | (((src[qh + l]! >> b2) & 1) << 4)) - m2;
      yo += 64;
    }
  }
  return y;
}

function q5KQuantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q5_K', QK_K, x.length);
  const y = new Uint8Array(nb * 176);
  const L = new Uint8Array(QK_K);
  const s = kScratch();
  for (let i = 0; i < nb; i++) {
    const o = i * 176;
    quantizeKGroups(x, i * QK_K, y, o, 31, -0.5, 15, L, s);
    const qh = o + 16;
    for (let g = 0; g < 4; g++) {
      const n0 = g * 64;
      const ql = o + 48 + g * 32;
      const m1 = 1 << (2 * g);
      const m2 = m1 << 1;
      for (let j = 0; j < 32; j++) {
        let l1 = L[n0 + j]!;
        if (l1 > 15) {
          l1 -= 16;
          y[qh + j] = y[qh + j]! | m1;
        }
        let l2 = L[n0 + j + 32]!;
        if (l2 > 15) {
          l2 -= 16;
          y[qh + j] = y[qh + j]! | m2;
        }
        y[ql + j] = l1 | (l2 << 4);
      }
    }
  }
  return y;
}

// ---------------------------------------------------------------- Q6_K

function q6KDequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q6_K', QK_K, 210, src, n);
  const y = outFor(n, out);
  for (let i = 0; i < nb; i++) {
    const o = i * 210;
    const d = readF16(src, o + 208);
    for (let h = 0; h < 2; h++) {
      const ql = o + h * 64;
      const qh = o + 128 + h * 32;
      const sc = o + 192 + h * 8;
      const yo = i * QK_K + h * 128;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const a = src[ql + l]!;
        const b = src[ql + l + 32]!;
        const hb = src[qh + l]!;
        y[yo + l] = d * ((src[sc + is]! << 24) >> 24) * (((a & 15) | ((hb & 3) << 4)) - 32);
        y[yo + l + 32] = d * ((src[sc + is + 2]! << 24) >> 24) * (((b & 15) | (((hb >> 2) & 3) << 4)) - 32);
        y[yo + l + 64] = d * ((src[sc + is + 4]! << 24) >> 24) * (((a >> 4) | (((hb >> 4) & 3) << 4)) - 32);
        y[yo + l + 96] = d * ((src[sc + is + 6]! << 24) >> 24) * (((b >> 4) | (((hb >> 6) & 3) << 4)) - 32);
      }
    }
  }
  return y;
}

function q6KQuantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q6_K', QK_K, x.length);
  const y = new Uint8Array(nb * 210);
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * 210;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      const a = Math.abs(scale);
      if (a > maxAbsScale) {
        maxAbsScale = a;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) continue; // the block stays all zero, d = 0 included
    const iscale = f32(-128 / maxScale);
    const dAll = writeF16(y, o + 208, f32(1 / iscale));
    for (let ib = 0; ib < 16; ib++) y[o + 192 + ib] = Math.min(127, nearestInt(f32(iscale * scales[ib]!))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const d = f32(dAll * ((y[o + 192 + j]! << 24) >> 24));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(f32(x[xo + 16 * j + ii]! / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let h = 0; h < 2; h++) {
      const j = h * 128;
      const ql = o + h * 64;
      const qh = o + 128 + h * 32;
      for (let l = 0; l < 32; l++) {
        const l0 = L[j + l]!;
        const l1 = L[j + l + 32]!;
        const l2 = L[j + l + 64]!;
        const l3 = L[j + l + 96]!;
        y[ql + l] = (l0 & 15) | ((l2 & 15) << 4);
        y[ql + l + 32] = (l1 & 15) | ((l3 & 15) << 4);
        y[qh + l] = (l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6);
      }
    }
  }
  return y;
}

export const Q2_K: QuantFormat = { type: GgmlType.Q2_K, name: 'Q2_K', blockSize: QK_K, typeSize: 84, dequantize: q2KDequantize, quantize: q2KQuantize };
export const Q3_K: QuantFormat = { type: GgmlType.Q3_K, name: 'Q3_K', blockSize: QK_K, typeSize: 110, dequantize: q3KDequantize, quantize: q3KQuantize };
export const Q4_K: QuantFormat = { type: GgmlType.Q4_K, name: 'Q4_K', blockSize: QK_K, typeSize: 144, dequantize: q4KDequantize, quantize: q4KQuantize };
export const Q5_K: QuantFormat = { type: GgmlType.Q5_K, name: 'Q5_K', blockSize: QK_K, typeSize: 176, dequantize: q5KDequantize, quantize: q5KQuantize };
export const Q6_K: QuantFormat = { type: GgmlType.Q6_K, name: 'Q6_K', blockSize: QK_K, typeSize: 210, dequantize: q6KDequantize, quantize: q6KQuantize };
