import { describe, expect, it } from 'vitest';
import type { AttentionParams } from '../../../src/backends/backend.ts';
import { f16ToF32, f32ToF16 } from '../../../src/quant/float.ts';
import { backend, index, read, tensor } from './helpers.ts';

// headDim 2; 2 query heads share 1 KV head (GQA). All values are exact in f16.
const p: AttentionParams = { nHeads: 2, nKvHeads: 1, headDim: 2, scale: 1 };

/** Softmax weights as the backend uses them: rounded to f16, as llama.cpp does before probs·V. */
function softmax(s: number[]): number[] {
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => f16ToF32(f32ToF16(x / z)));
}

function expectClose(got: number[], want: number[], digits = 6) {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, digits));
}

describe('cpu storeKv + attention', () => {
  it('is causal per row: a prompt batch row sees only positions up to its own', async () => {
    const b = backend();
    const cache = b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: 4, kvDim: 2 });
    const slots = index(b, [0, 0]);
    const pos = index(b, [0, 1]);
    const k = tensor(b, 2, 2, [1, 0, 0, 1]);
    const v = tensor(b, 2, 2, [10, 20, 30, 40]);
    b.storeKv(cache, 0, k, v, slots, pos);
    // head 0 queries (1, 0), head 1 queries (0, 2); same q in both rows.
    const q = tensor(b, 2, 4, [1, 0, 0, 2, 1, 0, 0, 2]);
    const out = b.createTensor(2, 4);
    b.attention(q, cache, 0, slots, pos, p, out);
    const got = await read(b, out);
    // Row 0 (position 0) only has v0, whatever the scores.
    expectClose(got.slice(0, 4), [10, 20, 10, 20]);
    // Row 1: head 0 scores (q·k0, q·k1) = (1, 0); head 1 scores = (0, 2).
    const [a0, a1] = softmax([1, 0]);
    const [c0, c1] = softmax([0, 2]);
    expectClose(got.slice(4), [a0! * 10 + a1! * 30, a0! * 20 + a1! * 40, c0! * 10 + c1! * 30, c0! * 20 + c1! * 40], 4);
  });

  it('applies the scale to the scores before the softmax', async () => {
    const b = backend();
    const cache = b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: 2, kvDim: 2 });
    const slots = index(b, [0, 0]);
    const pos = index(b, [0, 1]);
    b.storeKv(cache, 0, tensor(b, 2, 2, [2, 0, 0, 0]), tensor(b, 2, 2, [1, 0, 0, 1]), slots, pos);
    const out = b.createTensor(1, 2);
    const one = { nHeads: 1, nKvHeads: 1, headDim: 2, scale: 0.25 };
    b.attention(tensor(b, 1, 2, [2, 0]), cache, 0, index(b, [0]), index(b, [1]), one, out);
    // scores (4, 0) * 0.25 = (1, 0)
    const [w0, w1] = softmax([1, 0]);
    expectClose(await read(b, out), [w0!, w1!]);
  });

  it('keeps slots apart: rows of different sequences in one batch see only their own slot', async () => {
    const b = backend();
    const cache = b.createKvCache({ nLayers: 2, nSlots: 3, contextLength: 4, kvDim: 2 });
    // Slot 2 gets two positions, slot 0 one; interleaved in one batch.
    const slots = index(b, [2, 0, 2]);
    const pos = index(b, [0, 0, 1]);
    b.storeKv(cache, 1, tensor(b, 3, 2, [0, 0, 0, 0, 0, 0]), tensor(b, 3, 2, [1, 2, 5, 6, 3, 4]), slots, pos);
    const q = tensor(b, 3, 4, new Array(12).fill(1));
    const out = b.createTensor(3, 4);
    b.attention(q, cache, 1, slots, pos, p, out);
    // Equal scores (k = 0): row 0 = v(slot2,pos0), row 1 = v(slot0,pos0), row 2 = mean of slot 2's two values.
    expectClose(await read(b, out), [1, 2, 1, 2, 5, 6, 5, 6, 2, 3, 2, 3]);
    // Layer 0 was never written: its values are zero.
    const out0 = b.createTensor(3, 4);
    b.attention(q, cache, 0, slots, pos, p, out0);
    expect(await read(b, out0)).toEqual(new Array(12).fill(0));
  });

  it('stores keys and values rounded to f16, as llama.cpp\'s default KV cache does', async () => {
    const b = backend();
    const cache = b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: 1, kvDim: 1 });
    b.storeKv(cache, 0, tensor(b, 1, 1, [0]), tensor(b, 1, 1, [0.1]), index(b, [0]), index(b, [0]));
    const out = b.createTensor(1, 1);
    b.attention(tensor(b, 1, 1, [1]), cache, 0, index(b, [0]), index(b, [0]), { nHeads: 1, nKvHeads: 1, headDim: 1, scale: 1 }, out);
    const got = (await read(b, out))[0]!;
    expect(got).toBe(f16ToF32(f32ToF16(0.1)));
    expect(got).not.toBe(Math.fround(0.1));
  });

  it('rejects positions outside the context and slots outside the cache', async () => {
    const b = backend();
    const cache = b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: 2, kvDim: 2 });
    const k = tensor(b, 1, 2, [1, 1]);
    expect(() => b.storeKv(cache, 0, k, k, index(b, [0]), index(b, [2]))).toThrow(/position 2 is outside .* context of 2/);
    expect(() => b.storeKv(cache, 0, k, k, index(b, [1]), index(b, [0]))).toThrow(/slot 1 is outside/);
    expect(() => b.storeKv(cache, 1, k, k, index(b, [0]), index(b, [0]))).toThrow(/layer 1 is outside/);
  });
});
