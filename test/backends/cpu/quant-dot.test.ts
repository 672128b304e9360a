// Quantized dot products as ggml's integer kernels compute them: the result equals the dot product of
// the dequantized weights with the dequantized 8-bit activations, up to float rounding.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kquantDot, newKRow, parseKRow, quantizeQ8KRows } from '../../../src/backends/cpu/kquant-dot.ts';
import { q4kRowDot, q6kRowDot } from '../../../src/backends/cpu/kquant-row-dot.ts';
import { decodeRow, q4_0RepackedDot, quantDot, quantizeQ8Rows, type QuantRow } from '../../../src/backends/cpu/quant-dot.ts';
import { GgmlType, typeName } from '../../../src/gguf/types.ts';
import { f16ToF32 } from '../../../src/quant/float.ts';
import { dequantizeTensor, quantizeTensor } from '../../../src/quant/registry.ts';

const LEGACY = [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL];
const KQUANTS = [GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

const QK = 32;

/**
 * decodeRow's reference: a dequantized row split back into its blocks' integers and scales. Every
 * legacy format stores the block scale as the first f16 (then the min for Q4_1/Q5_1), and
 * x = q*d (+ m), so q = round((x-m)/d).
 */
function splitRow(type: GgmlType, raw: Uint8Array, values: Float32Array, n: number, out: QuantRow): void {
  const bytes = raw.length / (n / QK);
  const withMin = type === GgmlType.Q4_1 || type === GgmlType.Q5_1;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  for (let b = 0; b < n / QK; b++) {
    const d = f16ToF32(view.getUint16(b * bytes, true));
    const m = withMin ? f16ToF32(view.getUint16(b * bytes + 2, true)) : 0;
    out.d[b] = d;
    out.m[b] = m;
    for (let j = 0; j < QK; j++) out.q[b * QK + j] = d === 0 ? 0 : Math.round((values[b * QK + j]! - m) / d);
  }
}

function randomRow(n: number, rnd: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => (rnd() - 0.5) * 4);
}

/** A small deterministic generator from a fast-check seed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('legacy quant dot (Q8_0 / Q8_1 activations)', () => {
  for (const type of LEGACY) {
    it(`${typeName(type)}: equals dequantized weights · dequantized activations`, () => {
      const seed = Date.now();
      console.log(`${typeName(type)} dot seed ${seed}`);
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 1, max: 8 }), fc.boolean(), (s, blocks, batched) => {
          const n = 32 * blocks;
          const rnd = lcg(s);
          const w = randomRow(n, rnd);
          const raw = quantizeTensor(type, w);
          const deq = dequantizeTensor(type, raw, n);
          const row = { q: new Int8Array(n), d: new Float64Array(blocks), m: new Float64Array(blocks) };
          splitRow(type, raw, deq, n, row);
          const x = quantizeQ8Rows(randomRow(n, rnd));
          let ref = 0;
          for (let i = 0; i < n; i++) ref += deq[i]! * x.q[i]! * x.d[Math.floor(i / 32)]!;
          // Q4_1 / Q5_1 use Q8_1's f16 block sums for the min term: their rounding is part of ggml's result.
          let minTerm = 0;
          let minTermF16 = 0;
          for (let b = 0; b < blocks; b++) {
            let qs = 0;
            for (let j = 0; j < 32; j++) qs += x.q[b * 32 + j]!;
            minTerm += row.m[b]! * x.d[b]! * qs;
            minTermF16 += row.m[b]! * x.s[b]!;
          }
          const got = quantDot(type, row, x, 0, blocks, batched, type === GgmlType.Q4_0 && batched);
          const want = ref - minTerm + minTermF16;
          return Math.abs(got - want) <= 1e-5 * (1 + Math.abs(want));
        }),
        { seed },
      );
    });
  }
});

describe('decodeRow: a legacy row\'s integers and scales straight from its bytes', () => {
  for (const type of LEGACY) {
    it(`${typeName(type)}: the same q, d and m as splitting the dequantized row, all-zero blocks included`, () => {
      const seed = Date.now();
      console.log(`${typeName(type)} decodeRow seed ${seed}`);
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 7 }), (s, blocks, zeroBlock) => {
          const n = 32 * blocks;
          const w = randomRow(n, lcg(s));
          if (zeroBlock < blocks) w.fill(0, zeroBlock * 32, zeroBlock * 32 + 32);
          const raw = quantizeTensor(type, w);
          const want = { q: new Int8Array(n), d: new Float64Array(blocks), m: new Float64Array(blocks) };
          const got = { q: new Int8Array(n).fill(99), d: new Float64Array(blocks), m: new Float64Array(blocks) };
          splitRow(type, raw, dequantizeTensor(type, raw, n), n, want);
          decodeRow(type, raw, n, got);
          expect(got.q).toEqual(want.q);
          expect(got.d).toEqual(want.d);
          expect(got.m).toEqual(want.m);
        }),
        { seed },
      );
    });
  }
});

describe('q4_0RepackedDot: the decode-time Q4_0 dot read straight from the bytes', () => {
  it('gives the bits of quantDot on the decoded row (repacked kernel), all-zero blocks included', () => {
    const seed = Date.now();
    console.log(`q4_0RepackedDot seed ${seed}`);
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 2 }), (s, blocks, zeroBlock, xRow) => {
        const n = 32 * blocks;
        const rnd = lcg(s);
        const w = randomRow(n, rnd);
        if (zeroBlock < blocks) w.fill(0, zeroBlock * 32, zeroBlock * 32 + 32);
        const raw = quantizeTensor(GgmlType.Q4_0, w);
        const row = { q: new Int8Array(n), d: new Float64Array(blocks), m: new Float64Array(blocks) };
        decodeRow(GgmlType.Q4_0, raw, n, row);
        const x = quantizeQ8Rows(randomRow(3 * n, rnd));
        expect(Object.is(q4_0RepackedDot(raw, x, xRow, blocks), quantDot(GgmlType.Q4_0, row, x, xRow, blocks, false, true))).toBe(true);
      }),
      { seed },
    );
  });
});

describe('K-quant dot (Q8_K activations)', () => {
  for (const type of KQUANTS) {
    it(`${typeName(type)}: equals dequantized weights · dequantized activations`, () => {
      const seed = Date.now();
      console.log(`${typeName(type)} dot seed ${seed}`);
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 1, max: 3 }), (s, blocks) => {
          const n = 256 * blocks;
          const rnd = lcg(s);
          const w = randomRow(n, rnd);
          const raw = quantizeTensor(type, w);
          const deq = dequantizeTensor(type, raw, n);
          const row = newKRow(n);
          parseKRow(type, raw, n, row);
          const x = quantizeQ8KRows(randomRow(n, rnd));
          let want = 0;
          for (let i = 0; i < n; i++) want += deq[i]! * x.q[i]! * x.d[Math.floor(i / 256)]!;
          const got = kquantDot(type, row, x, 0, blocks);
          return Math.abs(got - want) <= 1e-5 * (1 + Math.abs(want));
        }),
        { seed, numRuns: 30 },
      );
    });
  }
});

describe('q4kRowDot / q6kRowDot: the decode-time Q4_K and Q6_K dots read straight from the bytes', () => {
  for (const [type, direct] of [[GgmlType.Q4_K, q4kRowDot], [GgmlType.Q6_K, q6kRowDot]] as const) {
    it(`${typeName(type)}: gives the bits of kquantDot on the parsed row`, () => {
      const seed = Date.now();
      console.log(`${typeName(type)} row dot seed ${seed}`);
      fc.assert(
        fc.property(fc.integer(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }), (s, blocks, xRow) => {
          const n = 256 * blocks;
          const rnd = lcg(s);
          const raw = quantizeTensor(type, randomRow(n, rnd));
          const row = newKRow(n);
          parseKRow(type, raw, n, row);
          const x = quantizeQ8KRows(randomRow(3 * n, rnd));
          expect(Object.is(direct(raw, x, xRow, blocks), kquantDot(type, row, x, xRow, blocks))).toBe(true);
        }),
        { seed, numRuns: 50 },
      );
    });
  }
});
