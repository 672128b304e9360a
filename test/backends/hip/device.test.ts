// The HIP runtime on a real GPU: decode steps replayed from captured graphs compute the same bits as
// eager launches; a kernel that cannot launch is a KernelLaunchError naming it and the backend keeps
// working; running out of device memory is a DeviceOutOfMemoryError and the backend keeps working.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import { KERNELS } from '../../../src/backends/gpu/kernels.ts';
import type { HipBackend } from '../../../src/backends/hip/index.ts';
import { DeviceOutOfMemoryError, KernelLaunchError } from '../../../src/errors.ts';
import { GgufFile } from '../../../src/gguf/reader.ts';
import { Model } from '../../../src/model/model.ts';
import { hasShared, sharedPath } from '../../helpers/shared.ts';
import { hipPresent, openHip } from './hip.ts';

const present = await hipPresent();
const MODEL = 'stories260K-Q4_K_M.gguf';

/** 40 greedy decode steps of one sequence after a short prompt; every step's logits bits. */
async function decode(b: Backend): Promise<number[][]> {
  const file = await GgufFile.open(sharedPath('models', MODEL));
  const model = await Model.load(file, b);
  await file.close();
  const cache = model.createKvCache(2, 64);
  const out: number[][] = [];
  let tokens = [1, 346, 306, 414];
  let pos = 0;
  for (let step = 0; step < 40; step++) {
    const n = tokens.length;
    const logits = await model.forward(
      { tokens: Int32Array.from(tokens), slots: new Int32Array(n).fill(1), positions: Int32Array.from(tokens, (_, i) => pos + i), logitRows: Int32Array.of(n - 1) },
      cache,
    );
    pos += n;
    const row = logits.slice(0, model.hparams.vocabSize);
    out.push(Array.from(new Int32Array(row.buffer)));
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
    tokens = [best];
  }
  b.release(cache);
  model.dispose();
  return out;
}

describe.skipIf(!present)('hip runtime on the GPU', () => {
  let gpu: HipBackend;
  beforeAll(async () => {
    gpu = await openHip();
    console.log(`hip device: ${gpu.deviceDescription}`);
  });
  afterAll(() => gpu?.dispose());

  it.skipIf(!hasShared('models', MODEL))('decode steps replayed from graphs give the same bits as eager launches', async () => {
    const eager = await openHip({ graphs: false });
    try {
      const want = await decode(eager);
      const submitsBefore = gpu.hip.counters.submits;
      const before = { ...gpu.hip.graphPlans };
      const got = await decode(gpu);
      const plans = gpu.hip.graphPlans;
      console.log(`hip graphs: ${JSON.stringify(plans)}, ${gpu.hip.counters.submits - submitsBefore} submits`);
      expect(gpu.hip.graphsOff).toBeUndefined();
      // 40 steps: the prompt and the first decode step eagerly, then captured once and replayed
      // (one update when exact attention's cell count passes 32). The graphs go with the model's buffers.
      expect(plans.capture - before.capture).toBe(1);
      expect(plans.replay - before.replay).toBeGreaterThanOrEqual(35);
      expect(gpu.hip.counters.submits - submitsBefore).toBeLessThanOrEqual(45);
      expect(got).toEqual(want);
    } finally {
      eager.dispose();
    }
  });

  it('a kernel that cannot launch is a KernelLaunchError naming it; the next pass runs', async () => {
    const t = gpu.createTensor(1, 4);
    const base = gpu.memoryInUse();
    const buf = gpu.hip.alloc(16, 'x', 'tensor').buf;
    // A workgroup larger than any kernel takes: the launch is refused.
    gpu.hip.dispatch({ kernel: { ...KERNELS.add, wg: 4096 }, dequant: undefined, params: [4, 0, 0], buffers: [buf, buf, buf], groups: [1, 1, 1], variant: 0 });
    const err = await gpu.read(t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelLaunchError);
    expect((err as KernelLaunchError).kernel).toBe('add');
    gpu.hip.free(buf);
    gpu.writeTensor(t, Float32Array.of(1, 2, 3, 4));
    gpu.add(t, t, t);
    expect(Array.from(await gpu.read(t))).toEqual([2, 4, 6, 8]);
    gpu.release(t);
    expect(gpu.memoryInUse()).toBe(base - 16);
  });

  it('a KV cache larger than the GPU is a DeviceOutOfMemoryError; the backend keeps serving', async () => {
    const base = gpu.memoryInUse();
    const total = gpu.hip.device.totalBytes;
    // Layers of 1 GiB until past the device's memory.
    const nLayers = Math.ceil(total / 2 ** 31) + 2;
    let err: unknown;
    try {
      const cache = gpu.createKvCache({ nLayers, nSlots: 1, contextLength: 2 ** 17, kvDim: 4096 });
      const t = gpu.createTensor(1, 4);
      err = await gpu.read(t).catch((e: unknown) => e);
      gpu.release(t);
      gpu.release(cache);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceOutOfMemoryError);
    expect(gpu.memoryInUse()).toBe(base);
    const t = gpu.createTensor(1, 4);
    gpu.writeTensor(t, Float32Array.of(1, 2, 3, 4));
    expect(Array.from(await gpu.read(t))).toEqual([1, 2, 3, 4]);
    gpu.release(t);
  });
});
