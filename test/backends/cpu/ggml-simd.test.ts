// ggml's float32 kernels as the CPU backend replays them: exp accuracy, and the summation orders that
// make a dot product come out exactly as llama.cpp's does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dotTiny, dotVecF16, dotVecF32, siluRow, vExpf } from '../../../src/backends/cpu/ggml-simd.ts';
import { glibcCosf, glibcSinf } from '../../../src/backends/cpu/glibc-sincosf.ts';

const fr = Math.fround;

describe('ggml_v_expf', () => {
  it('is within 2 ulp of exp over the softmax and silu range, exact at 0, 0 far below and Infinity far above', () => {
    const seed = Date.now();
    console.log(`ggml_v_expf property seed ${seed}`);
    fc.assert(
      fc.property(fc.float({ min: -80, max: 80, noNaN: true }), (x) => {
        const e = vExpf(fr(x));
        const ulp = 2 ** (Math.floor(Math.log2(Math.exp(x))) - 23);
        return Math.abs(e - Math.exp(fr(x))) <= 2 * ulp;
      }),
      { seed },
    );
    expect(vExpf(0)).toBe(1);
    expect(vExpf(-Infinity)).toBe(0);
    expect(vExpf(-200)).toBe(0);
    expect(vExpf(200)).toBe(Infinity);
  });

  it('gives silu = x / (1 + exp(-x)) in float for every element of a row', () => {
    const x = Float32Array.from({ length: 20 }, (_, i) => (i - 10) / 3);
    const out = new Float32Array(20);
    siluRow(x, 0, 20, out);
    for (let i = 0; i < 20; i++) expect(out[i]).toBeCloseTo(x[i]! / (1 + Math.exp(-x[i]!)), 6);
  });
});

describe('replayed dot products', () => {
  // 2^24 + 1 is not a float: the order in which 1s meet a large value decides what survives.
  const big = 2 ** 24;

  it('tinyBLAS: 16 lanes accumulate, then one horizontal sum', () => {
    // Lane 0 holds big, lanes 1..15 hold 1. The reduction adds lane i+8 to lane i (big + 1 rounds to
    // big), then lane i+4 to i (big + 2 survives), then (0+2) + (1+3): big + 14, where double gives big + 15.
    const a = Float32Array.from({ length: 16 }, (_, i) => (i === 0 ? big : 1));
    const ones = new Float32Array(16).fill(1);
    expect(dotTiny(a, 0, ones, 0, 16)).toBe(big + 14);
    // The same values in one lane (element 0 then 16, 32, ...) are added one by one and lost.
    const b = new Float32Array(64);
    b[0] = big;
    for (let i = 16; i < 64; i += 16) b[i] = 1;
    expect(dotTiny(b, 0, new Float32Array(64).fill(1), 0, 64)).toBe(big);
  });

  it('ggml_vec_dot_f32: float leftovers after the 64-element SIMD steps', () => {
    // 64 zeros then big and three 1s: the leftovers add 1 to big one at a time, each rounded away.
    const a = new Float32Array(68);
    a[64] = big;
    a[65] = a[66] = a[67] = 1;
    expect(dotVecF32(a, 0, new Float32Array(68).fill(1), 0, 68)).toBe(big);
    // In double the three 1s would survive.
    expect(a.reduce((s, v) => s + v, 0)).toBe(big + 3);
  });

  it('ggml_vec_dot_f16: leftovers are summed in double, so short rows are exact', () => {
    const a = Float32Array.from([big, 1, 1, 1]);
    expect(dotVecF16(a, 0, new Float32Array(4).fill(1), 0, 4)).toBe(big + 4);
  });
});

describe("glibc's sinf / cosf (rope's cos and sin)", () => {
  it('returns sinf(34) one ulp below the correctly rounded float, as glibc does', () => {
    expect(glibcSinf(34)).toBe(Math.fround(0.5290826559066772));
    expect(Math.fround(Math.sin(34))).toBe(Math.fround(0.529082715511322));
  });

  it('stays within one ulp of the true sine and cosine', () => {
    const seed = Date.now();
    console.log(`glibc sincosf property seed ${seed}`);
    fc.assert(
      fc.property(fc.float({ min: -119, max: 119, noNaN: true }), (x) => {
        const ulp = (v: number): number => 2 ** (Math.floor(Math.log2(Math.abs(v) || 2 ** -126)) - 23);
        return Math.abs(glibcSinf(x) - Math.sin(x)) <= ulp(Math.sin(x)) && Math.abs(glibcCosf(x) - Math.cos(x)) <= ulp(Math.cos(x));
      }),
      { seed },
    );
  });
});
