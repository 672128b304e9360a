// The engine end to end on the CPU backend with the real stories260K model (llama.cpp's outputs in
// shared/oracle are the reference).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceEngine } from '../../src/engine/engine.ts';
import { createBackend } from '../../src/backends/index.ts';
import type { Backend } from '../../src/backends/backend.ts';
import { ContextOverflowError, DeviceOutOfMemoryError, GgufError, InvalidRequestError, ModelNotFoundError, QueueFullError } from '../../src/errors.ts';
import type { GenerateOptions, StreamChunk } from '../../src/engine/types.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import type { BackendChoice } from '../../src/engine/types.ts';

const MODEL = 'models/stories260K.gguf';
const skip = missingShared(MODEL);
/** cpu by default; ROCFORGE_ENGINE_BACKEND=webgpu (or hip) runs the same checks on a GPU. */
const BACKEND = (process.env.ROCFORGE_ENGINE_BACKEND ?? 'cpu') as BackendChoice;
const LILY = ', there was a little girl named Lily. She loved to play outside in the park.';
const greedy = { temperature: 0 } as const;

interface OracleCase {
  prompt: string;
  prompt_tokens: number[];
  tokens: number[];
  steps: Array<{ token: number; logprob: number; top: Array<[number, number]> }>;
}

describe.skipIf(skip)(`InferenceEngine on stories260K (${BACKEND})`, () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.create(sharedPath(MODEL), { backend: BACKEND, parallel: 4, contextLength: 256 });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it('continues "Once upon a time" greedily as llama.cpp does', async () => {
    const r = await engine.generate('Once upon a time', { ...greedy, maxTokens: 32 });
    expect(r.text.startsWith(LILY)).toBe(true);
    expect(r).toMatchObject({ tokensGenerated: 32, finishReason: 'length', promptTokens: 5 });
    expect(r.tokens).toHaveLength(32);
    expect(engine.detokenize(r.tokens)).toBe(r.text);
  });

  it('matches llama.cpp token for token, with top-8 logprobs, on every oracle prompt run concurrently', async () => {
    const oracle = JSON.parse(readFileSync(sharedPath('oracle/stories260K.json'), 'utf8')) as { cases: OracleCase[] };
    const results = await Promise.all(
      oracle.cases.map((c) => {
        expect(engine.tokenize(c.prompt)).toEqual(c.prompt_tokens);
        return engine.generate(c.prompt_tokens, { ...greedy, maxTokens: c.tokens.length, logprobs: 8 });
      }),
    );
    results.forEach((r, i) => {
      const c = oracle.cases[i]!;
      expect(r.tokens).toEqual(c.tokens);
      expect(r.logprobs).toHaveLength(c.steps.length);
      r.logprobs!.forEach((lp, j) => {
        const step = c.steps[j]!;
        expect(lp.token).toBe(step.token);
        // llama.cpp's CPU path rounds differently (f16 activations in places): a few 1e-3 apart
        expect(Math.abs(lp.logprob - step.logprob)).toBeLessThan(3e-3);
        expect(lp.top).toHaveLength(8);
        // ids may swap where two logprobs are nearly equal; the values must agree in order
        lp.top.forEach(([, v], k) => expect(Math.abs(v - step.top[k]![1])).toBeLessThan(1e-2));
      });
    });
  });

  it('streams the same tokens and text as generate()', async () => {
    const opts: GenerateOptions = { temperature: 0.9, seed: 7, maxTokens: 30 };
    const whole = await engine.generate('The little dog', opts);
    const chunks: StreamChunk[] = [];
    const s = engine.generateStreaming('The little dog', opts);
    for await (const c of s) chunks.push(c);
    expect(chunks.map((c) => c.token).filter((t) => t >= 0)).toEqual(whole.tokens);
    expect(chunks.map((c) => c.text).join('')).toBe(whole.text);
    expect((await s.result()).text).toBe(whole.text);
  });

  it('returns an empty result for maxTokens 0, and runs an empty prompt from BOS alone', async () => {
    const none = await engine.generate('Once upon a time', { maxTokens: 0 });
    expect(none).toMatchObject({ text: '', tokens: [], tokensGenerated: 0, finishReason: 'length', promptTokens: 5 });
    const fromBos = await engine.generate('', { ...greedy, maxTokens: 8 });
    expect(fromBos.promptTokens).toBe(1);
    expect(fromBos.tokensGenerated).toBe(8);
    expect(fromBos.tokens).toEqual((await engine.generate([1], { ...greedy, maxTokens: 8 })).tokens);
  });

  it('samples reproducibly for a seed, and differently for another', async () => {
    const opts = { temperature: 1.2, topK: 0, topP: 1, minP: 0, maxTokens: 40 };
    const a = await engine.generate('Once upon a time', { ...opts, seed: 1234 });
    const b = await engine.generate('Once upon a time', { ...opts, seed: 1234 });
    const c = await engine.generate('Once upon a time', { ...opts, seed: 98765 });
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('is greedy when a filter leaves one token: topK 1, topP 0, minP 1', async () => {
    const g = (await engine.generate('Tim had a red ball. He', { ...greedy, maxTokens: 16 })).tokens;
    for (const f of [{ topK: 1 }, { topK: 0, topP: 0, minP: 0 }, { topK: 0, topP: 1, minP: 1 }]) {
      const r = await engine.generate('Tim had a red ball. He', { temperature: 3, seed: 5, maxTokens: 16, ...f });
      expect(r.tokens).toEqual(g);
    }
  });

  it('penalties steer away from repeated tokens', async () => {
    const plain = await engine.generate('Once upon a time', { ...greedy, maxTokens: 48 });
    const penalized = await engine.generate('Once upon a time', { ...greedy, maxTokens: 48, repeatPenalty: 1.5, penaltyLastN: 64 });
    const freq = await engine.generate('Once upon a time', { ...greedy, maxTokens: 48, frequencyPenalty: 1, presencePenalty: 1 });
    const distinct = (t: number[]) => new Set(t).size;
    expect(penalized.tokens).not.toEqual(plain.tokens);
    expect(distinct(penalized.tokens)).toBeGreaterThan(distinct(plain.tokens));
    expect(distinct(freq.tokens)).toBeGreaterThan(distinct(plain.tokens));
  });

  it('stops before a stop string, also one spanning tokens, and never streams part of it', async () => {
    const r = await engine.generate('Once upon a time', { ...greedy, maxTokens: 40, stop: ['girl named'] });
    expect(r.text).toBe(', there was a little ');
    expect(r.finishReason).toBe('stop');
    // the stop string covered more than one token, and those tokens were generated
    expect(engine.detokenize(r.tokens)).toBe(', there was a little girl named');
    const pieces: string[] = [];
    for await (const c of engine.generateStreaming('Once upon a time', { ...greedy, maxTokens: 40, stop: ['Lily.', 'park'] })) pieces.push(c.text);
    expect(pieces.join('')).toBe(', there was a little girl named ');
    expect(pieces.some((p) => p.includes('Lily'))).toBe(false);
  });

  it('releases the held-back start of a stop string that never completes', async () => {
    const r = await engine.generate('Once upon a time', { ...greedy, maxTokens: 3, stop: [', there was a little boy'] });
    expect(r.finishReason).toBe('length');
    expect(r.text).toBe(engine.detokenize(r.tokens));
    expect(r.text.length).toBeGreaterThan(0);
  });

  it('frees the slot at once when a stream is abandoned or aborted', async () => {
    let n = 0;
    const s = engine.generateStreaming('Once upon a time', { ...greedy, maxTokens: 100 });
    for await (const _ of s) if (++n === 3) break;
    expect(engine.stats().slotsBusy).toBe(0);
    await expect(s.result()).rejects.toMatchObject({ name: 'AbortError' });

    const ac = new AbortController();
    const seen: string[] = [];
    const p = (async () => {
      for await (const c of engine.generateStreaming('The little dog', { ...greedy, maxTokens: 100, signal: ac.signal })) {
        seen.push(c.text);
        if (seen.length === 2) ac.abort();
      }
    })();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toHaveLength(2);
    expect(engine.stats().slotsBusy).toBe(0);

    await expect(engine.generate('x', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects bad requests with InvalidRequestError naming the option', async () => {
    const bad: Array<[unknown, unknown, RegExp]> = [
      ['hi', { maxTokens: -1 }, /maxTokens/],
      ['hi', { maxTokens: 1.5 }, /maxTokens/],
      ['hi', { temperature: 'hot' }, /temperature/],
      ['hi', { temperature: -0.1 }, /temperature/],
      ['hi', { topP: 2 }, /topP/],
      ['hi', { topK: -3 }, /topK/],
      ['hi', { repeatPenalty: 0 }, /repeatPenalty/],
      ['hi', { stop: 5 }, /stop/],
      ['hi', { stop: ['ok', 3] }, /stop\[1\]/],
      ['hi', { seed: 'abc' }, /seed/],
      ['hi', { logprobs: -1 }, /logprobs/],
      ['hi', { signal: 'no' }, /signal/],
      [{ text: 'hi' }, {}, /prompt/],
      [[1, 2, 99999], {}, /prompt\[2\]/],
      [[1, -1], {}, /prompt\[1\]/],
    ];
    for (const [prompt, opts, msg] of bad) {
      const call = engine.generate(prompt as string, opts as GenerateOptions);
      await expect(call).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(call).rejects.toThrow(msg);
    }
    await expect(engine.chat([{ role: 'robot', content: 'x' }] as never)).rejects.toThrow(/role/);
    await expect(engine.chat([])).rejects.toBeInstanceOf(InvalidRequestError);
    expect(engine.stats().slotsBusy).toBe(0);
  });

  it('chats through the plain transcript (the model has no template), ending the reply before the next turn', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me a story about Lily.' }];
    const prompt = engine.renderChat(messages);
    expect(prompt).toBe('User: Tell me a story about Lily.\nAssistant:');
    const r = await engine.chat(messages, { ...greedy, maxTokens: 60 });
    expect(r.promptTokens).toBe(engine.tokenize(prompt).length);
    expect(r.text).not.toContain('\nUser:');
    const again: string[] = [];
    for await (const c of engine.chatStreaming(messages, { ...greedy, maxTokens: 60 })) again.push(c.text);
    expect(again.join('')).toBe(r.text);
  });

  it('reuses the K/V of a shared prompt prefix (a chat growing turn by turn) without changing the output', async () => {
    const h: Array<{ role: 'user' | 'assistant'; content: string }> = [{ role: 'user', content: 'Where is the red ball?' }];
    const a1 = await engine.chat(h, { ...greedy, maxTokens: 20 });
    h.push({ role: 'assistant', content: a1.text }, { role: 'user', content: 'And the dog?' });
    const a2 = await engine.chat(h, { ...greedy, maxTokens: 20, logprobs: 3 });
    // the whole first prompt and the reply tokens that went into the cache are reused
    expect(a2.cachedPromptTokens).toBeGreaterThanOrEqual(a1.promptTokens);
    const cold = await InferenceEngine.create(sharedPath(MODEL), { backend: BACKEND, contextLength: 256, promptCache: false });
    try {
      const ref = await cold.chat(h, { ...greedy, maxTokens: 20, logprobs: 3 });
      expect(ref.cachedPromptTokens).toBeUndefined();
      expect(a2.tokens).toEqual(ref.tokens);
      a2.logprobs!.forEach((lp, i) => expect(lp.logprob).toBeCloseTo(ref.logprobs![i]!.logprob, 4));
    } finally {
      await cold.dispose();
    }
  });

  it('reports stats for /metrics', async () => {
    const before = engine.stats();
    const r = await engine.generate('One day, a big', { ...greedy, maxTokens: 5 });
    const after = engine.stats();
    expect(after.requestsTotal - before.requestsTotal).toBe(1);
    // prompt tokens are either computed or reused from a slot's cache
    expect(after.promptTokensTotal - before.promptTokensTotal + (r.cachedPromptTokens ?? 0)).toBe(r.promptTokens);
    expect(after.promptTokensCachedTotal - before.promptTokensCachedTotal).toBe(r.cachedPromptTokens ?? 0);
    expect(after.generatedTokensTotal - before.generatedTokensTotal).toBe(5);
    expect(after).toMatchObject({ slotsTotal: 4, slotsBusy: 0, activeSequences: 0, queued: 0, kvCacheTotalTokens: 4 * 256, kvCacheUsedTokens: 0 });
    const s = engine.generateStreaming('One day, a big', { ...greedy, maxTokens: 50 });
    const it = s[Symbol.asyncIterator]();
    await it.next();
    const mid = engine.stats();
    expect(mid).toMatchObject({ activeSequences: 1, slotsBusy: 1 });
    expect(mid.kvCacheUsedTokens).toBeGreaterThanOrEqual(r.promptTokens);
    s.cancel();
  });

  it('reports timings', async () => {
    const r = await engine.generate('Once upon a time', { ...greedy, maxTokens: 10 });
    expect(r.timings.promptTokens).toBe(5);
    expect(r.timings.generatedTokens).toBe(10);
    expect(r.timings.promptMs).toBeGreaterThan(0);
    expect(r.timings.generateMs).toBeGreaterThan(0);
    expect(r.timings.tokensPerSecond).toBeCloseTo((9 * 1000) / r.timings.generateMs, 6);
  });
});

describe.skipIf(skip)('InferenceEngine limits and lifecycle (stories260K, cpu)', () => {
  it('refuses a prompt plus maxTokens beyond the context, and caps an unset maxTokens to fit', async () => {
    const e = await InferenceEngine.create(sharedPath(MODEL), { backend: 'cpu', contextLength: 12 });
    try {
      await expect(e.generate('Once upon a time', { maxTokens: 8 })).rejects.toBeInstanceOf(ContextOverflowError);
      await expect(e.generate('Once upon a time', { maxTokens: 8 })).rejects.toThrow(/at most 7 tokens/);
      const long = 'Lily and Tom went to the park. They saw a big dog.';
      expect(e.tokenize(long).length).toBeGreaterThan(12);
      await expect(e.generate(long, { maxTokens: 0 })).rejects.toThrow(ContextOverflowError);
      const r = await e.generate('Once upon a time', greedy);
      expect(r).toMatchObject({ tokensGenerated: 7, finishReason: 'length' });
      const fits = await e.generate('Once upon a time', { ...greedy, maxTokens: 7 });
      expect(fits.tokens).toEqual(r.tokens);
    } finally {
      await e.dispose();
    }
  });

  it('queues requests beyond its slots and refuses them beyond maxQueue', async () => {
    const e = await InferenceEngine.create(sharedPath(MODEL), { backend: 'cpu', parallel: 1, maxQueue: 1, contextLength: 64 });
    try {
      const a = e.generate('Once upon a time', { ...greedy, maxTokens: 6 });
      const b = e.generate('The little dog', { ...greedy, maxTokens: 6 });
      expect(e.stats()).toMatchObject({ slotsBusy: 1, queued: 1 });
      expect(() => e.generateStreaming('Hello', { maxTokens: 6 })).toThrow(QueueFullError);
      const [ra, rb] = await Promise.all([a, b]);
      expect(ra.text.startsWith(LILY.slice(0, 20))).toBe(true);
      expect(rb.tokensGenerated).toBe(6);
    } finally {
      await e.dispose();
    }
  });

  it('rejects a missing file, a non-GGUF file and bad options with typed errors', async () => {
    await expect(InferenceEngine.create('/nonexistent/model.gguf', { backend: 'cpu' })).rejects.toBeInstanceOf(ModelNotFoundError);
    const dir = mkdtempSync(join(tmpdir(), 'rocforge-engine-'));
    const junk = join(dir, 'junk.gguf');
    writeFileSync(junk, 'this is not a gguf file, just some text that is long enough to read a header from');
    await expect(InferenceEngine.create(junk, { backend: 'cpu' })).rejects.toBeInstanceOf(GgufError);
    await expect(InferenceEngine.create(sharedPath(MODEL), { backend: 'cpu', parallel: 0 })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(InferenceEngine.create(sharedPath(MODEL), { backend: 'gpu' as never })).rejects.toThrow(/backend/);
  });

  it('dispose() returns device memory to the baseline and fails what was still running', async () => {
    const backend = await createBackend('cpu');
    const baseline = backend.memoryInUse();
    let loaded = 0;
    let total = 0;
    const e = await InferenceEngine.create(sharedPath(MODEL), {
      backend,
      parallel: 2,
      contextLength: 128,
      onProgress: (l, t) => {
        loaded = l;
        total = t;
      },
    });
    expect(total).toBeGreaterThan(0);
    expect(loaded).toBe(total);
    expect(backend.memoryInUse()).toBeGreaterThan(baseline);
    await e.generate('Once upon a time', { ...greedy, maxTokens: 4 });
    const running = e.generate('Once upon a time', { ...greedy, maxTokens: 100 });
    await e.dispose();
    await expect(running).rejects.toThrow(/disposed/);
    expect(backend.memoryInUse()).toBe(baseline);
    await expect(e.generate('x')).rejects.toThrow(/disposed/);
    backend.dispose();
  });
});

/**
 * A CPU backend whose `failAt`-th scratch allocation (createTensor or createIndex, counted from the
 * start) throws DeviceOutOfMemoryError, as a device that runs out of memory part-way through a
 * batch's scratch set would.
 */
function outOfMemoryAt(inner: Backend): { backend: Backend; calls: number; failAt: number } {
  const state = { backend: inner, calls: 0, failAt: Infinity };
  state.backend = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const f = (v as (...a: unknown[]) => unknown).bind(target);
      if (prop !== 'createTensor' && prop !== 'createIndex') return f;
      return (...args: unknown[]) => {
        if (++state.calls === state.failAt) throw new DeviceOutOfMemoryError(`${prop}: out of device memory (simulated)`);
        return f(...args);
      };
    },
  });
  return state;
}

describe.skipIf(skip)('InferenceEngine when the device runs out of memory part-way through a batch', () => {
  const prompt = 'Once upon a time';
  const request = { ...greedy, maxTokens: 4 } as const;
  const open = (backend: Backend): Promise<InferenceEngine> => InferenceEngine.create(sharedPath(MODEL), { backend, contextLength: 64 });

  it('gives back what the failed request allocated, then answers as a clean engine does', async () => {
    const cpu = await createBackend('cpu');
    // A clean engine: the prefill step alone (maxTokens 1) and the whole request, with the
    // scratch allocations and memory each leaves behind.
    const clean = outOfMemoryAt(cpu);
    let e = await open(clean.backend);
    const baseline = cpu.memoryInUse();
    await e.generate(prompt, { ...greedy, maxTokens: 1 });
    const prefillCalls = clean.calls;
    const prefillMemory = cpu.memoryInUse() - baseline;
    await e.dispose();
    clean.calls = 0;
    e = await open(clean.backend);
    const want = await e.generate(prompt, request);
    const requestCalls = clean.calls;
    const requestMemory = cpu.memoryInUse() - baseline;
    await e.dispose();
    cpu.dispose();
    expect(want.tokens).toHaveLength(4);
    // Decode steps need a scratch set of their own (one row) after the prompt's.
    expect(requestCalls).toBeGreaterThan(prefillCalls);
    expect(prefillCalls).toBeGreaterThan(1);

    const seed = Date.now();
    console.log(`scratch out-of-memory property seed: ${seed}`);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: requestCalls }), async (n) => {
        // A backend of its own, so that a leak in one run cannot fail the next.
        const own = await createBackend('cpu');
        const faulty = outOfMemoryAt(own);
        const engine = await open(faulty.backend);
        try {
          const before = own.memoryInUse();
          faulty.failAt = faulty.calls + n;
          await expect(engine.generate(prompt, request)).rejects.toBeInstanceOf(DeviceOutOfMemoryError);
          // Only the sets of steps that completed stay cached: the prompt's, when the failure came in a decode step.
          expect(own.memoryInUse() - before).toBe(n <= prefillCalls ? 0 : prefillMemory);
          faulty.failAt = Infinity;
          const again = await engine.generate(prompt, request);
          expect(again.tokens).toEqual(want.tokens);
          expect(again.text).toBe(want.text);
          expect(own.memoryInUse() - before).toBe(requestMemory);
        } finally {
          await engine.dispose();
        }
        expect(own.memoryInUse()).toBe(0);
        own.dispose();
      }),
      { seed, numRuns: 12 },
    );
  });
});
