import { describe, expect, it } from 'vitest';
import { backend, index, read, tensor } from './helpers.ts';

describe('cpu swiglu', () => {
  it('computes silu(gate) * up', async () => {
    const b = backend();
    const out = b.createTensor(1, 3);
    b.swiglu(tensor(b, 1, 3, [0, 1, -2]), tensor(b, 1, 3, [5, 2, 3]), out);
    const silu = (x: number) => x / (1 + Math.exp(-x));
    const got = await read(b, out);
    [0, silu(1) * 2, silu(-2) * 3].forEach((w, i) => expect(got[i]).toBeCloseTo(w, 6));
  });
});

describe('cpu add', () => {
  it('adds elementwise, in place when out is a', async () => {
    const b = backend();
    const a = tensor(b, 2, 2, [1, 2, 3, 4]);
    b.add(a, tensor(b, 2, 2, [10, 20, 30, 40]), a);
    expect(await read(b, a)).toEqual([11, 22, 33, 44]);
  });
});

describe('cpu gatherRows', () => {
  it('picks the requested rows in order', async () => {
    const b = backend();
    const out = b.createTensor(2, 2);
    b.gatherRows(tensor(b, 3, 2, [1, 2, 3, 4, 5, 6]), index(b, [2, 0]), out);
    expect(await read(b, out)).toEqual([5, 6, 1, 2]);
    expect(() => b.gatherRows(tensor(b, 1, 2, [1, 2]), index(b, [1]), b.createTensor(1, 2))).toThrow(/row 1 is outside/);
  });
});
