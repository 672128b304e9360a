// End to end: the real engine and model behind the real HTTP server, on every available backend.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../../src/server/sse-reader.ts';
import { E2E_MODEL, e2eBackends, missingModel, oracleCases, startE2EServer, type E2EServer } from './helpers.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const skipModel = missingModel();
const backends = skipModel ? [] : await e2eBackends();
const oracle = skipModel ? undefined : oracleCases();
const PARALLEL = 8;

async function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - t0;
}

describe.skipIf(skipModel)(`e2e server on ${E2E_MODEL}`, () => {
  describe.each(backends)('backend $name', ({ name, skip }) => {
    let s: E2EServer;
    beforeAll(async () => {
      if (skip) return;
      s = await startE2EServer(name, { parallel: PARALLEL, contextLength: 256, maxQueue: 64 });
    });
    afterAll(async () => {
      if (skip || !s) return;
      await s.close();
      // Every device buffer the requests used was released with the engine: nothing leaked.
      expect(s.backend.memoryInUse()).toBe(s.memoryBefore);
      s.backend.dispose();
    });

    it.skipIf(skip)('generates a single token', async () => {
      const res = await post(`${s.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 1, temperature: 0 });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      expect(body.choices[0].finish_reason).toBe('length');
      expect(body.usage.completion_tokens).toBe(1);
      expect(body.usage.prompt_tokens).toBe(s.engine.tokenize('Once upon a time').length);
      const text = body.choices[0].text as string;
      expect(text.length).toBeGreaterThan(0);
      if (oracle) expect(text).toBe(s.engine.detokenize(oracle[0]!.tokens.slice(0, 1)));
    });

    it.skipIf(skip)('generates many tokens greedily, as llama.cpp does', async () => {
      const cases = oracle?.slice(0, 3) ?? [{ prompt: 'Once upon a time', completion: undefined, tokens: [] }];
      for (const c of cases) {
        const body = (await (await post(`${s.url}/v1/completions`, { prompt: c.prompt, max_tokens: 24, temperature: 0 })).json()) as Json;
        expect(body.usage.completion_tokens).toBeGreaterThan(1);
        if (c.completion !== undefined) expect(body.choices[0].text).toBe(c.completion);
      }
    });

    it.skipIf(skip)('streams chunks incrementally and marks completion in the final chunk', async () => {
      const prompt = 'Once upon a time';
      const whole = (await (await post(`${s.url}/v1/completions`, { prompt, max_tokens: 48, temperature: 0 })).json()) as Json;
      const res = await post(`${s.url}/v1/completions`, { prompt, max_tokens: 48, temperature: 0, stream: true, stream_options: { include_usage: true } });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const texts: string[] = [];
      const arrivals: number[] = [];
      let finish: string | null = null;
      let usage: Json | undefined;
      let done = false;
      for await (const ev of readSse(res.body!)) {
        if (ev.data === '[DONE]') {
          done = true;
          continue;
        }
        const c = JSON.parse(ev.data) as Json;
        if (c.usage) usage = c.usage;
        const choice = c.choices[0];
        if (!choice) continue;
        expect(finish).toBeNull(); // nothing after the final chunk but usage
        if (choice.finish_reason) finish = choice.finish_reason;
        else {
          texts.push(choice.text);
          arrivals.push(ev.at);
        }
      }
      expect(done).toBe(true);
      expect(finish).toBe(whole.choices[0].finish_reason);
      expect(texts.join('')).toBe(whole.choices[0].text);
      const { prompt_tokens_details: cached, ...counts } = usage!;
      const { prompt_tokens_details: _, ...wholeCounts } = whole.usage;
      expect(counts).toEqual(wholeCounts);
      // The same prompt again: its K/V prefix was reused from the slot (reported as OpenAI's cached_tokens).
      if (cached) expect(cached.cached_tokens).toBeGreaterThan(0);
      // Tokens were flushed as produced: they arrived over time, not in one final burst.
      expect(new Set(arrivals).size).toBeGreaterThanOrEqual(Math.min(8, texts.length / 2));
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(0);
    });

    it.skipIf(skip)('serves 16 concurrent requests in shared forward passes, then returns to idle', async () => {
      const cases = oracle ?? Array.from({ length: 4 }, (_, i) => ({ prompt: `Story number ${i}:`, completion: undefined, tokens: [] }));
      const jobs = Array.from({ length: 16 }, (_, i) => cases[i % cases.length]!);
      // The greedy reference of each distinct prompt: llama.cpp's, else ours one request at a time.
      const alone = new Map<string, string>();
      for (const c of cases) {
        alone.set(c.prompt, c.completion ?? ((await (await post(`${s.url}/v1/completions`, { prompt: c.prompt, max_tokens: 24, temperature: 0 })).json()) as Json).choices[0].text);
      }

      const before = s.engine.stats();
      let peakBusy = 0;
      let peakQueued = 0;
      const watch = setInterval(() => {
        const st = s.engine.stats();
        peakBusy = Math.max(peakBusy, st.slotsBusy);
        peakQueued = Math.max(peakQueued, st.queued);
      }, 1);
      const results = await Promise.all(
        jobs.map(async (c, i) => {
          const stream = i % 2 === 1;
          const res = await post(`${s.url}/v1/completions`, { prompt: c.prompt, max_tokens: 24, temperature: 0, stream });
          expect(res.status).toBe(200);
          if (!stream) return ((await res.json()) as Json).choices[0].text as string;
          let text = '';
          for await (const ev of readSse(res.body!)) if (ev.data !== '[DONE]') text += ((JSON.parse(ev.data) as Json).choices[0]?.text as string | undefined) ?? '';
          return text;
        }),
      );
      clearInterval(watch);
      results.forEach((text, i) => expect(text, `request ${i}: ${JSON.stringify(jobs[i]!.prompt)}`).toBe(alone.get(jobs[i]!.prompt)));

      const after = s.engine.stats();
      const generated = after.generatedTokensTotal - before.generatedTokensTotal;
      const steps = after.stepsTotal - before.stepsTotal;
      expect(after.requestsTotal - before.requestsTotal).toBe(16);
      // Continuous batching: far fewer forward passes than tokens, all slots used, the rest queued.
      expect(steps).toBeLessThan(generated / 3);
      expect(peakBusy).toBe(PARALLEL);
      expect(peakQueued).toBeGreaterThan(0);
      expect(after).toMatchObject({ slotsBusy: 0, queued: 0, activeSequences: 0, kvCacheUsedTokens: 0 });
    });

    it.skipIf(skip)('cancels the sequence and frees its slot when a streaming client disconnects', async () => {
      const ac = new AbortController();
      const res = await post(`${s.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 200, temperature: 0.8, seed: 1, stream: true }, ac.signal);
      const reader = res.body!.getReader();
      await reader.read();
      expect(s.engine.stats().slotsBusy).toBe(1);
      ac.abort();
      const ms = await waitFor(() => s.engine.stats().slotsBusy === 0, 1000, 'slotsBusy to return to 0');
      console.log(`[${name}] slot freed ${ms.toFixed(1)} ms after the client disconnected`);
      const generated = s.engine.stats().generatedTokensTotal;
      await new Promise((r) => setTimeout(r, 100));
      expect(s.engine.stats().generatedTokensTotal).toBe(generated);
      expect(s.engine.stats()).toMatchObject({ slotsBusy: 0, activeSequences: 0, kvCacheUsedTokens: 0 });
    });

    it.skipIf(skip)('answers chat completions in OpenAI format to the official openai client', async () => {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual([s.ctx.model.id]);
      const model = s.ctx.model.id;
      const messages = [{ role: 'user' as const, content: 'Tell me a story about a dog.' }];

      const chat = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0 });
      expect(chat.object).toBe('chat.completion');
      expect(chat.model).toBe(model);
      expect(chat.choices).toHaveLength(1);
      expect(chat.choices[0]!.message.role).toBe('assistant');
      expect(chat.choices[0]!.message.content!.length).toBeGreaterThan(0);
      expect(['stop', 'length']).toContain(chat.choices[0]!.finish_reason);
      expect(chat.usage!.total_tokens).toBe(chat.usage!.prompt_tokens + chat.usage!.completion_tokens);

      // Any model name is served by the one loaded model, and the reply names what served it.
      for (const other of ['default', 'gpt-4o', '']) {
        const r = await client.chat.completions.create({ model: other, messages, max_tokens: 4, temperature: 0 });
        expect(r.model).toBe(model);
        expect(r.choices[0]!.message.content).toBe(chat.choices[0]!.message.content!.slice(0, r.choices[0]!.message.content!.length));
      }

      const stream = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0, stream: true, stream_options: { include_usage: true } });
      let content = '';
      let role: string | undefined;
      let finish: string | null | undefined;
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (!choice) continue;
        role ??= choice.delta.role;
        content += choice.delta.content ?? '';
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      expect(role).toBe('assistant');
      expect(content).toBe(chat.choices[0]!.message.content);
      expect(finish).toBe(chat.choices[0]!.finish_reason);
      expect({ ...usage, prompt_tokens_details: undefined }).toEqual({ ...chat.usage, prompt_tokens_details: undefined });
      expect(usage!.prompt_tokens_details?.cached_tokens ?? 0).toBeLessThanOrEqual(usage!.prompt_tokens);

      const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
      expect(completion.object).toBe('text_completion');
      if (oracle) expect(oracle[0]!.completion.startsWith(completion.choices[0]!.text)).toBe(true);
      expect(completion.usage!.completion_tokens).toBe(8);

      const logprobs = await client.chat.completions.create({ model, messages, max_tokens: 3, temperature: 0, logprobs: true, top_logprobs: 3 });
      const lp = logprobs.choices[0]!.logprobs!.content!;
      expect(lp).toHaveLength(3);
      for (const t of lp) {
        expect(t.logprob).toBeLessThanOrEqual(0);
        expect(t.top_logprobs).toHaveLength(3);
        // Greedy: the chosen token is the most likely one.
        expect(t.top_logprobs[0]!.token).toBe(t.token);
        expect(t.top_logprobs[0]!.logprob).toBeCloseTo(t.logprob, 5);
      }
    });

    it.skipIf(skip)('rejects bad requests cleanly and keeps serving', async () => {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      // Invalid prompt formats.
      const chat = `${s.url}/v1/chat/completions`;
      expect((await post(chat, { messages: 'Once upon a time' })).status).toBe(400);
      expect((await post(chat, { messages: [{ role: 'narrator', content: 'x' }] })).status).toBe(400);
      const vocab = s.engine.hparams.vocabSize;
      const badToken = await post(`${s.url}/v1/completions`, { prompt: [1, vocab + 5] });
      expect(badToken.status).toBe(400);
      expect(((await badToken.json()) as Json).error.type).toBe('invalid_request_error');
      // A prompt longer than the 256-token context.
      const long = await post(`${s.url}/v1/completions`, { prompt: 'Once upon a time '.repeat(200), stream: true });
      expect(long.status).toBe(400);
      expect(((await long.json()) as Json).error.code).toBe('context_length_exceeded');
      const tooMany = await post(`${s.url}/v1/completions`, { prompt: 'hi', max_tokens: 1000 });
      expect(tooMany.status).toBe(400);
      expect(((await tooMany.json()) as Json).error.message).toContain('context');
      // Still serving.
      expect((await post(`${s.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 2 })).status).toBe(200);
      expect(s.engine.stats()).toMatchObject({ slotsBusy: 0, queued: 0 });
    });
  });
});
