// End to end failure handling: bad model paths, device out-of-memory at load and mid-serve.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { createBackend } from '../../src/backends/index.ts';
import { InferenceEngine } from '../../src/engine/engine.ts';
import { DeviceOutOfMemoryError, GgufError, ModelNotFoundError } from '../../src/errors.ts';
import { buildServer } from '../../src/server/app.ts';
import { E2E_MODEL, missingModel, oracleCases } from './helpers.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const skipModel = missingModel();
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * A backend whose allocations fail with DeviceOutOfMemoryError while `armed` names them: the
 * engine takes a Backend instance, so this is how a test makes the device run out of memory.
 */
function faultyBackend(inner: Backend): { backend: Backend; armed: Set<string> } {
  const armed = new Set<string>();
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      if (typeof prop === 'string' && armed.has(prop)) {
        return () => {
          throw new DeviceOutOfMemoryError(`${prop}: out of device memory (simulated): lower --ctx-size or --parallel, or use a smaller model`);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { backend, armed };
}

describe('invalid model path', () => {
  it('makes the engine reject with ModelNotFoundError, and a non-GGUF file with GgufError', async () => {
    await expect(InferenceEngine.create('/nonexistent/model.gguf', { backend: 'cpu' })).rejects.toBeInstanceOf(ModelNotFoundError);
    const junk = join(mkdtempSync(join(tmpdir(), 'rocforge-e2e-')), 'junk.gguf');
    writeFileSync(junk, 'this is not a gguf file at all');
    await expect(InferenceEngine.create(junk, { backend: 'cpu' })).rejects.toBeInstanceOf(GgufError);
  });

  it('makes `rocforge serve` exit 1 with a message naming the file', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'src/cli/rocforge.mjs'), 'serve', '-m', '/nonexistent/model.gguf', '--backend', 'cpu', '--port', '0'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/nonexistent/model.gguf');
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
  });
});

describe.skipIf(skipModel)('device out of memory', () => {
  it('fails engine creation cleanly when the KV cache does not fit, leaving nothing allocated', async () => {
    const cpu = await createBackend('cpu');
    const { backend, armed } = faultyBackend(cpu);
    armed.add('createKvCache');
    const before = cpu.memoryInUse();
    const err = await InferenceEngine.create(E2E_MODEL, { backend }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceOutOfMemoryError);
    expect((err as Error).message).toContain('lower --ctx-size');
    expect(cpu.memoryInUse()).toBe(before);
    cpu.dispose();
  });

  describe('mid-serve', () => {
    let cpu: Backend;
    let armed: Set<string>;
    let engine: InferenceEngine;
    let app: Awaited<ReturnType<typeof buildServer>>['app'];
    let url: string;
    beforeAll(async () => {
      cpu = await createBackend('cpu');
      const f = faultyBackend(cpu);
      armed = f.armed;
      engine = await InferenceEngine.create(E2E_MODEL, { backend: f.backend, parallel: 2, contextLength: 128 });
      ({ app } = await buildServer({ engine, model: { id: 'm.gguf', created: 0 } }));
      url = await app.listen({ host: '127.0.0.1', port: 0 });
    });
    afterAll(async () => {
      await app?.close();
      await engine?.dispose();
      expect(cpu.memoryInUse()).toBe(0);
      cpu.dispose();
    });

    it('answers 503 device_out_of_memory when a batch cannot get device memory, then serves again', async () => {
      const body = { prompt: 'Once upon a time', max_tokens: 24, temperature: 0 };
      const post = (b: unknown): Promise<Response> => fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
      // Scratch tensors are allocated per new batch shape: the first request needs some.
      armed.add('createTensor').add('createIndex');
      const failed = await post(body);
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).not.toBeNull();
      const err = ((await failed.json()) as Json).error;
      expect(err).toMatchObject({ type: 'service_unavailable_error', code: 'device_out_of_memory' });
      expect(err.message).toContain('out of device memory');
      expect(engine.stats()).toMatchObject({ slotsBusy: 0, activeSequences: 0, queued: 0 });

      // Streaming requests fail the same way, before the stream opens.
      const streamed = await post({ ...body, stream: true });
      expect(streamed.status).toBe(503);
      await streamed.text();

      armed.clear();
      const ok = await post(body);
      expect(ok.status).toBe(200);
      const text = ((await ok.json()) as Json).choices[0].text as string;
      const oracle = oracleCases();
      if (oracle) expect(text).toBe(oracle[0]!.completion);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    });
  });
});
