// The scheduler against a small deterministic "model" whose KV cache is real state: the next token
// depends on every token written to the row's slot at positions 0..pos, and the cache refuses
// writes that skip positions. So wrong slots, positions or row routing change the output.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Scheduler, type BatchModel, type ForwardBatch } from '../../src/engine/scheduler.ts';
import { Sequence } from '../../src/engine/sequence.ts';
import { GenerationStream } from '../../src/engine/generation-stream.ts';
import { Sampler } from '../../src/engine/sampler.ts';
import { QueueFullError } from '../../src/errors.ts';
import type { GenerateResult, StreamChunk } from '../../src/engine/types.ts';

const V = 32;
const EOG = 0;

class ToyModel implements BatchModel {
  readonly vocabSize = V;
  readonly kv: number[][];
  readonly batches: ForwardBatch[] = [];
  failNext = false;
  constructor(nSlots: number) {
    this.kv = Array.from({ length: nSlots }, () => []);
  }
  async forward(b: ForwardBatch): Promise<Float32Array> {
    this.batches.push(b);
    // the real model's contract: at least one row of logits per batch
    if (b.logitRows.length === 0) throw new Error('forward: logitRows is empty');
    if (this.failNext) {
      this.failNext = false;
      throw new Error('device lost');
    }
    for (let r = 0; r < b.tokens.length; r++) {
      const cache = this.kv[b.slots[r]!]!;
      const pos = b.positions[r]!;
      if (pos > cache.length) throw new Error(`slot ${b.slots[r]} written at ${pos} after only ${cache.length} positions`);
      cache.length = pos;
      cache.push(b.tokens[r]!);
    }
    const out = new Float32Array(b.logitRows.length * V);
    b.logitRows.forEach((row, i) => {
      const cache = this.kv[b.slots[row]!]!.slice(0, b.positions[row]! + 1);
      let h = 2166136261;
      for (const t of cache) h = Math.imul(h ^ t, 16777619) >>> 0;
      // avoid EOG unless the history is long, so sequences run a while
      const next = cache.length > 40 ? 0 : 1 + (h % (V - 1));
      for (let v = 0; v < V; v++) out[i * V + v] = v === next ? 5 : Math.sin(h + v);
    });
    await new Promise((r) => setTimeout(r, 0));
    return out;
  }
}

let nextId = 1;
function start(sched: Scheduler, prompt: number[], maxTokens: number, stop: string[] = []): GenerationStream {
  let seq: Sequence | undefined;
  const stream = new GenerationStream((reason) => sched.cancel(seq!, reason));
  seq = new Sequence({
    id: nextId++,
    promptTokens: prompt,
    maxTokens,
    sampler: new Sampler({ temperature: 0 }),
    stop,
    logprobs: 0,
    isEog: (t) => t === EOG,
    decoder: { push: (t) => String.fromCharCode(96 + t), flush: () => '' },
    stream,
  });
  sched.submit(seq);
  return stream;
}

const opts = { nSlots: 4, contextLength: 128, maxQueue: 8, prefillChunk: 16 };

describe('Scheduler', () => {
  it('generates, streams and reports the same text', async () => {
    const sched = new Scheduler(new ToyModel(4), opts);
    const s = start(sched, [1, 2, 3], 10);
    const chunks: StreamChunk[] = [];
    for await (const c of s) chunks.push(c);
    const r = await s.result();
    expect(r.tokensGenerated).toBe(10);
    expect(r.finishReason).toBe('length');
    expect(chunks.map((c) => c.token)).toEqual(r.tokens);
    expect(chunks.map((c) => c.text).join('')).toBe(r.text);
    expect(r.text).toBe(r.tokens.map((t) => String.fromCharCode(96 + t)).join(''));
    expect(sched.stats()).toMatchObject({ slotsBusy: 0, activeSequences: 0, requestsTotal: 1, promptTokensTotal: 3, generatedTokensTotal: 10 });
  });

  it('stops on an end-of-generation token without emitting it', async () => {
    const sched = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1 });
    const s = start(sched, [5], 100);
    const r = await s.result();
    expect(r.finishReason).toBe('stop');
    expect(r.tokens).not.toContain(EOG);
    // the toy model emits EOG once 41 tokens sit in the slot: 1 prompt + 40 generated
    expect(r.tokensGenerated).toBe(40);
  });

  it('gives every request the output it gets alone, whatever joins it and when (property)', async () => {
    const seed = Date.now();
    console.log(`scheduler batching property seed: ${seed}`);
    const aloneOf = async (prompt: number[], max: number): Promise<number[]> => {
      const sched = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1 });
      return (await start(sched, prompt, max).result()).tokens;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            // a few shared openings, so slots get reused for common prefixes
            prompt: fc
              .tuple(fc.constantFrom([], [3, 1, 4, 1, 5], [3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8]), fc.array(fc.integer({ min: 1, max: V - 1 }), { maxLength: 30 }))
              .map(([head, tail]) => [...head, ...tail])
              .filter((p) => p.length > 0),
            max: fc.integer({ min: 1, max: 30 }),
            delay: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 20 }),
        async (reqs, nSlots, chunk) => {
          const model = new ToyModel(nSlots);
          const sched = new Scheduler(model, { nSlots, contextLength: 128, maxQueue: 16, prefillChunk: chunk });
          const results = await Promise.all(
            reqs.map(async (r) => {
              for (let i = 0; i < r.delay; i++) await new Promise((res) => setImmediate(res));
              return (await start(sched, r.prompt, r.max).result()).tokens;
            }),
          );
          for (let i = 0; i < reqs.length; i++) expect(results[i]).toEqual(await aloneOf(reqs[i]!.prompt, reqs[i]!.max));
          expect(sched.stats().slotsBusy).toBe(0);
          // every forward respects the prefill budget plus one decode row per slot
          for (const b of model.batches) expect(b.tokens.length).toBeLessThanOrEqual(chunk + nSlots);
        },
      ),
      { seed, numRuns: 15 },
    );
  });

  it('reuses a free slot holding the prompt prefix, computing only the rest', async () => {
    const model = new ToyModel(2);
    const sched = new Scheduler(model, { ...opts, nSlots: 2 });
    const first = await start(sched, [4, 4, 2, 9, 9], 6).result();
    const stepsBefore = model.batches.length;
    const second = start(sched, [4, 4, 2, 9, 9, ...first.tokens.slice(0, 3), 7], 4);
    const r2 = await second.result();
    expect(r2.cachedPromptTokens).toBe(8);
    // the first prefill row of the second request starts right after the reused prefix
    expect(Array.from(model.batches[stepsBefore]!.positions)).toEqual([8]);
    const fresh = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1 });
    expect(r2.tokens).toEqual((await start(fresh, [4, 4, 2, 9, 9, ...first.tokens.slice(0, 3), 7], 4).result()).tokens);
    expect(sched.stats().promptTokensCachedTotal).toBe(8);
  });

  it('splits a long prompt into chunks while running sequences keep decoding every step', async () => {
    const model = new ToyModel(2);
    const sched = new Scheduler(model, { ...opts, nSlots: 2, prefillChunk: 8 });
    const a = start(sched, [1, 2], 30);
    // let `a` get going, then send a 40-token prompt
    const it = a[Symbol.asyncIterator]();
    await it.next();
    const before = model.batches.length;
    const b = start(sched, Array.from({ length: 40 }, (_, i) => 1 + (i % 30)), 3);
    await b.result();
    const during = model.batches.slice(before);
    const prefillSteps = during.filter((x) => x.tokens.length > 2);
    expect(during.every((x) => x.tokens.length === 9 || x.tokens.length <= 2)).toBe(true);
    expect(prefillSteps.length).toBe(5); // 40 prompt rows / 8 per step
    for (const x of prefillSteps) {
      expect(x.tokens.length).toBe(9); // 8 prompt rows + a's decode row
      expect(x.slots[0]).not.toBe(x.slots[1]);
    }
    a.cancel();
    await expect(a.result()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('frees the slot the moment a stream is abandoned, and hands it to a waiting request', async () => {
    const sched = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1 });
    const a = start(sched, [3, 4], 100);
    const b = start(sched, [7], 5);
    expect(sched.stats()).toMatchObject({ slotsBusy: 1, activeSequences: 1, queued: 1 });
    let n = 0;
    for await (const c of a) {
      expect(c.token).toBeGreaterThan(0);
      if (++n === 3) break;
    }
    expect(sched.stats()).toMatchObject({ slotsBusy: 1, activeSequences: 1, queued: 0 });
    await expect(a.result()).rejects.toMatchObject({ name: 'AbortError' });
    const rb = await b.result();
    expect(rb.tokensGenerated).toBe(5);
    expect(sched.stats().slotsBusy).toBe(0);
  });

  it('refuses requests beyond the queue bound with QueueFullError', async () => {
    const sched = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1, maxQueue: 2 });
    const running = [start(sched, [1], 5), start(sched, [2], 5), start(sched, [3], 5)];
    expect(() => start(sched, [4], 5)).toThrow(QueueFullError);
    expect(sched.stats()).toMatchObject({ queued: 2, slotsBusy: 1, requestsTotal: 3 });
    const rs: GenerateResult[] = await Promise.all(running.map((s) => s.result()));
    expect(rs.map((r) => r.tokensGenerated)).toEqual([5, 5, 5]);
  });

  it('fails the sequences of a batch whose forward throws, and goes on serving', async () => {
    const model = new ToyModel(2);
    const sched = new Scheduler(model, { ...opts, nSlots: 2 });
    model.failNext = true;
    const a = start(sched, [1], 5);
    await expect(a.result()).rejects.toThrow('device lost');
    expect(sched.stats().slotsBusy).toBe(0);
    const b = start(sched, [1], 5);
    expect((await b.result()).tokensGenerated).toBe(5);
  });

  it('close() fails pending work and refuses new requests', async () => {
    const sched = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1 });
    const a = start(sched, [1], 50);
    const b = start(sched, [2], 50);
    await sched.close(new Error('engine disposed'));
    await expect(a.result()).rejects.toThrow('engine disposed');
    await expect(b.result()).rejects.toThrow('engine disposed');
    expect(() => start(sched, [1], 5)).toThrow(/disposed/);
    expect(sched.stats()).toMatchObject({ slotsBusy: 0, queued: 0 });
  });

  it('releases held-back text in a final token -1 chunk when an end-of-generation token arrives', async () => {
    const sched = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1 });
    const full = await start(sched, [5], 100).result();
    expect(full.finishReason).toBe('stop');
    const lastChar = full.text.slice(-1);
    const s = start(sched, [5], 100, [`${lastChar}~never`]);
    const chunks: StreamChunk[] = [];
    for await (const c of s) chunks.push(c);
    const r = await s.result();
    expect(r).toMatchObject({ text: full.text, finishReason: 'stop', tokens: full.tokens });
    expect(chunks.at(-1)).toEqual({ text: lastChar, token: -1 });
    expect(chunks.map((c) => c.text).join('')).toBe(full.text);
  });

  it('holds back a stop string split across tokens and cuts the text before it', async () => {
    // find what the toy model says alone, then stop on a two-token string inside it
    const sched = new Scheduler(new ToyModel(1), { ...opts, nSlots: 1 });
    const full = await start(sched, [9, 9], 12).result();
    const stopStr = full.text.slice(4, 6);
    const cut = full.text.indexOf(stopStr);
    const s = start(sched, [9, 9], 12, [stopStr]);
    const texts: string[] = [];
    for await (const c of s) texts.push(c.text);
    const r = await s.result();
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe(full.text.slice(0, cut));
    expect(texts.join('')).toBe(r.text);
    expect(r.tokens).toEqual(full.tokens.slice(0, cut + 2));
  });
});
