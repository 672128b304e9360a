// Opening the WebGPU backend in tests: with no adapter the tests skip with a one-line reason, except
// in CI (ROCFORGE_REQUIRE_WEBGPU=1), where a missing adapter is a failure.
import type { Backend, Tensor } from '../../../src/backends/backend.ts';
import { createWebGpuBackend, webgpuAvailable, type WebGpuBackend, type WebGpuBackendOptions } from '../../../src/backends/webgpu/index.ts';

export const REQUIRE_WEBGPU = process.env.ROCFORGE_REQUIRE_WEBGPU === '1';

/** Whether an adapter exists; throws when none is found and ROCFORGE_REQUIRE_WEBGPU=1. */
export async function gpuPresent(): Promise<boolean> {
  const ok = await webgpuAvailable();
  if (!ok && REQUIRE_WEBGPU) {
    throw new Error('ROCFORGE_REQUIRE_WEBGPU=1 but no WebGPU adapter was found (is Mesa lavapipe / a Vulkan driver installed?)');
  }
  if (!ok) console.warn('skipped: no WebGPU adapter found (set ROCFORGE_REQUIRE_WEBGPU=1 to make this a failure)');
  return ok;
}

export function openGpu(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return createWebGpuBackend(opts);
}

/** Whether this is a software adapter (lavapipe), where test sizes must stay small. */
export function isSoftware(b: Backend): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(b.deviceDescription);
}

export async function readAndRelease(b: Backend, t: Tensor): Promise<Float32Array> {
  const v = await b.read(t);
  return v;
}
