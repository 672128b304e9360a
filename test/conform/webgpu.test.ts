// rocforge conform of `rocforge serve --backend webgpu` (lavapipe in CI) against the cpu reference:
// exact numerics replay the reference bit for bit, so every token and log-prob must be equal.
// Skipped with its one-line reason where webgpu cannot open (ROCFORGE_REQUIRE_WEBGPU=1 fails instead).
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backends/index.ts';
import { formatTerminal } from '../../src/conform/report.ts';
import { runConform } from '../../src/conform/run.ts';
import { InferenceEngine } from '../../src/engine/engine.ts';
import { startServer } from '../server/helpers.ts';
import { openGpu } from '../diff/gpus.ts';

const MODEL = new URL('../../models/stories260K.gguf', import.meta.url).pathname;
const webgpu = await openGpu('webgpu', 'exact');

describe.skipIf(!webgpu)('conform against rocforge serve on webgpu (exact numerics)', () => {
  afterAll(() => webgpu?.dispose());

  it('finds the cpu reference tokens and log-probs, bit for bit', async () => {
    const engine = await InferenceEngine.create(MODEL, { backend: webgpu!, contextLength: 64, promptCache: false });
    const server = await startServer(engine, { model: { id: 'stories260K', created: 1 } });
    const cpu = await createBackend('cpu');
    try {
      const r = await runConform({ url: server.url, model: MODEL, backend: cpu, prompts: ['Once upon a time', 'The little dog'], steps: 8 });
      console.log(formatTerminal(r));
      expect(r.counts).toEqual({ same: 2, 'near-tie': 0, differ: 0, error: 0 });
      for (const c of r.cases) expect(c.maxAbsLogprob).toBe(0);
    } finally {
      await server.close();
      await engine.dispose();
      cpu.dispose();
    }
  }, 60_000);
});
