// Property: no request body, however malformed, gets a 5xx or crashes the server. Failures print the seed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEngine } from './fake-engine.ts';
import { startServer, type TestServer } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(new FakeEngine({ stepMs: 0, contextLength: 128 }));
});
afterAll(async () => server.close());

const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1, 2, 0.5, 1e308, -1e308, 2 ** 53, '', 'user', 'text', true, false, null, [], {}),
);
const message = fc.record(
  { role: anyValue, content: fc.oneof(fc.string(), anyValue, fc.array(fc.record({ type: fc.oneof(fc.constant('text'), anyValue), text: anyValue }, { requiredKeys: [] }), { maxLength: 3 })) },
  { requiredKeys: [] },
);
const validMessage = fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'developer', 'tool'), content: fc.string({ maxLength: 40 }) });
const KEYS = [
  'model', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'repeat_penalty', 'presence_penalty',
  'frequency_penalty', 'seed', 'stop', 'n', 'logprobs', 'top_logprobs', 'stream_options', 'logit_bias', 'tools', 'tool_choice',
  'response_format', 'echo', 'suffix', 'best_of', 'user',
] as const;
const params = fc.dictionary(fc.constantFrom(...KEYS), anyValue, { maxKeys: 5 });
// Values in or near the valid ranges, so that many requests reach the engine.
const plausible = fc.record(
  {
    max_tokens: fc.integer({ min: -2, max: 200 }),
    temperature: fc.double({ min: 0, max: 2.5, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    top_k: fc.integer({ min: 0, max: 100 }),
    min_p: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer(),
    stop: fc.oneof(fc.string({ minLength: 1, maxLength: 3 }), fc.array(fc.string({ maxLength: 3 }), { maxLength: 5 })),
    logprobs: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    n: fc.constantFrom(1, 1, 1, 2),
    model: fc.constantFrom('fake-model.gguf', 'fake-model', 'other'),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.tuple(plausible, fc.array(validMessage, { minLength: 1, maxLength: 3 })).map(([p, messages]) => ({ ...p, messages })),
  fc.tuple(plausible, fc.oneof(fc.string({ maxLength: 60 }), fc.array(fc.nat(300), { minLength: 1, maxLength: 8 }))).map(([p, prompt]) => ({ ...p, prompt })),
  fc.tuple(params, fc.oneof(fc.array(message, { maxLength: 3 }), fc.array(validMessage, { minLength: 1, maxLength: 3 }), anyValue)).map(([p, messages]) => ({ ...p, messages })),
  fc.tuple(params, fc.oneof(fc.string({ maxLength: 60 }), fc.array(fc.nat(300), { maxLength: 8 }), fc.array(fc.string(), { maxLength: 2 }), anyValue)).map(([p, prompt]) => ({ ...p, prompt })),
);
const request = fc.record({
  path: fc.constantFrom('/v1/chat/completions', '/v1/completions'),
  // Valid JSON, or bytes that may not be JSON at all.
  payload: fc.oneof({ arbitrary: body.map((b) => JSON.stringify(b)), weight: 4 }, { arbitrary: fc.string({ maxLength: 80 }), weight: 1 }),
  stream: fc.boolean(),
  contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain'),
});

describe('request-body fuzz', () => {
  it('never answers 5xx, always with an OpenAI error object or a completion, and keeps serving', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now());
    console.log(`server fuzz seed: ${seed} (rerun with FUZZ_SEED=${seed})`);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ path, payload, stream, contentType }) => {
        // Half of the valid-JSON objects ask to stream, exercising the SSE path's errors too.
        let sent = payload;
        if (stream && payload.startsWith('{') && payload !== '{}') sent = `{"stream":true,${payload.slice(1)}`;
        const res = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': contentType }, body: sent });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const text = await res.text();
        expect(res.status, `${res.status} for ${sent}: ${text}`).toBeLessThan(500);
        if (res.status >= 400) {
          const err = (JSON.parse(text) as { error: Record<string, unknown> }).error;
          expect(typeof err.message).toBe('string');
          expect(['invalid_request_error', 'not_found_error']).toContain(err.type);
        } else if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
          expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
        } else {
          expect((JSON.parse(text) as { choices: unknown[] }).choices).toHaveLength(1);
        }
      }),
      { seed, numRuns: 300 },
    );
    console.log('statuses:', Object.fromEntries(statuses));
    // Both outcomes occurred: the fuzz reached the engine, not only the validator.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
  });
});
