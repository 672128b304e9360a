// Opening the HIP backend in tests: when the library is not built or no GPU is present the tests
// skip with the backend's one-line reason, except with ROCFORGE_REQUIRE_HIP=1 (the GPU machine),
// where that is a failure.
import { createHipBackend, hipAvailability, type HipBackend, type HipBackendOptions } from '../../../src/backends/hip/index.ts';

export const REQUIRE_HIP = process.env.ROCFORGE_REQUIRE_HIP === '1';

let availability: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

/** Whether the HIP backend opens here; throws when it does not and ROCFORGE_REQUIRE_HIP=1. */
export async function hipPresent(): Promise<boolean> {
  availability ??= hipAvailability();
  const a = await availability;
  if (a.ok) return true;
  if (REQUIRE_HIP) throw new Error(`ROCFORGE_REQUIRE_HIP=1 but the HIP backend is unavailable: ${a.reason}`);
  console.warn(`skipped: ${a.reason} (ROCFORGE_REQUIRE_HIP=1 makes this a failure)`);
  return false;
}

export function openHip(opts: HipBackendOptions = {}): Promise<HipBackend> {
  return createHipBackend(opts);
}

/** A fast-check seed: $FC_SEED when set (to replay a failure), else the clock; printed either way. */
export function seeded(name: string): number {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  console.log(`hip ${name} seed ${seed}`);
  return seed;
}
