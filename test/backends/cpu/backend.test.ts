import { describe, expect, it } from 'vitest';
import { createBackend } from '../../../src/backends/index.ts';
import { BackendUnavailableError } from '../../../src/errors.ts';
import { GgmlType } from '../../../src/gguf/types.ts';
import { backend, tensor, weight } from './helpers.ts';

describe('cpu backend resources', () => {
  it('counts the bytes of live resources and returns to baseline when they are released', async () => {
    const b = backend();
    expect(b.memoryInUse()).toBe(0);
    const t = b.createTensor(3, 4); // 48 bytes
    const i = b.createIndex(5); // 20 bytes
    const w = await weight(b, 2, 4, [1, 2, 3, 4, 5, 6, 7, 8], GgmlType.F16); // 16 bytes
    const kv = b.createKvCache({ nLayers: 2, nSlots: 3, contextLength: 4, kvDim: 8 }); // K+V f16: 2*2*3*4*8*2
    expect(b.memoryInUse()).toBe(48 + 20 + 16 + 768);
    b.release(kv);
    b.release(w);
    expect(b.memoryInUse()).toBe(68);
    b.release(t);
    b.release(i);
    expect(b.memoryInUse()).toBe(0);
  });

  it('refuses resources used after release or dispose', async () => {
    const b = backend();
    const a = tensor(b, 1, 2, [1, 2]);
    b.release(a);
    expect(() => b.add(a, a, a)).toThrow(/used after it was released/);
    const c = tensor(b, 1, 2, [1, 2]);
    b.dispose();
    expect(b.memoryInUse()).toBe(0);
    await expect(b.read(c)).rejects.toThrow(/released/);
  });

  it('refuses resources of another backend instance type', () => {
    const b = backend();
    const fake = { kind: 'tensor' as const, rows: 1, cols: 1 };
    expect(() => b.add(fake, fake, fake)).toThrow(/not created by the CPU backend/);
  });
});

describe('createBackend', () => {
  it('creates the CPU backend by name', async () => {
    const b = await createBackend('cpu');
    expect(b.name).toBe('cpu');
    expect(b.deviceDescription).toMatch(/CPU/);
  });

  it('reports the HIP backend as unavailable', async () => {
    await expect(createBackend('hip')).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('auto gives a working backend (WebGPU when an adapter exists, else CPU)', async () => {
    const b = await createBackend('auto');
    expect(['cpu', 'webgpu']).toContain(b.name);
    b.dispose();
  });
});
