// Exact attention: with `exact` (the default) the WebGPU backend's attention replays the CPU
// backend's (llama.cpp's non-flash soft_max and f16 dots, per-row single/batched kernels), so every
// output is bit-identical, including contexts past 64 cells, where ggml_vec_dot_f16's 64-lane
// loop covers the first cells and the rest are added in double, and past 2048 cells, where the
// probabilities no longer fit in workgroup memory.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceResource } from '../../../src/backends/backend.ts';
import { CpuBackend } from '../../../src/backends/cpu/index.ts';
import type { WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { randomArray, rng } from './differential.ts';
import { gpuPresent, openGpu } from './gpu.ts';

const present = await gpuPresent();

interface Case {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Cells already in the cache before the batch. */
  past: number;
  /** Rows of the batch, all of one sequence at positions past, past+1, ... */
  rows: number;
  seed: number;
}

async function attentionOn(b: Backend, c: Case): Promise<Int32Array> {
  const rnd = rng(c.seed);
  const kvDim = c.nKvHeads * c.headDim;
  const n = c.past + c.rows;
  const cache = b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: n, kvDim });
  const made: DeviceResource[] = [cache];
  const tensor = (rows: number, cols: number, data: Float32Array) => {
    const t = b.createTensor(rows, cols);
    b.writeTensor(t, data);
    made.push(t);
    return t;
  };
  const index = (v: number[]) => {
    const t = b.createIndex(v.length);
    b.writeIndex(t, Int32Array.from(v));
    made.push(t);
    return t;
  };
  const all = Array.from({ length: n }, (_, i) => i);
  b.describeBatch?.(new Int32Array(n).fill(n));
  b.storeKv(cache, 0, tensor(n, kvDim, randomArray(n * kvDim, rnd, 2)), tensor(n, kvDim, randomArray(n * kvDim, rnd)), index(new Array(n).fill(0)), index(all));
  const q = tensor(c.rows, c.nHeads * c.headDim, randomArray(c.rows * c.nHeads * c.headDim, rnd, 2));
  const out = b.createTensor(c.rows, c.nHeads * c.headDim);
  made.push(out);
  b.describeBatch?.(new Int32Array(c.rows).fill(c.rows));
  const positions = all.slice(c.past);
  b.attention(q, cache, 0, index(new Array(c.rows).fill(0)), index(positions), { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim) }, out);
  const got = await b.read(out);
  for (const r of made) b.release(r);
  return new Int32Array(got.buffer);
}

describe.skipIf(!present)('webgpu exact attention vs the CPU backend', () => {
  let gpu: WebGpuBackend;
  beforeAll(async () => {
    gpu = await openGpu();
  });
  afterAll(() => gpu?.dispose());

  it('every output bit-identical: decode rows and batches, GQA, head dims 16..128, up to 300 cells', async () => {
    const seed = Number(process.env.FC_SEED ?? Date.now());
    console.log(`webgpu exact attention seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom([4, 2], [8, 8], [6, 2]),
        fc.constantFrom(16, 48, 64, 128),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom(1, 1, 2, 5),
        fc.integer(),
        async ([nHeads, nKvHeads], headDim, past, rows, dataSeed) => {
          const c: Case = { nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, past, rows, seed: dataSeed };
          const want = await attentionOn(new CpuBackend(), c);
          const got = await attentionOn(gpu, c);
          expect(Array.from(got), JSON.stringify(c)).toEqual(Array.from(want));
        },
      ),
      { seed, numRuns: 12 },
    );
  });

  it('stays bit-identical past 2048 cells (probabilities in a storage scratch instead of workgroup memory)', async () => {
    const seed = Number(process.env.FC_SEED ?? Date.now());
    console.log(`webgpu exact long attention seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2030, max: 2400 }), fc.constantFrom(1, 3), fc.integer(), async (past, rows, dataSeed) => {
        const c: Case = { nHeads: 4, nKvHeads: 2, headDim: 64, past, rows, seed: dataSeed };
        const want = await attentionOn(new CpuBackend(), c);
        const got = await attentionOn(gpu, c);
        expect(Array.from(got), JSON.stringify(c)).toEqual(Array.from(want));
      }),
      { seed, numRuns: 4 },
    );
  });
});
