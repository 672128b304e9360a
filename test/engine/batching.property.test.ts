// Continuous batching must not change results: a request's greedy output is the same alone and
// batched with up to 15 others that start at different times (real model, cpu backend).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InferenceEngine } from '../../src/engine/engine.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import type { BackendChoice } from '../../src/engine/types.ts';

const MODEL = 'models/stories260K.gguf';
const skip = missingShared(MODEL);
/** cpu by default; ROCFORGE_ENGINE_BACKEND=webgpu (or hip) runs the same checks on a GPU. */
const BACKEND = (process.env.ROCFORGE_ENGINE_BACKEND ?? 'cpu') as BackendChoice;
const WORDS = ['Once', 'upon', 'a', 'time', 'Lily', 'dog', 'park', 'ball', 'the', '.', 'said', 'happy'];

describe.skipIf(skip)(`continuous batching (stories260K, ${BACKEND})`, () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    // A small prefill chunk so longer prompts are split across steps while others decode.
    engine = await InferenceEngine.create(sharedPath(MODEL), { backend: BACKEND, parallel: 16, contextLength: 64, prefillChunk: 8 });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('gives each request its solo greedy output when batched with up to 15 others (property)', async () => {
    const seed = Date.now();
    console.log(`batching property seed: ${seed}`);
    const request = fc.record({
      prompt: fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 14 }).map((w) => w.join(' ')),
      maxTokens: fc.integer({ min: 1, max: 12 }),
      /** Event-loop turns to wait before sending: requests join while others run. */
      delay: fc.integer({ min: 0, max: 12 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 2, maxLength: 16 }), async (reqs) => {
        const solo: number[][] = [];
        for (const r of reqs) solo.push((await engine.generate(r.prompt, { temperature: 0, maxTokens: r.maxTokens })).tokens);
        const stepsBefore = engine.stats().stepsTotal;
        const batched = await Promise.all(
          reqs.map(async (r) => {
            for (let i = 0; i < r.delay; i++) await new Promise((res) => setImmediate(res));
            return (await engine.generate(r.prompt, { temperature: 0, maxTokens: r.maxTokens })).tokens;
          }),
        );
        expect(batched).toEqual(solo);
        // they really shared steps: fewer forward batches than the solo runs needed
        const soloSteps = reqs.reduce((a, r) => a + r.maxTokens, 0);
        expect(engine.stats().stepsTotal - stepsBefore).toBeLessThan(soloSteps + reqs.length);
        expect(engine.stats()).toMatchObject({ slotsBusy: 0, queued: 0 });
      }),
      { seed, numRuns: 8 },
    );
  });
});
