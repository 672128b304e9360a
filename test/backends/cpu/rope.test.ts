import { describe, expect, it } from 'vitest';
import type { RopeParams } from '../../../src/backends/backend.ts';
import { backend, index, read, tensor } from './helpers.ts';

// One head of 4 with freqBase 10000: pair 0 turns by `pos` radians, pair 1 by pos * 10000^(-2/4) = pos / 100.
const p: RopeParams = { nHeads: 1, nKvHeads: 1, headDim: 4, ropeDim: 4, freqBase: 10000, freqScale: 1, neox: false };

function rotate(x0: number, x1: number, a: number): [number, number] {
  return [x0 * Math.cos(a) - x1 * Math.sin(a), x0 * Math.sin(a) + x1 * Math.cos(a)];
}

async function ropeOf(params: RopeParams, position: number, qv: number[], kv: number[]) {
  const b = backend();
  const q = tensor(b, 1, qv.length, qv);
  const k = tensor(b, 1, kv.length, kv);
  b.rope(q, k, index(b, [position]), params);
  return { q: await read(b, q), k: await read(b, k) };
}

function expectClose(got: number[], want: number[]) {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
}

describe('cpu rope', () => {
  it('normal (llama) style rotates adjacent pairs (0,1) and (2,3)', async () => {
    const { q } = await ropeOf(p, 3, [1, 2, 3, 4], [0, 0, 0, 0]);
    expectClose(q, [...rotate(1, 2, 3), ...rotate(3, 4, 0.03)]);
  });

  it('neox (qwen2) style rotates split pairs (0,2) and (1,3)', async () => {
    const { q } = await ropeOf({ ...p, neox: true }, 3, [1, 2, 3, 4], [0, 0, 0, 0]);
    const [a0, a2] = rotate(1, 3, 3);
    const [a1, a3] = rotate(2, 4, 0.03);
    expectClose(q, [a0, a1, a2, a3]);
  });

  it('leaves position 0 unchanged and rotates k heads like q heads', async () => {
    const params = { ...p, nHeads: 2, nKvHeads: 1 };
    const zero = await ropeOf(params, 0, [1, 2, 3, 4, 5, 6, 7, 8], [9, 8, 7, 6]);
    expect(zero.q).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const one = await ropeOf(params, 1, [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4]);
    expectClose(one.k, one.q.slice(0, 4));
    expectClose(one.q.slice(4), [...rotate(5, 6, 1), ...rotate(7, 8, 0.01)]);
  });

  it('passes dimensions past ropeDim through and applies freqScale to the angle', async () => {
    const params = { ...p, headDim: 4, ropeDim: 2, freqScale: 0.5 };
    const { q } = await ropeOf(params, 2, [1, 2, 3, 4], [1, 0, 0, 0]);
    // ropeDim 2: one pair, angle = 2 * 0.5.
    expectClose(q, [...rotate(1, 2, 1), 3, 4]);
  });

  it('uses each row its own position', async () => {
    const b = backend();
    const q = tensor(b, 2, 4, [1, 0, 1, 0, 1, 0, 1, 0]);
    const k = tensor(b, 2, 4, [0, 0, 0, 0, 0, 0, 0, 0]);
    b.rope(q, k, index(b, [0, 5]), p);
    expectClose(await read(b, q), [1, 0, 1, 0, Math.cos(5), Math.sin(5), Math.cos(0.05), Math.sin(0.05)]);
  });
});
