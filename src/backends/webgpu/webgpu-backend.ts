// The WebGPU backend: GpuBackend (the ops planned in src/backends/gpu/) on the WebGPU executor
// (WGSL kernels from shaders/ through Dawn).
import { GpuBackend, type GpuBackendOptions } from '../gpu/gpu-backend.ts';
import type { OpenedDevice } from './device.ts';
import { WebGpuExecutor } from './webgpu-executor.ts';

export interface WebGpuBackendOptions extends GpuBackendOptions {
  /** Use subgroup reductions where the adapter has them (default true); false forces the workgroup-memory fallback. */
  readonly subgroups?: boolean;
  /** Time each compute pass on the GPU (timestamp queries, where the device has them): see lastPassGpuMs. */
  readonly timestamps?: boolean;
  /**
   * Whether WGSL fma() is fused on this device (probed by createWebGpuBackend: lavapipe's is not,
   * which Vulkan allows). When not, the exact kernels emulate fused multiply-adds (exact.wgsl).
   */
  readonly fmaFused?: boolean;
  /**
   * Time every dispatch on the GPU, per kernel (timestamp queries, one pass per dispatch): see
   * profileReport(). For benchmarks only: the extra passes slow a forward down.
   */
  readonly profile?: boolean;
}

export class WebGpuBackend extends GpuBackend {
  declare readonly name: 'webgpu';

  /** `opened.subgroups` already reflects opts.subgroups (openDevice asks for them only when wanted). */
  constructor(opened: OpenedDevice, opts: WebGpuBackendOptions = {}) {
    super('webgpu', new WebGpuExecutor(opened, { fmaFused: opts.fmaFused, timestamps: opts.timestamps, profile: opts.profile }), opts);
  }
}
