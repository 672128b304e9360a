// Dot products of K-quantized weights (Q2_K..Q6_K) with Q8_K activations, with the float arithmetic
// of ggml's x86 AVX2 kernels (ggml_vec_dot_q*_K_q8_K; llama.cpp has no tinyBLAS for these, so
// batches use them too). See ggml-simd.ts for why the float order matters.
//
// Per 256-element superblock the products scale*q*q8 are summed exactly into 8 int32 lanes (lane j
// holds elements 4j..4j+3 of every 32-element chunk) and added by FMA with d = q8.d * x.d. The mins
// term of Q2_K / Q4_K / Q5_K, -dmin * sum(min * q8 block sums), enters as each kernel does it: Q2_K
// into the same 8 lanes first, Q4_K into 4 separate lanes, Q5_K into one float.
import { GgmlType } from '../../gguf/types.ts';
import { readF16 } from '../../quant/util.ts';

const fr = Math.fround;
const QK_K = 256;

/** Activations quantized to Q8_K as quantize_row_q8_K_ref: q = min(127, round(x * -127/max)), d = 1/iscale. */
export interface Q8KRows {
  readonly q: Int8Array;
  readonly d: Float64Array;
  /** Sums of each 16 quants. */
  readonly bsums: Int32Array;
}

export function quantizeQ8KRows(x: Float32Array): Q8KRows {
  const nb = x.length / QK_K;
  const q = new Int8Array(x.length);
  const d = new Float64Array(nb);
  const bsums = new Int32Array(nb * 16);
  for (let b = 0; b < nb; b++) {
    const o = b * QK_K;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK_K; j++) {
      const a = Math.abs(x[o + j]!);
      if (a > amax) {
        amax = a;
        max = x[o + j]!;
      }
    }
    if (amax === 0) continue;
    const iscale = fr(-127 / max);
    for (let j = 0; j < QK_K; j++) q[o + j] = Math.min(127, roundHalfEven(fr(iscale * x[o + j]!)));
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let i = 0; i < 16; i++) s += q[o + j * 16 + i]!;
      bsums[b * 16 + j] = s;
    }
    d[b] = fr(1 / iscale);
  }
  return { q, d, bsums };
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const K_TYPES: ReadonlySet<GgmlType> = new Set([GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K]);

/** A weight row's superblocks: scale*q per element, mins per sub-block, f16 d and dmin. */
export interface KRow {
  readonly sq: Int32Array;
  readonly mins: Int32Array;
  readonly d: Float64Array;
  readonly dmin: Float64Array;
}

export function newKRow(n: number): KRow {
  const nb = n / QK_K;
  return { sq: new Int32Array(n), mins: new Int32Array(nb * 16), d: new Float64Array(nb), dmin: new Float64Array(nb) };
}

const Q3_SCALES = new Int32Array(16);

/** Decodes the raw superblocks of a row (same layouts as src/quant/kquants.ts), keeping the integers. */
export function parseKRow(type: GgmlType, src: Uint8Array, n: number, out: KRow): void {
  const nb = n / QK_K;
  const bytes = src.length / nb;
  const { sq, mins } = out;
  for (let i = 0; i < nb; i++) {
    const o = i * bytes;
    let y = i * QK_K;
    switch (type) {
      case GgmlType.Q2_K: {
        out.d[i] = readF16(src, o + 80);
        out.dmin[i] = readF16(src, o + 82);
        let is = 0;
        for (let half = 0; half < 2; half++) {
          const q = o + 16 + half * 32;
          for (let shift = 0; shift < 8; shift += 2) {
            for (let k = 0; k < 2; k++) {
              const sc = src[o + is]!;
              mins[i * 16 + is++] = sc >> 4;
              for (let l = 0; l < 16; l++) sq[y++] = (sc & 15) * ((src[q + k * 16 + l]! >> shift) & 3);
            }
          }
        }
        break;
      }
      case GgmlType.Q3_K: {
        out.d[i] = readF16(src, o + 108);
        const scales = Q3_SCALES;
        for (let j = 0; j < 16; j++) {
          const low = j < 8 ? src[o + 96 + j]! & 15 : src[o + 96 + j - 8]! >> 4;
          const high = (src[o + 104 + (j % 4)]! >> (2 * (j >> 2))) & 3;
          scales[j] = (low | (high << 4)) - 32;
        }
        let is = 0;
        let hbit = 0;
        for (let half = 0; half < 2; half++) {
          const q = o + 32 + half * 32;
          for (let shift = 0; shift < 8; shift += 2) {
            for (let k = 0; k < 2; k++) {
              const sc = scales[is++]!;
              for (let l = 0; l < 16; l++) {
                const v = ((src[q + k * 16 + l]! >> shift) & 3) - ((((src[o + k * 16 + l]! >> hbit) & 1) ^ 1) << 2);
                sq[y++] = sc * v;
              }
            }
            hbit++;
          }
        }
        break;
      }
      case GgmlType.Q4_K:
      case GgmlType.Q5_K: {
        out.d[i] = readF16(src, o);
        out.dmin[i] = readF16(src, o + 2);
        const five = type === GgmlType.Q5_K;
        for (let g = 0; g < 4; g++) {
          const ql = o + (five ? 48 : 16) + g * 32;
          for (let h = 0; h < 2; h++) {
            const j = 2 * g + h;
            const so = o + 4;
            const sc = j < 4 ? src[so + j]! & 63 : (src[so + j + 4]! & 15) | ((src[so + j - 4]! >> 6) << 4);
            mins[i * 16 + j] = j < 4 ? src[so + j + 4]! & 63 : (src[so + j + 4]! >> 4) | ((src[so + j]! >> 6) << 4);
            // One loop per case: this runs once per weight element on every matmul.
            if (!five && h === 0) for (let l = 0; l < 32; l++) sq[y + l] = sc * (src[ql + l]! & 15);
            else if (!five) for (let l = 0; l < 32; l++) sq[y + l] = sc * (src[ql + l]! >> 4);
            else {
              for (let l = 0; l < 32; l++) {
                const v = h === 0 ? src[ql + l]! & 15 : src[ql + l]! >> 4;
                sq[y + l] = sc * (v | (((src[o + 16 + l]! >> j) & 1) << 4));
              }
            }
            y += 32;
          }
        }
        break;
      }
      case GgmlType.Q6_K: {
        out.d[i] = readF16(src, o + 208);
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
            sq[yo + l] = ((src[sc + is]! << 24) >> 24) * (((a & 15) | ((hb & 3) << 4)) - 32);
            sq[yo + l + 32] = ((src[sc + is + 2]! << 24) >> 24) * (((b & 15) | (((hb >> 2) & 3) << 4)) - 32);
            sq[yo + l + 64] = ((src[sc + is + 4]! << 24) >> 24) * (((a >> 4) | (((hb >> 4) & 3) << 4)) - 32);
            sq[yo + l + 96] = ((src[sc + is + 6]! << 24) >> 24) * (((b >> 4) | (((hb >> 6) & 3) << 4)) - 32);
          }
        }
        break;
      }
      default:
        throw new RangeError(`parseKRow: not a K-quant type (${type})`);
    }
  }
}

const acc = new Float64Array(8);
const accM = new Float64Array(4);

/** The horizontal sum of 8 float lanes, in the AVX2 kernels' order. */
export function hsum8(l: Float64Array): number {
  const t0 = fr(l[0]! + l[4]!);
  const t1 = fr(l[1]! + l[5]!);
  const t2 = fr(l[2]! + l[6]!);
  const t3 = fr(l[3]! + l[7]!);
  return fr(fr(t0 + t2) + fr(t1 + t3));
}

/** Weight row w · activation row `row` of x, as ggml_vec_dot_<type>_q8_K computes it on AVX2. */
export function kquantDot(type: GgmlType, w: KRow, x: Q8KRows, row: number, nb: number): number {
  acc.fill(0);
  accM.fill(0);
  let summs = 0;
  for (let i = 0; i < nb; i++) {
    const xb = row * nb + i;
    const yd = x.d[xb]!;
    const d = fr(yd * w.d[i]!);
    const dmin = fr(-yd * w.dmin[i]!);
    const bs = xb * 16;
    if (type === GgmlType.Q2_K) {
      for (let k = 0; k < 8; k++) {
        const prod = w.mins[i * 16 + 2 * k]! * x.bsums[bs + 2 * k]! + w.mins[i * 16 + 2 * k + 1]! * x.bsums[bs + 2 * k + 1]!;
        acc[k] = fr(dmin * prod + acc[k]!);
      }
    } else if (type === GgmlType.Q4_K || type === GgmlType.Q5_K) {
      // 8 sub-blocks of 32: their q8 sums are pairs of the 16-element bsums (integers: exact).
      const mo = i * 16;
      if (type === GgmlType.Q4_K) {
        for (let k = 0; k < 4; k++) {
          const j = 2 * k;
          const pair = w.mins[mo + j]! * (x.bsums[bs + 2 * j]! + x.bsums[bs + 2 * j + 1]!) + w.mins[mo + j + 1]! * (x.bsums[bs + 2 * j + 2]! + x.bsums[bs + 2 * j + 3]!);
          accM[k] = fr(dmin * pair + accM[k]!);
        }
      } else {
        let total = 0;
        for (let j = 0; j < 8; j++) total += w.mins[mo + j]! * (x.bsums[bs + 2 * j]! + x.bsums[bs + 2 * j + 1]!);
        summs = fr(dmin * total + summs);
      }
    }
    // Lane j sums elements 4j..4j+3 of every 32 (maddubs + madd); integer sums, exact in any order.
    const sq = w.sq;
    const xq = x.q;
    let l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;
    for (let a = i * QK_K, b = xb * QK_K, end = a + QK_K; a < end; a += 32, b += 32) {
      l0 += sq[a]! * xq[b]! + sq[a + 1]! * xq[b + 1]! + sq[a + 2]! * xq[b + 2]! + sq[a + 3]! * xq[b + 3]!;
      l1 += sq[a + 4]! * xq[b + 4]! + sq[a + 5]! * xq[b + 5]! + sq[a + 6]! * xq[b + 6]! + sq[a + 7]! * xq[b + 7]!;
      l2 += sq[a + 8]! * xq[b + 8]! + sq[a + 9]! * xq[b + 9]! + sq[a + 10]! * xq[b + 10]! + sq[a + 11]! * xq[b + 11]!;
      l3 += sq[a + 12]! * xq[b + 12]! + sq[a + 13]! * xq[b + 13]! + sq[a + 14]! * xq[b + 14]! + sq[a + 15]! * xq[b + 15]!;
      l4 += sq[a + 16]! * xq[b + 16]! + sq[a + 17]! * xq[b + 17]! + sq[a + 18]! * xq[b + 18]! + sq[a + 19]! * xq[b + 19]!;
      l5 += sq[a + 20]! * xq[b + 20]! + sq[a + 21]! * xq[b + 21]! + sq[a + 22]! * xq[b + 22]! + sq[a + 23]! * xq[b + 23]!;
      l6 += sq[a + 24]! * xq[b + 24]! + sq[a + 25]! * xq[b + 25]! + sq[a + 26]! * xq[b + 26]! + sq[a + 27]! * xq[b + 27]!;
      l7 += sq[a + 28]! * xq[b + 28]! + sq[a + 29]! * xq[b + 29]! + sq[a + 30]! * xq[b + 30]! + sq[a + 31]! * xq[b + 31]!;
    }
    acc[0] = fr(d * l0 + acc[0]!);
    acc[1] = fr(d * l1 + acc[1]!);
    acc[2] = fr(d * l2 + acc[2]!);
    acc[3] = fr(d * l3 + acc[3]!);
    acc[4] = fr(d * l4 + acc[4]!);
    acc[5] = fr(d * l5 + acc[5]!);
    acc[6] = fr(d * l6 + acc[6]!);
    acc[7] = fr(d * l7 + acc[7]!);
  }
  const s = hsum8(acc);
  if (type === GgmlType.Q4_K) return fr(s + fr(fr(accM[0]! + accM[2]!) + fr(accM[1]! + accM[3]!)));
  if (type === GgmlType.Q5_K) return fr(s + summs);
  return s;
}
