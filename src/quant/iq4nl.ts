// IQ4_NL: 32-element blocks of 4-bit indices into a fixed non-linear table of 16 int8 levels.
// Layout (ggml-common.h): { f16 d; u8 qs[16] }; x[j] = d * KVALUES[qs[j] & 15], x[j+16] = d * KVALUES[qs[j] >> 4].
// The quantizer replays what llama-quantize runs for IQ4_NL without an imatrix: quantize_iq4_nl
// (quantize_row_iq4_nl_impl with x^2 weights and 7 scale perturbations each way).
import { GgmlType } from '../gguf/types.ts';
import type { QuantFormat } from './format.ts';
import { GROUP_MAX_EPS } from './kquants-search.ts';
import * as util from './util.ts';

// Hot helpers are bound to module-local constants once: some module runners (vitest's) turn every
// use of an imported binding into a getter call, which made the inner loops several times slower.
const { checkBlocks, checkQuantInput, f32, outFor, readF16, writeF16 } = util;

/** ggml's kvalues_iq4nl. */
export const IQ4NL_VALUES: readonly number[] = Object.freeze([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);
const VALUES = Int8Array.from(IQ4NL_VALUES);
const NTRY = 7;

/**
 * Index of the level nearest to x in the sorted table (ties and rounding as ggml's best_index_int8:
 * clamp to the ends, bisect, then compare the two float32 distances).
 */
export function bestIndexInt8(val: Int8Array, x: number): number {
  const n = val.length;
  if (x <= val[0]!) return 0;
  if (x >= val[n - 1]!) return n - 1;
  let ml = 0;
  let mu = n - 1;
  while (mu - ml > 1) {
    const mav = (ml + mu) >> 1;
    if (x < val[mav]!) mu = mav;
    else ml = mav;
  }
  return f32(x - val[mu - 1]!) < f32(val[mu]! - x) ? mu - 1 : mu;
}

function iq4nlDequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('IQ4_NL', 32, 18, src, n);
  const y = outFor(n, out);
  for (let i = 0, o = 0, yo = 0; i < nb; i++, o += 18, yo += 32) {
    const d = readF16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      y[yo + j] = d * VALUES[q & 15]!;
      y[yo + j + 16] = d * VALUES[q >> 4]!;
    }
  }
  return y;
}

function iq4nlQuantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('IQ4_NL', 32, x.length);
  const y = new Uint8Array(nb * 18);
  const weight = new Float32Array(32);
  const L = new Uint8Array(32);
  for (let i = 0; i < nb; i++) {
    const xo = i * 32;
    const o = i * 18;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[xo + j]!;
      weight[j] = f32(v * v);
      const ax = Math.abs(v);
      if (ax > amax) {
        amax = ax;
        max = v;
      }
    }
    let d = 0;
    if (amax >= GROUP_MAX_EPS) {
      d = f32(-max / VALUES[0]!);
      let id = f32(1 / d);
      let sumqx = 0;
      let sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const xj = x[xo + j]!;
        const q = VALUES[bestIndexInt8(VALUES, f32(id * xj))]!;
        const wq = f32(weight[j]! * q);
        sumqx = f32(sumqx + f32(wq * xj));
        sumq2 = f32(sumq2 + f32(wq * q));
      }
      d = sumq2 > 0 ? f32(sumqx / sumq2) : 0;
      let best = f32(d * sumqx);
      for (let itry = -NTRY; itry <= NTRY; itry++) {
        id = f32((itry + VALUES[0]!) / max);
        sumqx = 0;
        sumq2 = 0;
        for (let j = 0; j < 32; j++) {
          const xj = x[xo + j]!;
          const q = VALUES[bestIndexInt8(VALUES, f32(id * xj))]!;
          const wq = f32(weight[j]! * q);
          sumqx = f32(sumqx + f32(wq * xj));
          sumq2 = f32(sumq2 + f32(wq * q));
        }
        if (sumq2 > 0 && f32(sumqx * sumqx) > f32(best * sumq2)) {
          d = f32(sumqx / sumq2);
          best = f32(d * sumqx);
        }
      }
    }
    writeF16(y, o, d);
    // The final indices come from the float32 scale (not the stored fp16 one), as in ggml.
    const id = d ? f32(1 / d) : 0;
    for (let j = 0; j < 32; j++) L[j] = bestIndexInt8(VALUES, f32(id * x[xo + j]!));
    for (let j = 0; j < 16; j++) y[o + 2 + j] = L[j]! | (L[j + 16]! << 4);
  }
  return y;
}

export const IQ4_NL: QuantFormat = { type: GgmlType.IQ4_NL, name: 'IQ4_NL', blockSize: 32, typeSize: 18, dequantize: iq4nlDequantize, quantize: iq4nlQuantize };
