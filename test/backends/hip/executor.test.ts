// The HIP executor's host logic on a fake runtime (fake-hip.ts), so it runs everywhere: one native
// submit per batch of work, the packed records (params as u32 / f32 bits, buffers, reduce flag),
// graphs (eager, then capture on the second sighting, replay with new inputs, update when only
// parameters change), deferred frees, and typed errors that leave the executor usable.
import { describe, expect, it } from 'vitest';
import type { DeviceBuffer } from '../../../src/backends/gpu/executor.ts';
import { KERNELS } from '../../../src/backends/gpu/kernels.ts';
import { HipBackend } from '../../../src/backends/hip/index.ts';
import { HipExecutor, type HipExecutorOptions } from '../../../src/backends/hip/hip-executor.ts';
import type { DeviceInfo, NativeStream } from '../../../src/backends/hip/native.ts';
import { DeviceOutOfMemoryError, KernelLaunchError, RocforgeError } from '../../../src/errors.ts';
import { GgufFile } from '../../../src/gguf/reader.ts';
import { GgmlType } from '../../../src/gguf/types.ts';
import { Model } from '../../../src/model/model.ts';
import { hasShared, sharedPath } from '../../helpers/shared.ts';
import { FakeHip } from './fake-hip.ts';

const INFO: DeviceInfo = {
  name: 'Fake GPU',
  arch: 'gfx000',
  platform: 'amd',
  totalBytes: 1 << 24,
  freeBytes: 1 << 24,
  warpSize: 64,
  multiprocessors: 1,
  deviceIndex: 0,
  deviceCount: 1,
  runtimeVersion: 0,
  driverVersion: 0,
};

const NAMES = Object.values(KERNELS)
  .map((k) => k.name)
  .sort();

function open(opts: HipExecutorOptions = {}): { fake: FakeHip; ex: HipExecutor } {
  const fake = new FakeHip(NAMES);
  return { fake, ex: new HipExecutor(fake, {} as NativeStream, INFO, opts) };
}

function f32bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** One "forward pass": write the inputs, add, read the output. */
async function step(ex: HipExecutor, a: DeviceBuffer, b: DeviceBuffer, o: DeviceBuffer, x: number[], n = x.length): Promise<number[]> {
  ex.write(a, f32bytes(x));
  ex.dispatch({ kernel: KERNELS.add, dequant: undefined, params: [n, 0, 0], buffers: [a, b, o], groups: [1, 1, 1], variant: 0 });
  return Array.from(new Float32Array((await ex.read(o, n * 4)).buffer));
}

describe('HipExecutor on a fake runtime', () => {
  it('packs a batch of dispatches and writes into ONE native submit, in order, params as u32 and f32 bits', async () => {
    const { fake, ex } = open();
    const bufs = Array.from({ length: 4 }, (_, i) => ex.alloc(64, `t${i}`, 'tensor').buf);
    ex.write(bufs[0]!, f32bytes([1, 2, 3]));
    for (let i = 0; i < 40; i++) {
      ex.dispatch({ kernel: KERNELS.rmsNorm, dequant: undefined, params: [i, { f: 1e-5 }], buffers: [bufs[0]!, bufs[1]!, bufs[2]!], groups: [i + 1, 2, 1], variant: 0 });
    }
    ex.dispatch({ kernel: KERNELS.matvec, dequant: GgmlType.Q4_K, params: [{ f: -2.5 }], buffers: bufs, groups: [3, 1, 1], variant: 4 });
    ex.dispatch({ kernel: KERNELS.add, dequant: undefined, params: [3, 0, 0], buffers: bufs.slice(0, 3), groups: [0, 1, 1], variant: 0 });
    await ex.read(bufs[1]!, 12);
    expect(fake.calls.filter((c) => c === 'submit')).toHaveLength(1);
    expect(ex.counters).toEqual({ dispatches: 41, submits: 1 });
    expect(fake.launches).toHaveLength(41); // the empty grid ran nothing
    expect(fake.launches[7]).toEqual({ kernel: 'rmsnorm', groups: [8, 2, 1], wg: 256, dequant: 0, variant: 0, reduce: 0, params: [7, 0x3727c5ac], buffers: [1, 2, 3] });
    expect(fake.launches[40]).toEqual({ kernel: 'matvec', groups: [3, 1, 1], wg: 64, dequant: GgmlType.Q4_K, variant: 4, reduce: 1, params: [0xc0200000], buffers: [1, 2, 3, 4] });
    expect(Array.from(new Float32Array(fake.buffers.get(1)!.buffer, 0, 3))).toEqual([1, 2, 3]);
  });

  it('zeroes every buffer but weights, as WebGPU does', () => {
    const { fake, ex } = open();
    const t = ex.alloc(10, 'kv', 'kv').buf;
    const w = ex.alloc(8, 'w', 'weight').buf;
    expect(t.size).toBe(12);
    expect(Array.from(fake.buffers.get(t.id)!)).toEqual(new Array(12).fill(0));
    expect(fake.buffers.get(w.id)![0]).toBe(0xcd);
  });

  it('runs a repeating list eagerly, then captures it, then replays it with the new inputs; a parameter change updates the graph', async () => {
    const { fake, ex } = open();
    const [a, b, o] = ['a', 'b', 'o'].map((l) => ex.alloc(16, l, 'tensor').buf) as [DeviceBuffer, DeviceBuffer, DeviceBuffer];
    ex.write(b, f32bytes([10, 20, 30, 40]));
    expect(await step(ex, a, b, o, [1, 2, 3, 4])).toEqual([11, 22, 33, 44]);
    expect(await step(ex, a, b, o, [5, 6, 7, 8])).toEqual([15, 26, 37, 48]);
    expect(await step(ex, a, b, o, [0.5, 0, 0, 1])).toEqual([10.5, 20, 30, 41]);
    expect(await step(ex, a, b, o, [2, 2, 2, 2])).toEqual([12, 22, 32, 42]);
    // The first list carried b's write too; the next three are identical apart from their data.
    expect(fake.calls.filter((c) => ['submit', 'capture', 'replay', 'update'].includes(c))).toEqual(['submit', 'submit', 'capture', 'replay']);
    expect(ex.graphCount).toBe(1);
    expect(await step(ex, a, b, o, [1, 1, 1, 0], 3)).toEqual([11, 21, 31]);
    expect(fake.calls.at(-1)).toBe('update');
    expect(await step(ex, a, b, o, [1, 1, 1, 1], 3)).toEqual([11, 21, 31]);
    expect(fake.calls.at(-1)).toBe('replay');
    expect(ex.graphCount).toBe(1);
  });

  it('graphs off: every list is submitted eagerly', async () => {
    const { fake, ex } = open({ graphs: false });
    const [a, b, o] = ['a', 'b', 'o'].map((l) => ex.alloc(16, l, 'tensor').buf) as [DeviceBuffer, DeviceBuffer, DeviceBuffer];
    for (let i = 0; i < 3; i++) await step(ex, a, b, o, [i, i, i, i]);
    expect(fake.calls.filter((c) => c !== 'submit' && c !== 'syncAsync')).toEqual([]);
  });

  it('frees a buffer only after the work recorded before its release has run, and drops graphs that name it', async () => {
    const { fake, ex } = open();
    const [a, b, o] = ['a', 'b', 'o'].map((l) => ex.alloc(16, l, 'tensor').buf) as [DeviceBuffer, DeviceBuffer, DeviceBuffer];
    for (let i = 0; i < 3; i++) await step(ex, a, b, o, [i, i, i, i]);
    expect(fake.liveGraphs).toBe(1);
    const extra = ex.alloc(16, 'extra', 'tensor').buf;
    ex.dispatch({ kernel: KERNELS.add, dequant: undefined, params: [4, 0, 0], buffers: [a, extra, o], groups: [1, 1, 1], variant: 0 });
    ex.free(extra);
    ex.free(b);
    expect(fake.freed).toEqual([]);
    await ex.read(o, 16);
    expect(fake.freed.sort()).toEqual([b.id, extra.id].sort());
    expect(fake.liveGraphs).toBe(0);
    expect(ex.graphCount).toBe(0);
  });

  it('an allocation that runs out of memory fails the next read with DeviceOutOfMemoryError; the executor stays usable', async () => {
    const { fake, ex } = open();
    fake.memory = 64;
    const a = ex.alloc(16, 'a', 'tensor').buf;
    const big = ex.alloc(1024, 'big', 'scratch');
    expect(await big.check).toMatch(/^out of memory allocating big/);
    ex.dispatch({ kernel: KERNELS.add, dequant: undefined, params: [4, 0, 0], buffers: [a, a, big.buf], groups: [1, 1, 1], variant: 0 });
    await expect(ex.read(a, 16)).rejects.toBeInstanceOf(DeviceOutOfMemoryError);
    ex.free(big.buf);
    ex.write(a, f32bytes([1, 2, 3, 4]));
    expect(Array.from(new Float32Array((await ex.read(a, 16)).buffer))).toEqual([1, 2, 3, 4]);
    // A weight's failure is its caller's to report: the next read is not failed by it.
    expect(await ex.alloc(1 << 20, 'w', 'weight').check).toMatch(/^out of memory/);
    await expect(ex.read(a, 16)).resolves.toHaveLength(16);
  });

  it('a kernel that fails to launch is a KernelLaunchError naming it; the next pass runs', async () => {
    const { fake, ex } = open();
    const [a, b, o] = ['a', 'b', 'o'].map((l) => ex.alloc(16, l, 'tensor').buf) as [DeviceBuffer, DeviceBuffer, DeviceBuffer];
    fake.failKernel = 'add';
    const err = await step(ex, a, b, o, [1, 2, 3, 4]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelLaunchError);
    expect((err as KernelLaunchError).kernel).toBe('add');
    expect((err as Error).message).toMatch(/kernel add failed to launch/);
    fake.failKernel = undefined;
    expect(await step(ex, a, b, o, [1, 2, 3, 4])).toEqual([1, 2, 3, 4]);
  });

  it('a fault while running marks the device lost: later calls fail with the reason', async () => {
    const { fake, ex } = open();
    const [a, b, o] = ['a', 'b', 'o'].map((l) => ex.alloc(16, l, 'tensor').buf) as [DeviceBuffer, DeviceBuffer, DeviceBuffer];
    fake.faultNextWait = true;
    await expect(step(ex, a, b, o, [1, 2, 3, 4])).rejects.toThrow(/illegal memory access/);
    expect(ex.lost).toMatch(/ROCFORGE_HIP_SYNC=1/);
    expect(() => ex.alloc(4, 'x', 'tensor')).toThrow(RocforgeError);
  });

  it('a kernel missing from the library is named when it is dispatched', () => {
    const fake = new FakeHip(['add']);
    const ex = new HipExecutor(fake, {} as NativeStream, INFO);
    const t = ex.alloc(16, 't', 'tensor').buf;
    expect(() => ex.dispatch({ kernel: KERNELS.rope, dequant: undefined, params: [], buffers: [t], groups: [1, 1, 1], variant: 0 })).toThrow(
      /has no kernel rope.*npm run build:hip/,
    );
  });

  it('large writes are uploaded directly after the recorded work; small ones ride in the list', async () => {
    const { fake, ex } = open();
    const big = ex.alloc(2 << 20, 'big', 'weight').buf;
    const small = ex.alloc(16, 'small', 'tensor').buf;
    ex.write(small, f32bytes([1, 2, 3, 4]));
    ex.write(big, new Uint8Array(2 << 20).fill(7));
    expect(fake.calls).toEqual(['submit', 'upload']);
    expect(fake.buffers.get(big.id)![12345]).toBe(7);
    expect(Array.from(new Float32Array((await ex.read(small, 16)).buffer))).toEqual([1, 2, 3, 4]);
  });

  it('GpuBackend runs its planned ops through the executor (add with aliasing), memory back to baseline', async () => {
    const { fake, ex } = open();
    const b = new HipBackend(ex);
    const base = b.memoryInUse();
    const x = b.createTensor(2, 3);
    const y = b.createTensor(2, 3);
    b.writeTensor(x, Float32Array.of(1, 2, 3, 4, 5, 6));
    b.writeTensor(y, Float32Array.of(0.5, 0.5, 0.5, 1, 1, 1));
    b.add(x, y, x);
    expect(Array.from(await b.read(x))).toEqual([1.5, 2.5, 3.5, 5, 6, 7]);
    b.release(x);
    b.release(y);
    expect(b.memoryInUse()).toBe(base);
    await b.sync();
    b.dispose();
    expect(fake.calls.at(-1)).toBe('streamDestroy');
    expect(fake.buffers.size).toBe(0);
  });

  // The model graph's decode steps must record identical lists (same scratch buffers, same params)
  // for graphs to pay off: checked here on the real model's dispatches (the fake computes nothing).
  it.skipIf(!hasShared('models', 'stories260K-Q4_K_M.gguf'))('a model decode runs one submit per step and replays one graph, updated when attention grows past 32 cells', async () => {
    const { fake, ex } = open();
    fake.memory = 1 << 30;
    const b = new HipBackend(ex);
    const file = await GgufFile.open(sharedPath('models', 'stories260K-Q4_K_M.gguf'));
    const model = await Model.load(file, b);
    await file.close();
    const cache = model.createKvCache(2, 64);
    let tokens = [1, 346, 306, 414];
    let pos = 0;
    for (let step = 0; step < 40; step++) {
      const n = tokens.length;
      await model.forward({ tokens: Int32Array.from(tokens), slots: new Int32Array(n).fill(1), positions: Int32Array.from(tokens, (_, i) => pos + i), logitRows: Int32Array.of(n - 1) }, cache);
      pos += n;
      tokens = [5 + step];
    }
    const runs = fake.calls.filter((c) => ['submit', 'capture', 'replay', 'update'].includes(c));
    // Step 0 is the prompt, step 1 the first decode row; step 2 repeats step 1: captured. Position
    // 32 (step 29) takes exact attention's cell count from 32 to 64: one update, then replays.
    expect(runs).toEqual(['submit', 'submit', 'capture', ...new Array(26).fill('replay'), 'update', ...new Array(10).fill('replay')]);
    expect(ex.graphCount).toBe(1);
    b.release(cache);
    model.dispose();
    b.dispose();
  });
});
