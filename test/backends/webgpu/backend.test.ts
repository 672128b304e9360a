// WebGPU backend behaviour beyond single ops: weights split over bindings, typed out-of-memory
// errors that leave the backend usable, memory accounting, ordering of host writes, validation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuWeight } from '../../../src/backends/gpu/resources.ts';
import type { WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { NMSE_THRESHOLDS } from '../../../src/diff/thresholds.ts';
import { DeviceOutOfMemoryError } from '../../../src/errors.ts';
import { GgmlType } from '../../../src/gguf/types.ts';
import { UnsupportedTensorTypeError } from '../../../src/quant/registry.ts';
import { indexOf, pack, tensorOf, weightOf } from './build.ts';
import { differential, randomArray, rng } from './differential.ts';
import { gpuPresent, openGpu } from './gpu.ts';

const present = await gpuPresent();
const keep = <T>(r: T): T => r;

describe.skipIf(!present)('webgpu backend', () => {
  let gpu: WebGpuBackend;
  beforeAll(async () => {
    gpu = await openGpu();
  });
  afterAll(() => gpu?.dispose());

  describe('weights larger than the binding limit (forced to 4 KiB for weights)', () => {
    let small: WebGpuBackend;
    beforeAll(async () => {
      small = await openGpu({ maxBindingBytes: 4096 });
    });
    afterAll(() => small?.dispose());

    for (const [type, cols] of [[GgmlType.Q4_0, 64], [GgmlType.Q6_K, 256], [GgmlType.F32, 30]] as const) {
      it(`splits a ${type === GgmlType.F32 ? 'F32' : type === GgmlType.Q4_0 ? 'Q4_0' : 'Q6_K'} weight by rows and still matches the CPU in matmul (both kernels) and getRows`, async () => {
        const rnd = rng(7);
        const rows = 150;
        const packed = pack(type, randomArray(rows * cols, rnd));
        const w = await small.uploadWeight('big', type, rows, cols, packed);
        expect(w).toBeInstanceOf(GpuWeight);
        const parts = (w as GpuWeight).parts;
        expect(parts.length).toBeGreaterThan(1);
        expect(parts.every((p) => p.buf.size <= 4096)).toBe(true);
        expect(parts.reduce((s, p) => s + p.rows, 0)).toBe(rows);
        small.release(w);
        for (const n of [2, 20]) {
          const x = randomArray(n * cols, rnd);
          const r = await differential(small, async (b, track) => {
            const out = track(b.createTensor(n, rows));
            b.matmul(await weightOf(b, track, 'big', type, rows, cols, packed), tensorOf(b, track, n, cols, x), out);
            return { out };
          });
          expect(r.nmse, `${n} rows`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
        }
        const ids = [0, 149, 75, 3, 120, 149];
        const g = await differential(small, async (b, track) => {
          const out = track(b.createTensor(ids.length, cols));
          b.getRows(await weightOf(b, track, 'big', type, rows, cols, packed), indexOf(b, track, ids), out);
          return { out };
        });
        expect(g.nmse).toBeLessThanOrEqual(NMSE_THRESHOLDS.getRows);
      });
    }

    it("refuses a tensor or a KV-cache layer above the device's binding limit with DeviceOutOfMemoryError", () => {
      const limit = small.deviceBindingBytes;
      const cols = Math.ceil(limit / 4 / 2) + 1;
      expect(() => small.createTensor(2, cols)).toThrow(DeviceOutOfMemoryError);
      expect(() => small.createTensor(2, cols)).toThrow(/largest binding/);
      expect(() => small.createKvCache({ nLayers: 1, nSlots: 1, contextLength: cols, kvDim: 4 })).toThrow(DeviceOutOfMemoryError);
      expect(small.memoryInUse()).toBe(0);
    });
  });

  describe('out of memory', () => {
    it('a model that does not fit gives DeviceOutOfMemoryError, and the backend then runs a smaller one', async () => {
      const b = await openGpu({ memoryBudgetBytes: 64 * 1024 });
      try {
        const fits = await b.uploadWeight('small', GgmlType.F32, 16, 16, pack(GgmlType.F32, new Float32Array(256).fill(0.5)));
        const before = b.memoryInUse();
        await expect(b.uploadWeight('huge', GgmlType.F32, 256, 256, new Uint8Array(256 * 256 * 4))).rejects.toThrow(DeviceOutOfMemoryError);
        expect(() => b.createKvCache({ nLayers: 4, nSlots: 1, contextLength: 512, kvDim: 64 })).toThrow(DeviceOutOfMemoryError);
        expect(b.memoryInUse()).toBe(before);
        const x = b.createTensor(1, 16);
        b.writeTensor(x, new Float32Array(16).fill(1));
        const out = b.createTensor(1, 16);
        b.matmul(fits, x, out);
        expect(Array.from(await b.read(out))).toEqual(new Array(16).fill(8));
      } finally {
        b.dispose();
      }
    });
  });

  it('returns memoryInUse to its baseline after release, even for resources used by ops not yet submitted', async () => {
    const base = gpu.memoryInUse();
    const w = await gpu.uploadWeight('w', GgmlType.Q8_0, 8, 64, pack(GgmlType.Q8_0, randomArray(8 * 64, rng(3))));
    const x = gpu.createTensor(2, 64);
    const out = gpu.createTensor(2, 8);
    const cache = gpu.createKvCache({ nLayers: 2, nSlots: 2, contextLength: 16, kvDim: 8 });
    expect(gpu.memoryInUse()).toBe(base + (8 * 68 + 2 * 64 * 4 + 2 * 8 * 4 + 2 * 2 * 2 * 16 * 8 * 2));
    gpu.matmul(w, x, out);
    gpu.release(w); // still referenced by the pending matmul: destroyed after the submit
    const keepOut = gpu.createTensor(1, 1);
    await gpu.read(keepOut);
    for (const r of [x, out, cache, keepOut]) gpu.release(r);
    expect(gpu.memoryInUse()).toBe(base);
    await expect(gpu.read(out)).rejects.toThrow(/released/);
  });

  it('runs ops in program order around host writes (a write does not overtake earlier ops)', async () => {
    const a = tensorOf(gpu, keep, 1, 4, Float32Array.of(1, 2, 3, 4));
    const b = tensorOf(gpu, keep, 1, 4, Float32Array.of(10, 20, 30, 40));
    const out = gpu.createTensor(1, 4);
    gpu.add(a, b, out);
    gpu.writeTensor(a, Float32Array.of(100, 200, 300, 400));
    const out2 = gpu.createTensor(1, 4);
    gpu.add(a, b, out2);
    expect(Array.from(await gpu.read(out))).toEqual([11, 22, 33, 44]);
    expect(Array.from(await gpu.read(out2))).toEqual([110, 220, 330, 440]);
    for (const r of [a, b, out, out2]) gpu.release(r);
  });

  it('re-rounds a matmul input that changed between two matmuls of one pass', async () => {
    // Q8_0 weights round x to Q8_0 blocks; the rounded copy must follow writes to x by ops.
    const rnd = rng(11);
    const packed = pack(GgmlType.Q8_0, randomArray(4 * 32, rnd));
    const xv = randomArray(32, rnd);
    const r = await differential(gpu, async (be, track) => {
      const w = await weightOf(be, track, 'w', GgmlType.Q8_0, 4, 32, packed);
      const x = tensorOf(be, track, 1, 32, xv);
      const first = track(be.createTensor(1, 4));
      be.matmul(w, x, first);
      be.add(x, x, x); // x doubles in place
      const second = track(be.createTensor(1, 4));
      be.matmul(w, x, second);
      return { out: second, extra: [first] };
    });
    expect(r.nmse).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
    expect(r.extraNmse[0]).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
    expect(r.got[0]).not.toBeCloseTo(0, 6);
  });

  it('rejects what it cannot run with typed, specific errors', async () => {
    await expect(gpu.uploadWeight('iq2', GgmlType.IQ2_XXS, 1, 256, new Uint8Array(66))).rejects.toThrow(UnsupportedTensorTypeError);
    await expect(gpu.uploadWeight('q4', GgmlType.Q4_0, 2, 48, new Uint8Array(64))).rejects.toThrow(/multiple of Q4_0's block of 32/);
    await expect(gpu.uploadWeight('short', GgmlType.F32, 2, 4, new Uint8Array(16))).rejects.toThrow(/16 bytes given/);
    const table = await gpu.uploadWeight('t', GgmlType.F32, 3, 4, new Uint8Array(48));
    const ids = indexOf(gpu, keep, [0, 3]);
    expect(() => gpu.getRows(table, ids, gpu.createTensor(2, 4))).toThrow(/id 3 is outside t's 3 rows/);
    const cache = gpu.createKvCache({ nLayers: 1, nSlots: 1, contextLength: 4, kvDim: 4 });
    const k = gpu.createTensor(1, 4);
    expect(() => gpu.storeKv(cache, 0, k, k, indexOf(gpu, keep, [0]), indexOf(gpu, keep, [4]))).toThrow(/position 4 is outside/);
    expect(() => gpu.storeKv(cache, 1, k, k, indexOf(gpu, keep, [0]), indexOf(gpu, keep, [0]))).toThrow(/layer 1/);
    expect(() => gpu.matmul(table, k, k)).toThrow(/must not alias|must be 1x3/);
  });
});
