// Shared setup of the end-to-end tests: the real model, the real engine, a real server on port 0.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Backend, BackendName } from '../../src/backends/backend.ts';
import { createBackend } from '../../src/backends/index.ts';
import { InferenceEngine } from '../../src/engine/engine.ts';
import type { EngineOptions } from '../../src/engine/types.ts';
import { BackendUnavailableError } from '../../src/errors.ts';
import { buildServer, type RocforgeServer } from '../../src/server/app.ts';
import { sharedPath } from '../helpers/shared.ts';

/** ROCFORGE_TEST_MODEL, else ../shared/models/stories260K.gguf. */
export const E2E_MODEL = process.env.ROCFORGE_TEST_MODEL ?? sharedPath('models', 'stories260K.gguf');

/** One-line reason to skip, or undefined when the model exists. */
export function missingModel(): string | undefined {
  if (existsSync(E2E_MODEL)) return undefined;
  const reason = `skipped: e2e model ${E2E_MODEL} not found (set ROCFORGE_TEST_MODEL or ROCFORGE_SHARED)`;
  console.warn(reason);
  return reason;
}

export interface OracleCase {
  prompt: string;
  completion: string;
  tokens: number[];
}

/** llama.cpp's greedy completions for the model, when shared/oracle has them (stories260K and friends). */
export function oracleCases(): OracleCase[] | undefined {
  const p = sharedPath('oracle', basename(E2E_MODEL).replace(/\.gguf$/, '.json'));
  if (!existsSync(p)) return undefined;
  return (JSON.parse(readFileSync(p, 'utf8')) as { cases: OracleCase[] }).cases;
}

/**
 * The backends the e2e tests run on, each with a reason when it is skipped: cpu always; webgpu when
 * an adapter exists, hip when its library is built and a GPU is present (ROCFORGE_REQUIRE_WEBGPU=1 /
 * ROCFORGE_REQUIRE_HIP=1 turn a missing one into a failure).
 */
export async function e2eBackends(): Promise<Array<{ name: BackendName; skip?: string }>> {
  const out: Array<{ name: BackendName; skip?: string }> = [{ name: 'cpu' }];
  for (const [name, requireVar] of [['webgpu', 'ROCFORGE_REQUIRE_WEBGPU'], ['hip', 'ROCFORGE_REQUIRE_HIP']] as const) {
    try {
      const b = await createBackend(name);
      b.dispose();
      out.push({ name });
    } catch (e) {
      if (!(e instanceof BackendUnavailableError) || process.env[requireVar] === '1') throw e;
      const reason = `skipped ${name}: ${e.message}; set ${requireVar}=1 to fail instead`;
      console.warn(reason);
      out.push({ name, skip: reason });
    }
  }
  return out;
}

export interface E2EServer extends RocforgeServer {
  url: string;
  engine: InferenceEngine;
  backend: Backend;
  /** backend.memoryInUse() before the engine was created. */
  memoryBefore: number;
  close(): Promise<void>;
}

/**
 * A server on a random loopback port around a real engine. The test owns the backend (passed to the
 * engine), so after close() it can check that every device buffer was released.
 */
export async function startE2EServer(backendName: BackendName, opts: Omit<EngineOptions, 'backend'> = {}, apiKey?: string): Promise<E2EServer> {
  const backend = await createBackend(backendName);
  const memoryBefore = backend.memoryInUse();
  const engine = await InferenceEngine.create(E2E_MODEL, { backend, ...opts });
  const server = await buildServer({ engine, model: { id: basename(E2E_MODEL), created: 0 }, apiKey });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return {
    ...server,
    url,
    engine,
    backend,
    memoryBefore,
    close: async () => {
      await server.app.close();
      await engine.dispose();
    },
  };
}
