// F32/F16/BF16 and the scalar conversions every block format uses for its scales.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bf16ToF32, f16ToF32, f32Bits, f32FromBits, f32ToBf16, f32ToF16, F16, BF16, F32 } from '../../src/quant/float.ts';

describe('f16ToF32', () => {
  it('decodes normals, subnormals, zeros, infinities and NaN', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x3555)).toBe(0.333251953125);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0400)).toBe(2 ** -14);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
  });
});

describe('f32ToF16 (ggml GGML_FP32_TO_FP16: round to nearest even)', () => {
  it('rounds exact values, ties to even, overflow and underflow as IEEE does', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519)).toBe(0x7bff); // below the midpoint to 65536
    expect(f32ToF16(65520)).toBe(0x7c00); // the midpoint ties to even: infinity
    expect(f32ToF16(1e10)).toBe(0x7c00);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie between 0x3c00 and 0x3c01: even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie between 0x3c01 and 0x3c02: even
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 subnormal steps
    expect(f32ToF16(2 ** -25 * 1.0000001)).toBe(0x0001);
    expect(f32ToF16(1e-30)).toBe(0x0000);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(f32ToF16(NaN)).toBe(0x7e00);
    expect(f32ToF16(f32FromBits(0xffc00001))).toBe(0xfe00);
  });

  it('round-trips every finite half exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      if (f32ToF16(f16ToF32(h)) !== h) throw new Error(`half 0x${h.toString(16)} does not round-trip`);
    }
  });

  it('returns the nearest half for any float32 (property)', () => {
    const seed = Date.now() % 0x7fffffff;
    console.log(`f32ToF16 nearest property seed=${seed}`);
    fc.assert(
      fc.property(fc.float({ noNaN: true, min: -65504, max: 65504 }), (x) => {
        const h = f32ToF16(x);
        if ((h & 0x8000) !== 0 !== (x < 0 || Object.is(x, -0))) return false;
        // Compare magnitudes with both neighbouring halves; on a tie the even one must win.
        const a = Math.abs(x);
        const m = h & 0x7fff;
        const e = Math.abs(f16ToF32(m) - a);
        const below = m > 0 ? Math.abs(f16ToF32(m - 1) - a) : Infinity;
        const above = m < 0x7bff ? Math.abs(f16ToF32(m + 1) - a) : Infinity;
        if (e > below || e > above) return false;
        return (e !== below && e !== above) || (m & 1) === 0;
      }),
      { seed, numRuns: 2000 },
    );
  });
});

describe('bf16 (ggml GGML_FP32_TO_BF16)', () => {
  it('rounds the low 16 bits to nearest even and keeps NaN quiet', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(f32FromBits(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16(f32FromBits(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16(f32FromBits(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16(f32FromBits(0x7f7fffff))).toBe(0x7f80); // max float rounds to infinity
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    expect(f32ToBf16(f32FromBits(0x7f800001))).toBe(0x7fc0); // signalling NaN forced quiet
    expect(f32ToBf16(f32FromBits(0xff812345))).toBe(0xffc1);
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc040)).toBe(-3);
    expect(f32Bits(bf16ToF32(0x7f80))).toBe(0x7f800000);
  });
});

describe('float tensor formats', () => {
  const x = Float32Array.from([0, -0, 1.5, -2.25, 3.1415927, 1e-8, 65519, 70000]);

  it('F32 passes bytes through, also from unaligned sources', () => {
    const bytes = F32.quantize(x);
    expect(bytes.length).toBe(32);
    const unaligned = new Uint8Array(33);
    unaligned.set(bytes, 1);
    expect(Array.from(F32.dequantize(unaligned.subarray(1), 8))).toEqual(Array.from(x));
  });

  it('F16 stores each value as its rounded half', () => {
    const y = F16.dequantize(F16.quantize(x), 8);
    expect(Array.from(y)).toEqual([0, -0, 1.5, -2.25, 3.140625, 0, 65504, Infinity]);
  });

  it('BF16 keeps the top 16 bits, rounded', () => {
    const y = BF16.dequantize(BF16.quantize(x), 8);
    expect(Array.from(y)).toEqual([0, -0, 1.5, -2.25, 3.140625, 1.0011717677116394e-8, 65536, 70144]);
  });

  it('writes into a caller buffer', () => {
    const out = new Float32Array(10).fill(7);
    const r = F16.dequantize(F16.quantize(x), 8, out);
    expect(r).toBe(out);
    expect(out[2]).toBe(1.5);
    expect(out[9]).toBe(7);
  });
});
