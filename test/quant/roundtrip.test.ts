// dequantize(quantize(x)) stays within each format's error bound, relative to the largest
// magnitude in the block (the quantity every format's scale is derived from).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GgmlType, typeName } from '../../src/gguf/types.ts';
import { getFormat, supportedTypes } from '../../src/quant/registry.ts';

/**
 * Max |error| / block amax. Legacy bounds follow from the format (Q4_0: the value opposite the
 * extreme clips to 7/8 of it, so up to d = amax/8; Q4_1: half a step of (max-min)/15 <= 2amax/30;
 * Q8_0: half a step of amax/127), plus fp16 rounding of the scales. K-quants and IQ4_NL search
 * their scales, so their bounds are empirical worst cases on random data with headroom.
 */
const BOUND: Record<number, number> = {
  [GgmlType.F32]: 0,
  [GgmlType.F16]: 2 ** -11,
  [GgmlType.BF16]: 2 ** -8,
  [GgmlType.Q8_0]: (0.5 + 127 * 2 ** -11) / 127,
  [GgmlType.Q4_0]: (1 + 8 * 2 ** -10) / 8,
  [GgmlType.Q4_1]: 1 / 15 + 2 ** -9,
  [GgmlType.Q5_0]: (1 + 16 * 2 ** -10) / 16,
  [GgmlType.Q5_1]: 1 / 31 + 2 ** -9,
  // Q2_K fits each 16-group with weights |x|: exact zeros carry no weight and can land ~0.63 amax away.
  [GgmlType.Q2_K]: 1.0,
  [GgmlType.Q3_K]: 0.35,
  [GgmlType.Q4_K]: 0.15,
  [GgmlType.Q5_K]: 0.08,
  [GgmlType.Q6_K]: 0.03,
  [GgmlType.IQ4_NL]: 0.2,
};

function worstBlockError(type: GgmlType, x: Float32Array): number {
  const f = getFormat(type);
  const y = f.dequantize(f.quantize(x), x.length);
  const B = Math.max(f.blockSize, 32);
  let worst = 0;
  for (let b = 0; b < x.length; b += B) {
    let amax = 0;
    let err = 0;
    for (let i = b; i < b + B; i++) {
      amax = Math.max(amax, Math.abs(x[i]!));
      err = Math.max(err, Math.abs(x[i]! - y[i]!));
    }
    if (amax > 0) worst = Math.max(worst, err / amax);
  }
  return worst;
}

describe('dequantize(quantize(x)) error bounds (property)', () => {
  it('every supported type has a bound', () => {
    for (const t of supportedTypes()) expect(BOUND[t], typeName(t)).toBeDefined();
  });

  for (const type of supportedTypes()) {
    it(`${typeName(type)} within ${BOUND[type]!.toPrecision(3)} of the block amax`, () => {
      const seed = Date.now() % 0x7fffffff;
      console.log(`${typeName(type)} round-trip property seed=${seed}`);
      const block = getFormat(type).blockSize === 256 ? 256 : 32;
      // Values in [-1, 1] times a per-case magnitude. Blocks must not be tiny: below ~1e-2 the fp16
      // scales (k-quants divide by up to 4096) go subnormal and lose precision, a property of the format.
      const arb = fc.tuple(
        fc.float32Array({ minLength: block, maxLength: block, min: -1, max: 1, noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(4, 37.5, 1000),
        fc.integer({ min: 0, max: 2 }),
      );
      fc.assert(
        fc.property(arb, ([v, scale, shape]) => {
          const x = new Float32Array(block * 2);
          for (let i = 0; i < block; i++) {
            // shape 1: all positive (exercises the min of asymmetric formats); 2: one outlier.
            const u = shape === 1 ? Math.abs(v[i]!) : v[i]!;
            x[i] = u * scale * (shape === 2 && i === 3 ? 10 : 1);
            x[block + i] = -x[i]! * 0.5;
          }
          for (let b = 0; b < x.length; b += 32) fc.pre(x.subarray(b, b + 32).some((e) => Math.abs(e) >= 0.1 * scale));
          return worstBlockError(type, x) <= BOUND[type]!;
        }),
        { seed, numRuns: 120 },
      );
    });
  }

  it('an all-zero block round-trips to zeros in every format', () => {
    for (const t of supportedTypes()) {
      const f = getFormat(t);
      const y = f.dequantize(f.quantize(new Float32Array(256)), 256);
      expect(y.every((v) => v === 0), typeName(t)).toBe(true);
    }
  });
});

describe('quantize known values', () => {
  it('Q8_0: d = amax/127 in fp16, values rounded half away from zero', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => i - 15.5); // amax 15.5 at both ends
    const q = getFormat(GgmlType.Q8_0).quantize(x);
    expect(q.length).toBe(34);
    const qs = Array.from(q.subarray(2), (b) => (b << 24) >> 24);
    expect(qs[0]).toBe(-127);
    expect(qs[31]).toBe(127);
    expect(qs[15]).toBe(-4); // -0.5 * 127/15.5 = -4.097
  });

  it('Q4_0: the extreme maps to -8 and its opposite clips to +7', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => i - 16); // max |x| = 16 at x = -16
    const f = getFormat(GgmlType.Q4_0);
    const y = f.dequantize(f.quantize(x), 32);
    expect(y[0]).toBe(-16); // d = 2
    expect(y[31]).toBe(14); // 15 clips to 7 * 2
    expect(y[17]).toBe(2); // 1 * 0.5 + 8.5 = 9 -> (9 - 8) * 2
  });

  it('Q4_1: min and (max - min)/15 reproduce an evenly spaced ramp exactly', () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => (i % 16) * 0.25 - 1);
    const f = getFormat(GgmlType.Q4_1);
    expect(Array.from(f.dequantize(f.quantize(x), 32))).toEqual(Array.from(x));
  });
});
