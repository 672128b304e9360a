// The HIP backend: GpuBackend (the ops planned in src/backends/gpu/, the same kernels, parameters
// and grids as WebGPU) on the native HIP executor (native-hip/: the HIP twins of shaders/, built
// by `npm run build:hip` for AMD with hipcc or for NVIDIA with nvcc). Loaded lazily by
// src/backends/index.ts.
import { BackendUnavailableError } from '../../errors.ts';
import { GpuBackend, type GpuBackendOptions } from '../gpu/gpu-backend.ts';
import { HipExecutor, type HipExecutorOptions } from './hip-executor.ts';
import { hipLibraryPath, openHipLibrary, RF } from './native.ts';

export { hipLibraryPath, HipExecutor };

export interface HipBackendOptions extends GpuBackendOptions, HipExecutorOptions {
  /** GPU index (default 0, or $ROCFORGE_HIP_DEVICE); one per process. */
  readonly device?: number;
}

export class HipBackend extends GpuBackend {
  declare readonly name: 'hip';

  constructor(
    readonly hip: HipExecutor,
    opts: GpuBackendOptions = {},
  ) {
    super('hip', hip, opts);
  }
}

/** Opens the HIP device; throws BackendUnavailableError (one line: why, and what to use instead). */
export function createHipBackend(opts: HipBackendOptions = {}): Promise<HipBackend> {
  const env = process.env;
  const device = opts.device ?? (env.ROCFORGE_HIP_DEVICE !== undefined ? Number(env.ROCFORGE_HIP_DEVICE) : 0);
  if (!Number.isInteger(device) || device < 0) {
    return Promise.reject(new BackendUnavailableError(`HIP device index must be a non-negative integer, got ${String(device)}`));
  }
  try {
    const lib = openHipLibrary(device);
    const info = lib.deviceInfo();
    const s = lib.streamCreate();
    if (s.rc !== RF.OK || !s.stream) throw new BackendUnavailableError(`HIP: creating a stream failed: ${lib.lastError()}`);
    const executor = new HipExecutor(lib, s.stream, info, {
      subgroups: opts.subgroups,
      graphs: opts.graphs ?? env.ROCFORGE_HIP_GRAPHS !== '0',
      maxGraphs: opts.maxGraphs,
      syncEachKernel: opts.syncEachKernel ?? env.ROCFORGE_HIP_SYNC === '1',
      profile: opts.profile,
    });
    return Promise.resolve(new HipBackend(executor, opts));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/** Whether the HIP backend can open here; the reason when not. */
export async function hipAvailability(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const b = await createHipBackend();
    b.dispose();
    return { ok: true };
  } catch (e) {
    if (e instanceof BackendUnavailableError) return { ok: false, reason: e.message };
    throw e;
  }
}
