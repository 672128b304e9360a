// Request-body fuzz against the real engine and model (cpu): whatever reaches the engine is either
// served or refused with a 4xx, never a 5xx, and the server keeps serving. Failures print the seed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingModel, startE2EServer, type E2EServer } from './helpers.ts';

const skipModel = missingModel();

const messages = fc.array(
  fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'developer', 'tool', 'bogus'), content: fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 })) }),
  { maxLength: 3 },
);
const params = fc.record(
  {
    max_tokens: fc.integer({ min: -1, max: 6 }),
    temperature: fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), fc.constant(3)),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    top_k: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    min_p: fc.double({ min: 0, max: 1, noNaN: true }),
    repeat_penalty: fc.double({ min: 0, max: 3, noNaN: true }),
    presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    frequency_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    seed: fc.oneof(fc.integer(), fc.constant(-1), fc.constant(Number.MAX_SAFE_INTEGER)),
    stop: fc.oneof(fc.string({ maxLength: 3 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 })),
    logprobs: fc.boolean(),
    top_logprobs: fc.integer({ min: 0, max: 21 }),
    stream: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
  },
  { requiredKeys: [] },
);
const request = fc.oneof(
  fc.tuple(params, messages).map(([p, m]) => ({ path: '/v1/chat/completions', body: { ...p, messages: m } as Record<string, unknown> })),
  fc
    .tuple(params, fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.array(fc.integer({ min: -1, max: 520 }), { maxLength: 6 })))
    .map(([p, prompt]) => {
      // The completions API takes log-probs as a count.
      const { logprobs, top_logprobs, ...rest } = p;
      return { path: '/v1/completions', body: { ...rest, prompt, ...(logprobs ? { logprobs: top_logprobs } : {}) } as Record<string, unknown> };
    }),
);

describe.skipIf(skipModel)('request fuzz against the real engine', () => {
  let s: E2EServer;
  beforeAll(async () => {
    s = await startE2EServer('cpu', { parallel: 2, contextLength: 64 });
  });
  afterAll(async () => {
    await s?.close();
    s?.backend.dispose();
  });

  it('never answers 5xx and keeps serving', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now());
    console.log(`e2e fuzz seed: ${seed} (rerun with FUZZ_SEED=${seed})`);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ path, body }) => {
        const res = await fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${res.status} for ${JSON.stringify(body)}: ${text}`).toBeLessThan(500);
        if (res.status === 200 && body.stream === true) {
          expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
          expect(text).not.toContain('"error"');
        }
      }),
      { seed, numRuns: 120 },
    );
    console.log('statuses:', Object.fromEntries(statuses));
    expect(statuses.get(200) ?? 0).toBeGreaterThan(10);
    expect(s.engine.stats()).toMatchObject({ slotsBusy: 0, queued: 0 });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });
});
