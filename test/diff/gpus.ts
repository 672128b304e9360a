// The GPU backends the diff tests can use here: webgpu (lavapipe in CI) and hip, each skipped with
// its one-line reason when it cannot open, except where ROCFORGE_REQUIRE_WEBGPU=1 /
// ROCFORGE_REQUIRE_HIP=1 make that a failure (as in the backends' own suites).
import type { Backend } from '../../src/backends/backend.ts';
import { createBackend, type Numerics } from '../../src/backends/index.ts';
import { BackendUnavailableError } from '../../src/errors.ts';

export type GpuName = 'webgpu' | 'hip';

const REQUIRE: Record<GpuName, boolean> = {
  webgpu: process.env.ROCFORGE_REQUIRE_WEBGPU === '1',
  hip: process.env.ROCFORGE_REQUIRE_HIP === '1',
};

/** Opens a GPU backend, or returns undefined after printing why it is skipped. */
export async function openGpu(name: GpuName, numerics: Numerics): Promise<Backend | undefined> {
  try {
    return await createBackend(name, { numerics });
  } catch (e) {
    if (!(e instanceof BackendUnavailableError)) throw e;
    if (REQUIRE[name]) throw new Error(`ROCFORGE_REQUIRE_${name.toUpperCase()}=1 but ${name} is unavailable: ${e.message}`);
    console.warn(`skipped ${name}: ${e.message.split('\n')[0]}`);
    return undefined;
  }
}

/** Every GPU backend that opens here, by name. */
export async function openGpus(numerics: Numerics): Promise<Map<GpuName, Backend>> {
  const out = new Map<GpuName, Backend>();
  for (const name of ['webgpu', 'hip'] as const) {
    const b = await openGpu(name, numerics);
    if (b) out.set(name, b);
  }
  return out;
}
