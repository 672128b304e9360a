// Exact quantized matmuls: with `exact` (the default) the WebGPU backend replays the CPU backend's
// quantized dots (activations quantized as quantizeQ8Rows / quantizeQ8KRows, integer block dots,
// ggml's float order), so every output is bit-identical to the CPU backend's.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../../src/backends/cpu/index.ts';
import type { Backend } from '../../../src/backends/backend.ts';
import type { WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { GgmlType, typeName } from '../../../src/gguf/types.ts';
import { pack } from './build.ts';
import { randomArray, rng } from './differential.ts';
import { gpuPresent, isSoftware, openGpu } from './gpu.ts';

const present = await gpuPresent();

const LEGACY = [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL];
const KQUANTS = [GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

async function matmulOn(b: Backend, type: GgmlType, outs: number, cols: number, w: Uint8Array, x: Float32Array, rows: number, layout: Int32Array): Promise<Int32Array> {
  const wt = await b.uploadWeight('w', type, outs, cols, w);
  const xt = b.createTensor(rows, cols);
  b.writeTensor(xt, x);
  const o = b.createTensor(rows, outs);
  b.describeBatch?.(layout);
  b.matmul(wt, xt, o);
  const out = await b.read(o);
  for (const r of [wt, xt, o]) b.release(r);
  return new Int32Array(out.buffer);
}

describe.skipIf(!present)('webgpu exact quantized matmuls vs the CPU backend', () => {
  // Both kernel sets run: 'serial' (one invocation per output) and 'parallel' (eight lanes per
  // output; tiles of 8 rows x 8 outputs for batches of 8+ rows of legacy types).
  const gpus = new Map<boolean, WebGpuBackend>();
  beforeAll(async () => {
    for (const lanes of [false, true]) gpus.set(lanes, await openGpu({ exactKernels: lanes ? 'parallel' : 'serial' }));
  });
  afterAll(() => {
    for (const g of gpus.values()) g.dispose();
  });

  const variants = [
    ...LEGACY.flatMap((type) => [false, true].map((lanes) => ({ type, lanes }))),
    ...KQUANTS.flatMap((type) => [false, true].map((lanes) => ({ type, lanes }))),
  ];
  for (const { type, lanes } of variants) {
    const block = KQUANTS.includes(type) ? 256 : 32;
    const kernel = lanes ? ', parallel kernels' : ', serial kernels';
    it(`${typeName(type)}${kernel}: every output bit-identical (single rows, batches up to 19 rows, mixed sequences, 8k-row Q4_0 repacking)`, async () => {
      const gpu = gpus.get(lanes)!;
      // lavapipe runs the lanes kernel's barriers slowly: fewer cases there.
      const numRuns = lanes && isSoftware(gpu) ? 3 : 6;
      const seed = Date.now();
      console.log(`webgpu exact ${typeName(type)} seed ${seed}`);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(1, 2, 3, 4, 9, 16, 19),
          fc.constantFrom(3, 8, 13, 16),
          // 37 blocks: past the tiled kernel's 16-block chunks, ending in a partial one.
          block === 32 ? fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(37)) : fc.integer({ min: 1, max: 2 }),
          fc.boolean(),
          fc.integer(),
          async (rows, outs, nBlocks, mixed, dataSeed) => {
            const cols = nBlocks * block;
            const rnd = rng(dataSeed);
            const w = pack(type, randomArray(outs * cols, rnd));
            const x = randomArray(rows * cols, rnd);
            // mixed: the first row is a lone decode row beside a sequence of the others.
            const layout = Int32Array.from({ length: rows }, (_, r) => (mixed && rows >= 2 ? (r === 0 ? 1 : rows - 1) : rows));
            const cpu = new CpuBackend();
            const want = await matmulOn(cpu, type, outs, cols, w, x, rows, layout);
            const got = await matmulOn(gpu, type, outs, cols, w, x, rows, layout);
            expect(Array.from(got), `rows ${rows} outs ${outs} cols ${cols}`).toEqual(Array.from(want));
          },
        ),
        { seed, numRuns },
      );
    });
  }
});
