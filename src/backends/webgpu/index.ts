// The WebGPU backend's entry points (loaded lazily by src/backends/index.ts).
import { openDevice, webgpuAvailable } from './device.ts';
import { probeFmaFused } from './fma-probe.ts';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.ts';

export { webgpuAvailable, WebGpuBackend, type WebGpuBackendOptions };

/** Opens the best WebGPU adapter; throws BackendUnavailableError when there is none or it is too limited. */
export async function createWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const opened = await openDevice({ subgroups: opts.subgroups });
  const fmaFused = opts.fmaFused ?? (await probeFmaFused(opened.device));
  return new WebGpuBackend(opened, { ...opts, fmaFused });
}
