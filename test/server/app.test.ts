// The HTTP layer against a deterministic fake engine: OpenAI shapes, SSE, errors, auth, metrics,
// disconnects. The e2e tests (test/e2e/) repeat the essentials with the real engine and model.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeEngine } from './fake-engine.ts';
import { postJson, readEvents, startServer, waitFor, type TestServer } from './helpers.ts';

const REPLY = 'Hi wörld 🙂!';
const servers: TestServer[] = [];
async function serve(engine: FakeEngine | Promise<FakeEngine>, extra = {}): Promise<TestServer> {
  const s = await startServer(engine, extra);
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('health and models', () => {
  it('answers /health 503 with Retry-After while the model loads, then 200 ok', async () => {
    let resolve!: (e: FakeEngine) => void;
    const s = await serve(new Promise<FakeEngine>((r) => (resolve = r)));
    s.ctx.setProgress(0.5);
    let res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect((await res.json()) as Json).toMatchObject({ status: 'loading', progress: 0.5 });
    // Generation routes say the same thing while loading.
    res = await postJson(`${s.url}/v1/completions`, { prompt: 'x' });
    expect(res.status).toBe(503);
    expect(((await res.json()) as Json).error.code).toBe('model_loading');

    resolve(new FakeEngine());
    await new Promise((r) => setTimeout(r, 0));
    res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(200);
    expect((await res.json()) as Json).toMatchObject({ status: 'ok', slots_total: 2, slots_busy: 0 });
  });

  it('reports a failed load on /health as 503 with the reason', async () => {
    const s = await serve(Promise.reject(new Error('file is not GGUF')));
    await new Promise((r) => setTimeout(r, 0));
    const res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as Json).error.message).toContain('file is not GGUF');
  });

  it('lists the served model with its notice, and retrieves it under any id', async () => {
    const s = await serve(new FakeEngine(), { model: { id: 'demo.gguf', created: 5, notice: 'tiny demo model' } });
    const list = (await (await fetch(`${s.url}/v1/models`)).json()) as Json;
    expect(list.object).toBe('list');
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ id: 'demo.gguf', object: 'model', created: 5, owned_by: 'rocforge', notice: 'tiny demo model' });
    for (const id of ['demo.gguf', 'gpt-4', 'default']) {
      const one = await fetch(`${s.url}/v1/models/${id}`);
      expect(one.status).toBe(200);
      expect(((await one.json()) as Json).id).toBe('demo.gguf');
    }
  });
});

describe('POST /v1/chat/completions', () => {
  it('returns an OpenAI chat.completion with usage', async () => {
    const engine = new FakeEngine();
    const s = await serve(engine);
    const res = await postJson(`${s.url}/v1/chat/completions`, { model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('fake-model.gguf');
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(5);
    expect(body.choices).toEqual([{ index: 0, message: { role: 'assistant', content: REPLY, refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    const promptTokens = new TextEncoder().encode('<user>hello<assistant>').length;
    const replyTokens = new TextEncoder().encode(REPLY).length;
    expect(body.usage).toEqual({ prompt_tokens: promptTokens, completion_tokens: replyTokens, total_tokens: promptTokens + replyTokens });
  });

  it('maps OpenAI and llama.cpp sampling parameters onto engine options', async () => {
    const engine = new FakeEngine();
    const s = await serve(engine);
    const res = await postJson(`${s.url}/v1/chat/completions`, {
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      ],
      max_completion_tokens: 3,
      max_tokens: 99,
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      min_p: 0.05,
      repeat_penalty: 1.1,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: 42,
      stop: 'zz',
      n: 1,
      user: 'ignored',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.choices[0].message.content).toBe('Hi ');
    const { signal, ...opts } = engine.seenOptions[0]!;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(opts).toEqual({ maxTokens: 3, temperature: 0.5, topP: 0.9, topK: 40, minP: 0.05, repeatPenalty: 1.1, presencePenalty: 0.5, frequencyPenalty: -0.5, seed: 42, stop: ['zz'] });
    expect(engine.seenPrompts[0]).toBe('<system>be brief<user>ab<assistant>');
  });

  it('stops at a stop string with finish_reason "stop"', async () => {
    const s = await serve(new FakeEngine());
    const body = (await (await postJson(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], stop: ['ö', 'xyz'] })).json()) as Json;
    expect(body.choices[0]).toMatchObject({ message: { content: 'Hi w' }, finish_reason: 'stop' });
  });

  it('returns log-probs with the top alternatives', async () => {
    const s = await serve(new FakeEngine());
    const body = (await (await postJson(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], max_tokens: 2, logprobs: true, top_logprobs: 2 })).json()) as Json;
    expect(body.choices[0].logprobs.content).toEqual([
      { token: 'H', logprob: 0, bytes: [72], top_logprobs: [{ token: 'H', logprob: 0, bytes: [72] }, { token: 'I', logprob: -1, bytes: [73] }] },
      { token: 'i', logprob: -0.25, bytes: [105], top_logprobs: [{ token: 'i', logprob: -0.25, bytes: [105] }, { token: 'j', logprob: -1.25, bytes: [106] }] },
    ]);
  });

  it('streams a role chunk, incremental content deltas, a finish chunk, usage, then [DONE]', async () => {
    const s = await serve(new FakeEngine({ stepMs: 15 }));
    const res = await postJson(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events, times, sawDone } = await readEvents(res);
    const chunks = events as Json[];
    expect(sawDone).toBe(true);
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.id).toBe(chunks[0]!.id);
      expect(c).toHaveProperty('usage');
    }
    expect(chunks[0]!.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    const deltas = chunks.slice(1, -2).map((c) => c.choices[0].delta.content as string);
    expect(deltas.join('')).toBe(REPLY);
    // Multi-byte characters are never split: every delta is valid text on its own.
    for (const d of deltas) expect(d).not.toContain('\uFFFD');
    expect(deltas).toContain('ö');
    expect(deltas).toContain('🙂');
    const fin = chunks.at(-2)!;
    expect(fin.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    expect(fin.usage).toBeNull();
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(new TextEncoder().encode(REPLY).length);
    // Deltas were flushed as produced (15 ms a token), not buffered to the end.
    const spread = times[chunks.length - 3]! - times[1]!;
    expect(spread).toBeGreaterThan(15 * (deltas.length - 2));
  });

  it('omits usage from chunks unless stream_options.include_usage is set', async () => {
    const s = await serve(new FakeEngine());
    const { events } = await readEvents(await postJson(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 2 }));
    expect(events.length).toBe(4);
    for (const c of events as Json[]) expect(c).not.toHaveProperty('usage');
    expect((events as Json[]).at(-1)!.choices[0].finish_reason).toBe('length');
  });
});

describe('POST /v1/completions', () => {
  it('completes a text prompt', async () => {
    const engine = new FakeEngine();
    const s = await serve(engine);
    const body = (await (await postJson(`${s.url}/v1/completions`, { prompt: 'Once', max_tokens: 6 })).json()) as Json;
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.object).toBe('text_completion');
    expect(body.choices).toEqual([{ index: 0, text: 'Hi wö', logprobs: null, finish_reason: 'length' }]);
    expect(body.usage).toEqual({ prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
    expect(engine.seenPrompts[0]).toBe('Once');
  });

  it('accepts token-id prompts and batches of one, and returns legacy log-probs', async () => {
    const engine = new FakeEngine();
    const s = await serve(engine);
    const body = (await (await postJson(`${s.url}/v1/completions`, { prompt: [[79, 110]], max_tokens: 2, logprobs: 1 })).json()) as Json;
    expect(engine.seenPrompts[0]).toEqual([79, 110]);
    expect(body.choices[0].logprobs).toEqual({ tokens: ['H', 'i'], token_logprobs: [0, -0.25], top_logprobs: [{ H: 0 }, { i: -0.25 }], text_offset: [0, 1] });
  });

  it('streams text_completion chunks ending with finish_reason and [DONE]', async () => {
    const s = await serve(new FakeEngine());
    const { events, sawDone } = await readEvents(await postJson(`${s.url}/v1/completions`, { prompt: 'x', stream: true, stream_options: { include_usage: true } }));
    const chunks = events as Json[];
    expect(sawDone).toBe(true);
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.slice(0, -2).map((c) => c.choices[0].text).join('')).toBe(REPLY);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 1, completion_tokens: 15, total_tokens: 16 });
  });
});

describe('errors', () => {
  async function expectError(res: Response, status: number, match: Json): Promise<Json> {
    expect(res.status).toBe(status);
    const body = (await res.json()) as Json;
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(typeof body.error.message).toBe('string');
    expect(body.error).toMatchObject(match);
    return body;
  }

  it('rejects invalid requests with 400 and names the parameter', async () => {
    const s = await serve(new FakeEngine());
    const chat = `${s.url}/v1/chat/completions`;
    const raw = (body: string): Promise<Response> => fetch(chat, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await expectError(await raw('{"messages": ['), 400, { type: 'invalid_request_error', code: 'invalid_json' });
    await expectError(await raw('[]'), 400, { code: 'invalid_type' });
    await expectError(await postJson(chat, {}), 400, { param: 'messages', code: 'missing_required_parameter' });
    await expectError(await postJson(chat, { messages: [] }), 400, { param: 'messages', code: 'empty_array' });
    await expectError(await postJson(chat, { messages: 'hi' }), 400, { param: 'messages', code: 'invalid_type' });
    await expectError(await postJson(chat, { messages: [{ role: 'wizard', content: 'x' }] }), 400, { param: 'messages[0].role', code: 'invalid_value' });
    await expectError(await postJson(chat, { messages: [{ role: 'user' }] }), 400, { param: 'messages[0].content' });
    await expectError(await postJson(chat, { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }), 400, { code: 'unsupported_parameter' });
    const m = [{ role: 'user', content: 'x' }];
    await expectError(await postJson(chat, { messages: m, max_tokens: -1 }), 400, { param: 'max_tokens', code: 'invalid_value' });
    await expectError(await postJson(chat, { messages: m, max_tokens: 1.5 }), 400, { param: 'max_tokens', code: 'invalid_type' });
    await expectError(await postJson(chat, { messages: m, temperature: '0.7' }), 400, { param: 'temperature', code: 'invalid_type' });
    await expectError(await postJson(chat, { messages: m, temperature: 3 }), 400, { param: 'temperature', code: 'invalid_value' });
    await expectError(await postJson(chat, { messages: m, stop: [1] }), 400, { param: 'stop[0]' });
    await expectError(await postJson(chat, { messages: m, stream: 'yes' }), 400, { param: 'stream' });
    await expectError(await postJson(chat, { messages: m, top_logprobs: 3 }), 400, { param: 'top_logprobs' });
    const n = await expectError(await postJson(chat, { messages: m, n: 2 }), 400, { param: 'n', code: 'unsupported_parameter' });
    expect(n.error.message).toContain('only n = 1 is supported');
    await expectError(await postJson(chat, { messages: m, tools: [{ type: 'function' }] }), 400, { param: 'tools', code: 'unsupported_parameter' });
    await expectError(await postJson(chat, { messages: m, response_format: { type: 'json_object' } }), 400, { code: 'unsupported_parameter' });
    await expectError(await postJson(`${s.url}/v1/completions`, { prompt: ['a', 'b'] }), 400, { param: 'prompt', code: 'unsupported_parameter' });
    await expectError(await postJson(`${s.url}/v1/completions`, { prompt: [1, -2] }), 400, { param: 'prompt[1]' });
    await expectError(await postJson(`${s.url}/v1/completions`, {}), 400, { param: 'prompt' });
  });

  it('turns engine refusals into 400s: prompt longer than the context, bad token ids', async () => {
    const s = await serve(new FakeEngine({ contextLength: 64 }));
    const long = await expectError(await postJson(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x'.repeat(100) }] }), 400, {
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
    });
    expect(long.error.message).toContain('exceed the context of 64 tokens');
    // Streaming requests are refused before the stream opens, with the same status.
    await expectError(await postJson(`${s.url}/v1/completions`, { prompt: 'x'.repeat(100), stream: true }), 400, { code: 'context_length_exceeded' });
    await expectError(await postJson(`${s.url}/v1/completions`, { prompt: [300] }), 400, { type: 'invalid_request_error' });
  });

  it('answers 404 for unknown routes', async () => {
    const s = await serve(new FakeEngine());
    await expectError(await fetch(`${s.url}/v2/nothing`), 404, { type: 'not_found_error', code: 'unknown_route' });
  });

  it('serves requests naming any model (or none) with the loaded one, and names it in the reply', async () => {
    const s = await serve(new FakeEngine());
    for (const model of ['gpt-4o', 'default', '', undefined]) {
      const chat = await postJson(`${s.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'x' }] });
      expect(chat.status).toBe(200);
      expect(((await chat.json()) as Json).model).toBe('fake-model.gguf');
      const completion = await postJson(`${s.url}/v1/completions`, { model, prompt: 'x' });
      expect(completion.status).toBe(200);
      expect(((await completion.json()) as Json).model).toBe('fake-model.gguf');
    }
  });

  it('answers 413 for oversized bodies', async () => {
    const s = await serve(new FakeEngine(), { bodyLimit: 1000 });
    await expectError(await postJson(`${s.url}/v1/completions`, { prompt: 'x'.repeat(2000) }), 413, { code: 'request_too_large' });
  });

  it('requires the API key when one is set, except on /health', async () => {
    const s = await serve(new FakeEngine(), { apiKey: 'sekret' });
    const body = { messages: [{ role: 'user', content: 'x' }], max_tokens: 1 };
    await expectError(await postJson(`${s.url}/v1/chat/completions`, body), 401, { type: 'authentication_error', code: 'invalid_api_key' });
    await expectError(await postJson(`${s.url}/v1/chat/completions`, body, { authorization: 'Bearer wrong' }), 401, { type: 'authentication_error' });
    await expectError(await fetch(`${s.url}/v1/models`), 401, { type: 'authentication_error' });
    expect((await postJson(`${s.url}/v1/chat/completions`, body, { authorization: 'Bearer sekret' })).status).toBe(200);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('answers 503 with Retry-After when the queue is full, and serves again afterwards', async () => {
    const engine = new FakeEngine({ parallel: 1, maxQueue: 1, stepMs: 20 });
    const s = await serve(engine);
    const body = { prompt: 'x', max_tokens: 4 };
    const first = postJson(`${s.url}/v1/completions`, body);
    await waitFor(() => engine.stats().slotsBusy === 1, 2000, 'the first request to take the slot');
    const second = postJson(`${s.url}/v1/completions`, body);
    await waitFor(() => engine.stats().queued === 1, 2000, 'the second request to queue');
    const third = await postJson(`${s.url}/v1/completions`, body);
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(((await third.json()) as Json).error).toMatchObject({ type: 'service_unavailable_error', code: 'queue_full' });
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await postJson(`${s.url}/v1/completions`, body)).status).toBe(200);
  });
});

describe('client disconnects', () => {
  it('cancels a streaming sequence and frees its slot at once when the client goes away', async () => {
    const engine = new FakeEngine({ stepMs: 10, reply: 'a'.repeat(200) });
    const s = await serve(engine);
    const ac = new AbortController();
    const res = await postJson(`${s.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], stream: true, max_tokens: 200 }, {}, ac.signal);
    const reader = res.body!.getReader();
    await reader.read();
    expect(engine.stats().slotsBusy).toBe(1);
    const generatedBefore = engine.stats().generatedTokensTotal;
    ac.abort();
    const ms = await waitFor(() => engine.stats().slotsBusy === 0, 500, 'slotsBusy to return to 0');
    // "At once": long before the 2 s its 200 tokens (10 ms each) would take, even on a loaded machine.
    expect(ms).toBeLessThan(250);
    expect(engine.seenOptions[0]!.signal!.aborted).toBe(true);
    // The sequence stopped: it did not run on to its 200 tokens.
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.stats().generatedTokensTotal).toBeLessThan(generatedBefore + 20);
  });

  it('cancels a non-streaming request whose client went away, and a queued one too', async () => {
    const engine = new FakeEngine({ parallel: 1, stepMs: 10, reply: 'a'.repeat(200) });
    const s = await serve(engine);
    const running = new AbortController();
    const queued = new AbortController();
    const p1 = postJson(`${s.url}/v1/completions`, { prompt: 'x', max_tokens: 200 }, {}, running.signal).catch((e: Error) => e);
    await waitFor(() => engine.stats().slotsBusy === 1, 2000, 'the slot to be taken');
    const p2 = postJson(`${s.url}/v1/completions`, { prompt: 'y', max_tokens: 200 }, {}, queued.signal).catch((e: Error) => e);
    await waitFor(() => engine.stats().queued === 1, 2000, 'the second request to queue');
    queued.abort();
    await waitFor(() => engine.stats().queued === 0, 500, 'the queue to empty');
    expect(engine.stats().slotsBusy).toBe(1);
    running.abort();
    await waitFor(() => engine.stats().slotsBusy === 0, 500, 'slotsBusy to return to 0');
    expect(await p1).toBeInstanceOf(Error);
    expect(await p2).toBeInstanceOf(Error);
    // The server still serves, and counted the abandoned requests as 499 (client closed request).
    expect((await postJson(`${s.url}/v1/completions`, { prompt: 'z', max_tokens: 1 })).status).toBe(200);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toContain('rocforge_http_requests_total{method="POST",route="/v1/completions",status="499"} 2');
  });
});

describe('GET /metrics', () => {
  it('exposes requests, tokens, tokens/s, queue depth, busy slots and KV-cache use in Prometheus text', async () => {
    const engine = new FakeEngine();
    const s = await serve(engine);
    await postJson(`${s.url}/v1/completions`, { prompt: 'abc', max_tokens: 4 });
    await postJson(`${s.url}/v1/completions`, { prompt: 'de', max_tokens: 3 });
    const res = await fetch(`${s.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (name: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      if (!line) throw new Error(`${name} missing from:\n${text}`);
      return Number(line.split(' ')[1]);
    };
    expect(value('rocforge_requests_total')).toBe(2);
    expect(value('rocforge_prompt_tokens_total')).toBe(5);
    expect(value('rocforge_generated_tokens_total')).toBe(7);
    expect(value('rocforge_queue_depth')).toBe(0);
    expect(value('rocforge_slots_busy')).toBe(0);
    expect(value('rocforge_slots_total')).toBe(2);
    expect(value('rocforge_kv_cache_total_tokens')).toBe(512);
    expect(value('rocforge_kv_cache_used_tokens')).toBe(0);
    expect(value('rocforge_model_loaded')).toBe(1);
    expect(text).toContain('# TYPE rocforge_tokens_per_second gauge');
    expect(text).toMatch(/rocforge_http_requests_total\{method="POST",route="\/v1\/completions",status="200"\} 2/);
    expect(value('rocforge_generation_duration_seconds_count')).toBe(2);
    expect(text).toContain('rocforge_generation_duration_seconds_bucket{le="+Inf"} 2');
    expect(value('rocforge_time_to_first_token_seconds_count')).toBe(0);
    const { events } = await readEvents(await postJson(`${s.url}/v1/completions`, { prompt: 'x', max_tokens: 2, stream: true }));
    expect(events.length).toBe(3);
    const after = await (await fetch(`${s.url}/metrics`)).text();
    expect(after).toContain('rocforge_time_to_first_token_seconds_count 1');
    expect(after).toContain('rocforge_generation_duration_seconds_count 3');
    // Bucket counts are cumulative.
    const buckets = [...after.matchAll(/rocforge_generation_duration_seconds_bucket\{le="[^"]+"\} (\d+)/g)].map((m) => Number(m[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(3);
  });
});
