// Picks a backend by name. WebGPU and HIP are loaded lazily so that the CPU path never pulls in
// Dawn or native bindings.
import { BackendUnavailableError } from '../errors.ts';
import type { Backend, BackendName } from './backend.ts';
import { createCpuBackend } from './cpu/index.ts';

export type BackendChoice = BackendName | 'auto';

/**
 * 'exact' (default): GPU kernels replay the CPU oracle's (llama.cpp's) float arithmetic bit for bit,
 * so every backend gives the same logits. 'fast': plain f32 kernels, several times faster at prefill
 * (see README), logits within ~1e-2 of the oracle. The CPU backend is always exact.
 */
export type Numerics = 'exact' | 'fast';

export interface BackendOptions {
  numerics?: Numerics;
}

export async function createBackend(choice: BackendChoice, opts: BackendOptions = {}): Promise<Backend> {
  switch (choice) {
    case 'cpu':
      return createCpuBackend();
    case 'webgpu':
      return (await loadWebGpu()).createWebGpuBackend({ exact: opts.numerics !== 'fast' });
    case 'hip':
      return (await loadHip()).createHipBackend({ exact: opts.numerics !== 'fast' });
    case 'auto':
      // Each GPU backend throws BackendUnavailableError when it cannot open here (no library, no
      // GPU, no adapter): then the next one, ending with the CPU.
      for (const gpu of ['hip', 'webgpu'] as const) {
        try {
          return await createBackend(gpu, opts);
        } catch (e) {
          if (!(e instanceof BackendUnavailableError)) throw e;
        }
      }
      return createCpuBackend();
    default:
      throw new BackendUnavailableError(`unknown backend "${String(choice)}": choose cpu, webgpu, hip or auto`);
  }
}

interface HipModule {
  createHipBackend(opts: { exact: boolean }): Promise<Backend>;
}

async function loadHip(): Promise<HipModule> {
  try {
    return await import('./hip/index.ts');
  } catch (e) {
    throw new BackendUnavailableError(`the HIP backend could not be loaded (${(e as Error).message}): use --backend webgpu or --backend cpu`, { cause: e });
  }
}

interface WebGpuModule {
  createWebGpuBackend(opts: { exact: boolean }): Promise<Backend>;
}

async function loadWebGpu(): Promise<WebGpuModule> {
  try {
    // A variable specifier keeps TypeScript from requiring the module before the WebGPU backend exists.
    const path = './webgpu/index.ts';
    return (await import(path)) as WebGpuModule;
  } catch (e) {
    throw new BackendUnavailableError(`the WebGPU backend could not be loaded (${(e as Error).message}): use --backend cpu`, { cause: e });
  }
}
