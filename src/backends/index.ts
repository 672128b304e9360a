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
      throw new BackendUnavailableError('the HIP backend is not built yet: use --backend webgpu or --backend cpu');
    case 'auto':
      // createWebGpuBackend throws BackendUnavailableError when there is no adapter: then CPU.
      try {
        return await createBackend('webgpu', opts);
      } catch (e) {
        if (e instanceof BackendUnavailableError) return createCpuBackend();
        throw e;
      }
    default:
      throw new BackendUnavailableError(`unknown backend "${String(choice)}": choose cpu, webgpu, hip or auto`);
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
