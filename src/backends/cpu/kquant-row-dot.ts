// Decode-time dots of the two types Q4_K_M files hold (Q4_K, Q6_K) for one activation row, read
// straight from a weight row's bytes: a matvec reads each weight once, so parsing the row first
// (parseKRow) doubled the work. Each gives kquantDot's bits (kquant-dot.ts): the scale of a group is
// factored out of its exact integer lane sums, and the floats go through the same FMAs in the same
// order (test/backends/cpu/quant-dot.test.ts checks this bit for bit).
import { readF16 } from '../../quant/util.ts';
import { hsum8, type Q8KRows } from './kquant-dot.ts';

const fr = Math.fround;
const QK_K = 256;
/** A superblock's 8 integer lane sums, and the row's 8 float accumulators. */
const lanes = new Float64Array(8);
const acc = new Float64Array(8);

/** acc[k] = fma(d, lanes[k], acc[k]) in f32: one superblock's lanes added as kquantDot adds them. */
function addLanes(d: number): void {
  for (let k = 0; k < 8; k++) acc[k] = fr(d * lanes[k]! + acc[k]!);
}

/** kquantDot of a Q4_K weight row for one activation row, read straight from the row's bytes. */
export function q4kRowDot(src: Uint8Array, x: Q8KRows, row: number, nb: number): number {
  acc.fill(0);
  const accMins = [0, 0, 0, 0];
  const xq = x.q;
  const bsums = x.bsums;
  for (let i = 0; i < nb; i++) {
    const o = i * 144;
    const xb = row * nb + i;
    const yd = x.d[xb]!;
    const d = fr(yd * readF16(src, o));
    const dmin = fr(-yd * readF16(src, o + 2));
    const bs = xb * 16;
    const so = o + 4;
    lanes.fill(0);
    let pair = 0;
    for (let j = 0; j < 8; j++) {
      const sc = j < 4 ? src[so + j]! & 63 : (src[so + j + 4]! & 15) | ((src[so + j - 4]! >> 6) << 4);
      const m = j < 4 ? src[so + j + 4]! & 63 : (src[so + j + 4]! >> 4) | ((src[so + j]! >> 6) << 4);
      pair += m * (bsums[bs + 2 * j]! + bsums[bs + 2 * j + 1]!);
      if (j & 1) {
        accMins[j >> 1] = fr(dmin * pair + accMins[j >> 1]!);
        pair = 0;
      }
      // Sub-block j: byte l of 32 at 16 + 32 * (j >> 1), low nibbles for even j, high for odd.
      const q = o + 16 + (j >> 1) * 32;
      const shift = (j & 1) * 4;
      const xo = xb * QK_K + j * 32;
      let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
      for (let k = 0; k < 4; k++) {
        t0 += ((src[q + k]! >> shift) & 15) * xq[xo + k]!;
        t1 += ((src[q + 4 + k]! >> shift) & 15) * xq[xo + 4 + k]!;
        t2 += ((src[q + 8 + k]! >> shift) & 15) * xq[xo + 8 + k]!;
        t3 += ((src[q + 12 + k]! >> shift) & 15) * xq[xo + 12 + k]!;
        t4 += ((src[q + 16 + k]! >> shift) & 15) * xq[xo + 16 + k]!;
        t5 += ((src[q + 20 + k]! >> shift) & 15) * xq[xo + 20 + k]!;
        t6 += ((src[q + 24 + k]! >> shift) & 15) * xq[xo + 24 + k]!;
        t7 += ((src[q + 28 + k]! >> shift) & 15) * xq[xo + 28 + k]!;
      }
      lanes[0] += sc * t0;
      lanes[1] += sc * t1;
      lanes[2] += sc * t2;
      lanes[3] += sc * t3;
      lanes[4] += sc * t4;
      lanes[5] += sc * t5;
      lanes[6] += sc * t6;
      lanes[7] += sc * t7;
    }
    addLanes(d);
  }
  return fr(hsum8(acc) + fr(fr(accMins[0]! + accMins[2]!) + fr(accMins[1]! + accMins[3]!)));
}

/**
 * kquantDot of a Q6_K weight row for one activation row, read straight from the row's bytes (as
 * q4kRowDot: the scale of each 16 elements factored out of exact integer lane sums, same FMAs).
 */
export function q6kRowDot(src: Uint8Array, x: Q8KRows, row: number, nb: number): number {
  acc.fill(0);
  const xq = x.q;
  for (let i = 0; i < nb; i++) {
    const o = i * 210;
    const xb = row * nb + i;
    const d = fr(x.d[xb]! * readF16(src, o + 208));
    lanes.fill(0);
    for (let h = 0; h < 2; h++) {
      const ql = o + h * 64;
      const qh = o + 128 + h * 32;
      const sc = o + 192 + h * 8;
      // Chunk c (32 elements at h*128 + 32c): low or high nibbles of ql[0..32) or ql[32..64), with
      // 2 high bits from qh; elements 0-15 (lanes 0-3) take scale 2c, 16-31 (lanes 4-7) 2c+1 (int8).
      for (let c = 0; c < 4; c++) {
        const lo = ql + (c & 1) * 32;
        const nib = (c >> 1) * 4;
        const hs = 2 * c;
        const xo = xb * QK_K + h * 128 + c * 32;
        let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
        for (let e = 0; e < 4; e++) {
          t0 += ((((src[lo + e]! >> nib) & 15) | (((src[qh + e]! >> hs) & 3) << 4)) - 32) * xq[xo + e]!;
          t1 += ((((src[lo + 4 + e]! >> nib) & 15) | (((src[qh + 4 + e]! >> hs) & 3) << 4)) - 32) * xq[xo + 4 + e]!;
          t2 += ((((src[lo + 8 + e]! >> nib) & 15) | (((src[qh + 8 + e]! >> hs) & 3) << 4)) - 32) * xq[xo + 8 + e]!;
          t3 += ((((src[lo + 12 + e]! >> nib) & 15) | (((src[qh + 12 + e]! >> hs) & 3) << 4)) - 32) * xq[xo + 12 + e]!;
          t4 += ((((src[lo + 16 + e]! >> nib) & 15) | (((src[qh + 16 + e]! >> hs) & 3) << 4)) - 32) * xq[xo + 16 + e]!;
          t5 += ((((src[lo + 20 + e]! >> nib) & 15) | (((src[qh + 20 + e]! >> hs) & 3) << 4)) - 32) * xq[xo + 20 + e]!;
          t6 += ((((src[lo + 24 + e]! >> nib) & 15) | (((src[qh + 24 + e]! >> hs) & 3) << 4)) - 32) * xq[xo + 24 + e]!;
          t7 += ((((src[lo + 28 + e]! >> nib) & 15) | (((src[qh + 28 + e]! >> hs) & 3) << 4)) - 32) * xq[xo + 28 + e]!;
        }
        const s0 = (src[sc + hs]! << 24) >> 24;
        const s1 = (src[sc + hs + 1]! << 24) >> 24;
        lanes[0] += s0 * t0;
        lanes[1] += s0 * t1;
        lanes[2] += s0 * t2;
        lanes[3] += s0 * t3;
        lanes[4] += s1 * t4;
        lanes[5] += s1 * t5;
        lanes[6] += s1 * t6;
        lanes[7] += s1 * t7;
      }
    }
    addLanes(d);
  }
  return hsum8(acc);
}
