import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../../src/gguf/types.ts';
import { f16ToF32, f32ToF16 } from '../../../src/quant/float.ts';
import { backend, read, tensor, weight } from './helpers.ts';

describe('cpu matmul', () => {
  it('computes x · wᵀ for every row of a batch', async () => {
    const b = backend();
    // w: 3 outputs x 2 inputs.
    const w = await weight(b, 3, 2, [1, 2, 3, 4, -1, 0.5]);
    const x = tensor(b, 2, 2, [1, 1, 2, -1]);
    const out = b.createTensor(2, 3);
    b.matmul(w, x, out);
    // row 1: [1+2, 3+4, -1+0.5]; row 2: [2-2, 6-4, -2-0.5]
    expect(await read(b, out)).toEqual([3, 7, -0.5, 0, 2, -2.5]);
  });

  it('adds the bias to every row', async () => {
    const b = backend();
    const w = await weight(b, 2, 2, [1, 0, 0, 1]);
    const bias = await weight(b, 1, 2, [10, -10]);
    const x = tensor(b, 2, 2, [1, 2, 3, 4]);
    const out = b.createTensor(2, 2);
    b.matmul(w, x, out, bias);
    expect(await read(b, out)).toEqual([11, -8, 13, -6]);
  });

  it('dequantizes F16 weights exactly', async () => {
    const b = backend();
    const values = [0.1, -0.2, 0.3, 1 / 3];
    const w = await weight(b, 2, 2, values, GgmlType.F16);
    const x = tensor(b, 1, 2, [1, 1]);
    const out = b.createTensor(1, 2);
    b.matmul(w, x, out);
    const h = values.map((v) => f16ToF32(f32ToF16(v)));
    const got = await read(b, out);
    expect(got[0]).toBeCloseTo(h[0]! + h[1]!, 6);
    expect(got[1]).toBeCloseTo(h[2]! + h[3]!, 6);
  });

  it('matches a naive double-precision reference on random shapes (property)', async () => {
    const seed = Date.now();
    console.log(`matmul property seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 40 }), fc.integer(), async (rows, outs, n, s) => {
        const b = backend();
        let state = s >>> 0;
        const rnd = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
        const wv = Array.from({ length: outs * n }, rnd).map(Math.fround);
        const xv = Array.from({ length: rows * n }, rnd).map(Math.fround);
        const w = await weight(b, outs, n, wv);
        const out = b.createTensor(rows, outs);
        b.matmul(w, tensor(b, rows, n, xv), out);
        const got = await read(b, out);
        for (let r = 0; r < rows; r++)
          for (let o = 0; o < outs; o++) {
            let want = 0;
            for (let i = 0; i < n; i++) want += wv[o * n + i]! * xv[r * n + i]!;
            expect(Math.abs(got[r * outs + o]! - want)).toBeLessThan(1e-5);
          }
      }),
      { seed, numRuns: 50 },
    );
  });

  it('rejects mismatched shapes', async () => {
    const b = backend();
    const w = await weight(b, 2, 3, [1, 2, 3, 4, 5, 6]);
    expect(() => b.matmul(w, tensor(b, 1, 2, [1, 2]), b.createTensor(1, 2))).toThrow(/2 columns, the weight has 3/);
    expect(() => b.matmul(w, tensor(b, 1, 3, [1, 2, 3]), b.createTensor(1, 3))).toThrow(/must be 1x2/);
  });
});
