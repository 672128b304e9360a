// HIP exact numerics (the default) against the CPU backend, bit for bit: every output of the exact
// kernels (quantized matmuls through q8_quant/q8k_quant + matvec_q8*_exact[_lanes] / matmul_q8_exact,
// float-weight matvec_exact, attention_exact short and past 2048 cells, rmsnorm, rope, swiglu, add,
// getRows, gatherRows) must equal the CPU reference's float32 bits, in both kernel sets.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceResource, IndexTensor, Tensor, Weight } from '../../../src/backends/backend.ts';
import { CpuBackend } from '../../../src/backends/cpu/index.ts';
import type { HipBackend } from '../../../src/backends/hip/index.ts';
import { GgmlType, typeName } from '../../../src/gguf/types.ts';
import { pack } from '../webgpu/build.ts';
import { randomArray, rng } from '../webgpu/differential.ts';
import { hipPresent, openHip, seeded } from './hip.ts';

const present = await hipPresent();

const LEGACY = [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL];
const KQUANTS = [GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];
const FLOATS = [GgmlType.F32, GgmlType.F16, GgmlType.BF16];

/** Runs `build` on b and returns the output's float32 bits; releases what it made. */
async function bitsOn(b: Backend, build: (b: Backend, made: DeviceResource[]) => Promise<Tensor>): Promise<number[]> {
  const made: DeviceResource[] = [];
  const out = await build(b, made);
  const v = await b.read(out);
  for (const r of made) b.release(r);
  return Array.from(new Int32Array(v.buffer, v.byteOffset, v.length));
}

function tensor(b: Backend, made: DeviceResource[], rows: number, cols: number, data?: Float32Array): Tensor {
  const t = b.createTensor(rows, cols);
  made.push(t);
  if (data) b.writeTensor(t, data);
  return t;
}

function index(b: Backend, made: DeviceResource[], v: number[]): IndexTensor {
  const t = b.createIndex(v.length);
  made.push(t);
  b.writeIndex(t, Int32Array.from(v));
  return t;
}

async function weight(b: Backend, made: DeviceResource[], type: GgmlType, rows: number, cols: number, bytes: Uint8Array): Promise<Weight> {
  const w = await b.uploadWeight('w', type, rows, cols, bytes);
  made.push(w);
  return w;
}

describe.skipIf(!present)('hip exact kernels vs the CPU backend, bit for bit', () => {
  const gpus = new Map<string, HipBackend>();
  beforeAll(async () => {
    gpus.set('parallel', await openHip({ exactKernels: 'parallel' }));
    gpus.set('serial', await openHip({ exactKernels: 'serial' }));
  });
  afterAll(() => {
    for (const g of gpus.values()) g.dispose();
  });

  for (const kernels of ['parallel', 'serial']) {
    for (const type of [...LEGACY, ...KQUANTS, ...FLOATS]) {
      const block = KQUANTS.includes(type) ? 256 : FLOATS.includes(type) ? 1 : 32;
      it(`matmul ${typeName(type)} (${kernels} kernels): single rows, batches up to 40 rows, mixed sequences`, async () => {
        const gpu = gpus.get(kernels)!;
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(1, 2, 3, 4, 8, 9, 16, 19, 40),
            fc.constantFrom(3, 8, 13, 16, 70),
            block === 1 ? fc.integer({ min: 1, max: 300 }) : block === 32 ? fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(37)) : fc.integer({ min: 1, max: 3 }),
            fc.boolean(),
            fc.integer(),
            async (rows, outs, n, mixed, dataSeed) => {
              const cols = n * block;
              const rnd = rng(dataSeed);
              const w = pack(type, randomArray(outs * cols, rnd));
              const x = randomArray(rows * cols, rnd);
              const layout = Int32Array.from({ length: rows }, (_, r) => (mixed && rows >= 2 ? (r === 0 ? 1 : rows - 1) : rows));
              const run = (b: Backend) =>
                bitsOn(b, async (b, made) => {
                  const wt = await weight(b, made, type, outs, cols, w);
                  const xt = tensor(b, made, rows, cols, x);
                  const o = tensor(b, made, rows, outs);
                  b.describeBatch?.(layout);
                  b.matmul(wt, xt, o);
                  return o;
                });
              expect(await run(gpu), `rows ${rows} outs ${outs} cols ${cols} mixed ${mixed}`).toEqual(await run(new CpuBackend()));
            },
          ),
          { seed: seeded(`exact matmul ${typeName(type)} ${kernels}`), numRuns: 6 },
        );
      });
    }
  }

  for (const [label, maxPast, numRuns] of [['up to 300 cells', 300, 12], ['past 2048 cells', 2400, 4]] as const) {
    it(`attention ${label}: decode rows and batches, GQA, head dims 16..128`, async () => {
      const gpu = gpus.get('parallel')!;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom([4, 2], [8, 8], [6, 2], [32, 8]),
          fc.constantFrom(16, 48, 64, 128),
          fc.integer({ min: maxPast > 2048 ? 2030 : 0, max: maxPast }),
          fc.constantFrom(1, 1, 2, 5),
          fc.integer(),
          async ([nHeads, nKvHeads], headDim, past, rows, dataSeed) => {
            const rnd = rng(dataSeed);
            const kvDim = nKvHeads! * headDim;
            const n = past + rows;
            const k = randomArray(n * kvDim, rnd, 2);
            const v = randomArray(n * kvDim, rnd);
            const q = randomArray(rows * nHeads! * headDim, rnd, 2);
            const all = Array.from({ length: n }, (_, i) => i);
            const run = (b: Backend) =>
              bitsOn(b, async (b, made) => {
                const cache = b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: n, kvDim });
                made.push(cache);
                b.describeBatch?.(new Int32Array(n).fill(n));
                b.storeKv(cache, 0, tensor(b, made, n, kvDim, k), tensor(b, made, n, kvDim, v), index(b, made, new Array(n).fill(0)), index(b, made, all));
                const out = tensor(b, made, rows, nHeads! * headDim);
                b.describeBatch?.(new Int32Array(rows).fill(rows));
                const p = { nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, scale: 1 / Math.sqrt(headDim) };
                b.attention(tensor(b, made, rows, nHeads! * headDim, q), cache, 0, index(b, made, new Array(rows).fill(0)), index(b, made, all.slice(past)), p, out);
                return out;
              });
            expect(await run(gpu), `heads ${nHeads}/${nKvHeads} dim ${headDim} past ${past} rows ${rows}`).toEqual(await run(new CpuBackend()));
          },
        ),
        { seed: seeded(`exact attention ${label}`), numRuns },
      );
    });
  }

  it('rmsNorm, rope (normal, neox, partial), swiglu, add, getRows and gatherRows', async () => {
    const gpu = gpus.get('parallel')!;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 7 }), fc.constantFrom(256, 512, 2048, 4096), fc.boolean(), fc.constantFrom(GgmlType.F16, GgmlType.Q4_0, GgmlType.Q6_K), fc.integer(), async (rows, cols, neox, tableType, s) => {
        const rnd = rng(s);
        const x = randomArray(rows * cols, rnd, 3);
        const y = randomArray(rows * cols, rnd, 3);
        const w = randomArray(cols, rnd);
        const positions = Array.from({ length: rows }, () => Math.floor(((rnd() + 1) / 2) * 8000));
        const table = pack(tableType, randomArray(11 * cols, rnd));
        const ids = Array.from({ length: rows }, () => Math.floor(((rnd() + 1) / 2) * 11));
        const ops: Array<[string, (b: Backend, made: DeviceResource[]) => Promise<Tensor>]> = [
          ['rmsNorm', async (b, made) => {
            const o = tensor(b, made, rows, cols);
            b.rmsNorm(tensor(b, made, rows, cols, x), await weight(b, made, GgmlType.F32, 1, cols, pack(GgmlType.F32, w)), 1e-5, o);
            return o;
          }],
          ['rope', async (b, made) => {
            const q = tensor(b, made, rows, cols, x);
            const k = tensor(b, made, rows, cols / 2, y.subarray(0, (rows * cols) / 2));
            b.rope(q, k, index(b, made, positions), { nHeads: cols / 64, nKvHeads: cols / 128, headDim: 64, ropeDim: neox ? 32 : 64, freqBase: 500000, freqScale: 1, neox });
            return q;
          }],
          ['swiglu', async (b, made) => {
            const o = tensor(b, made, rows, cols);
            b.swiglu(tensor(b, made, rows, cols, x), tensor(b, made, rows, cols, y), o);
            return o;
          }],
          ['add', async (b, made) => {
            const a = tensor(b, made, rows, cols, x);
            b.add(a, tensor(b, made, rows, cols, y), a);
            return a;
          }],
          ['getRows', async (b, made) => {
            const o = tensor(b, made, rows, cols);
            b.getRows(await weight(b, made, tableType, 11, cols, table), index(b, made, ids), o);
            return o;
          }],
          ['gatherRows', async (b, made) => {
            const o = tensor(b, made, 2, cols);
            b.gatherRows(tensor(b, made, rows, cols, x), index(b, made, [rows - 1, 0]), o);
            return o;
          }],
        ];
        for (const [name, build] of ops) {
          expect(await bitsOn(gpu, build), `${name} ${rows}x${cols}`).toEqual(await bitsOn(new CpuBackend(), build));
        }
      }),
      { seed: seeded('exact elementwise'), numRuns: 8 },
    );
  });
});
