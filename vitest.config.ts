import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // WebGPU (Dawn) and large typed arrays behave better in separate processes than in worker threads.
    pool: 'forks',
    // vitest's default on a 2-core CI machine is one worker (cores - 1): the suite is CPU-bound
    // (the CPU oracle, lavapipe), so two files at once use both cores (ROCFORGE_TEST_WORKERS overrides).
    maxWorkers: Number(process.env.ROCFORGE_TEST_WORKERS ?? Math.max(2, availableParallelism() - 1)),
  },
});
