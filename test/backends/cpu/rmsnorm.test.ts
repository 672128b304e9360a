import { describe, expect, it } from 'vitest';
import { backend, read, tensor, weight } from './helpers.ts';

describe('cpu rmsNorm', () => {
  it('divides each row by its root mean square and scales by the weight', async () => {
    const b = backend();
    // Row 1: mean(x^2) = (1+4+9+16)/4 = 7.5. Row 2: mean = (9+9+9+9)/4 = 9, rms 3.
    const x = tensor(b, 2, 4, [1, 2, 3, 4, 3, -3, 3, -3]);
    const w = await weight(b, 1, 4, [1, 1, 2, 0.5]);
    const out = b.createTensor(2, 4);
    b.rmsNorm(x, w, 0, out);
    const r = 1 / Math.sqrt(7.5);
    const got = await read(b, out);
    const want = [1 * r, 2 * r, 3 * r * 2, 4 * r * 0.5, 1, -1, 2, -0.5];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
  });

  it('adds eps inside the square root, so a zero row stays zero', async () => {
    const b = backend();
    const x = tensor(b, 2, 2, [0, 0, 1, 1]);
    const w = await weight(b, 1, 2, [1, 1]);
    const out = b.createTensor(2, 2);
    b.rmsNorm(x, w, 3, out);
    // Row 2: 1 / sqrt(1 + 3) = 0.5.
    expect(await read(b, out)).toEqual([0, 0, 0.5, 0.5]);
  });

  it('rejects a weight of the wrong length', async () => {
    const b = backend();
    const x = tensor(b, 1, 4, [1, 2, 3, 4]);
    const w = await weight(b, 1, 3, [1, 1, 1]);
    expect(() => b.rmsNorm(x, w, 1e-5, b.createTensor(1, 4))).toThrow(/weight .* has 3 values, rows have 4/);
  });
});
