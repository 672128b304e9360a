// A small deterministic engine for unit tests of the HTTP layer (the e2e tests use the real one).
// Tokens are UTF-8 bytes, so multi-byte characters span several tokens exactly as with byte-fallback
// vocabularies; each sequence produces one token per `stepMs`; slots, a bounded queue and aborts
// behave as the real engine's contract says.
import { ContextOverflowError, InvalidRequestError } from '../../src/errors.ts';
import type { ChatMessage, GenerateOptions, GenerateResult, Prompt, StreamChunk, TokenLogprob } from '../../src/engine/types.ts';
import type { ServingEngine, ServingStats } from '../../src/server/serving-engine.ts';

export class FakeQueueFullError extends Error {
  override name = 'QueueFullError';
}

export interface FakeEngineOptions {
  parallel?: number;
  maxQueue?: number;
  contextLength?: number;
  stepMs?: number;
  /** What every generation says (then it stops with finish_reason "stop"). */
  reply?: string;
}

function abortError(): Error {
  return new DOMException('The operation was aborted.', 'AbortError');
}

export class FakeEngine implements ServingEngine {
  readonly parallel: number;
  readonly maxQueue: number;
  readonly contextLength: number;
  readonly stepMs: number;
  readonly reply: Uint8Array;
  /** Options of every request, in order (for asserting the parameter mapping). */
  readonly seenOptions: GenerateOptions[] = [];
  readonly seenPrompts: Prompt[] = [];
  disposed = false;

  private busy = 0;
  private readonly waiting: Array<() => void> = [];
  private totals = { prompt: 0, generated: 0, requests: 0, kvUsed: 0 };

  constructor(o: FakeEngineOptions = {}) {
    this.parallel = o.parallel ?? 2;
    this.maxQueue = o.maxQueue ?? 4;
    this.contextLength = o.contextLength ?? 256;
    this.stepMs = o.stepMs ?? 2;
    this.reply = new TextEncoder().encode(o.reply ?? 'Hi wörld 🙂!');
  }

  tokenize(text: string): number[] {
    return [...new TextEncoder().encode(text)];
  }

  detokenize(tokens: number[]): string {
    return new TextDecoder().decode(Uint8Array.from(tokens));
  }

  stats(): ServingStats {
    return {
      activeSequences: this.busy,
      queued: this.waiting.length,
      slotsTotal: this.parallel,
      slotsBusy: this.busy,
      kvCacheUsedTokens: this.totals.kvUsed,
      kvCacheTotalTokens: this.parallel * this.contextLength,
      promptTokensTotal: this.totals.prompt,
      generatedTokensTotal: this.totals.generated,
      requestsTotal: this.totals.requests,
    };
  }

  dispose(): void {
    this.disposed = true;
  }

  renderChat(messages: ChatMessage[]): string {
    return messages.map((m) => `<${m.role}>${m.content}`).join('') + '<assistant>';
  }

  async generate(prompt: Prompt, opts: GenerateOptions = {}): Promise<GenerateResult> {
    const it = this.run(prompt, opts);
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
    }
  }

  generateStreaming(prompt: Prompt, opts: GenerateOptions = {}): AsyncGenerator<StreamChunk, GenerateResult> {
    return this.run(prompt, opts);
  }

  chat(messages: ChatMessage[], opts: GenerateOptions = {}): Promise<GenerateResult> {
    return this.generate(this.renderChat(messages), opts);
  }

  chatStreaming(messages: ChatMessage[], opts: GenerateOptions = {}): AsyncGenerator<StreamChunk, GenerateResult> {
    return this.run(this.renderChat(messages), opts);
  }

  private async acquire(signal: AbortSignal | undefined): Promise<void> {
    if (this.busy < this.parallel) {
      this.busy++;
      return;
    }
    if (this.waiting.length >= this.maxQueue) throw new FakeQueueFullError(`queue full (${this.maxQueue} waiting)`);
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.busy++;
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(wake);
    });
  }

  private release(kv: number): void {
    this.busy--;
    this.totals.kvUsed -= kv;
    this.waiting.shift()?.();
  }

  private async *run(prompt: Prompt, opts: GenerateOptions): AsyncGenerator<StreamChunk, GenerateResult> {
    this.seenOptions.push(opts);
    this.seenPrompts.push(prompt);
    const promptTokens = typeof prompt === 'string' ? this.tokenize(prompt) : prompt;
    const maxTokens = opts.maxTokens ?? 16;
    if (maxTokens < 0) throw new InvalidRequestError(`maxTokens must be >= 0, got ${maxTokens}`);
    if (promptTokens.some((t) => t > 255)) throw new InvalidRequestError('token id out of range: the vocabulary has 256 tokens');
    if (promptTokens.length + maxTokens > this.contextLength) {
      throw new ContextOverflowError(`the prompt (${promptTokens.length} tokens) plus max_tokens (${maxTokens}) exceed the context of ${this.contextLength} tokens; shorten the prompt or lower max_tokens`);
    }
    if (opts.signal?.aborted) throw abortError();
    await this.acquire(opts.signal);
    this.totals.requests++;
    this.totals.prompt += promptTokens.length;
    let kv = promptTokens.length;
    this.totals.kvUsed += kv;
    const decoder = new TextDecoder();
    const stops = opts.stop === undefined ? [] : typeof opts.stop === 'string' ? [opts.stop] : opts.stop;
    const tokens: number[] = [];
    const logprobs: TokenLogprob[] = [];
    let text = '';
    let finishReason: 'stop' | 'length' = 'length';
    const started = Date.now();
    try {
      for (let i = 0; i < maxTokens; i++) {
        await new Promise((r) => setTimeout(r, this.stepMs));
        if (opts.signal?.aborted) throw abortError();
        if (i >= this.reply.length) {
          finishReason = 'stop';
          break;
        }
        const token = this.reply[i]!;
        tokens.push(token);
        kv++;
        this.totals.kvUsed++;
        this.totals.generated++;
        let piece = decoder.decode(Uint8Array.of(token), { stream: true });
        const lp: TokenLogprob | undefined =
          opts.logprobs !== undefined ? { token, logprob: -0.25 * (i % 4), top: Array.from({ length: opts.logprobs }, (_, k) => [(token + k) % 256, -0.25 * (i % 4) - k] as [number, number]) } : undefined;
        if (lp) logprobs.push(lp);
        const hit = stops.map((s) => (text + piece).indexOf(s)).filter((x) => x >= 0);
        if (hit.length > 0) {
          piece = (text + piece).slice(text.length, Math.min(...hit));
          text += piece;
          if (piece) yield { text: piece, token, ...(lp ? { logprob: lp } : {}) };
          finishReason = 'stop';
          break;
        }
        text += piece;
        yield { text: piece, token, ...(lp ? { logprob: lp } : {}) };
      }
    } finally {
      this.release(kv);
    }
    const ms = Math.max(1, Date.now() - started);
    return {
      text,
      tokens,
      tokensGenerated: tokens.length,
      finishReason,
      promptTokens: promptTokens.length,
      timings: { promptTokens: promptTokens.length, promptMs: 0, generatedTokens: tokens.length, generateMs: ms, promptTokensPerSecond: 0, tokensPerSecond: (tokens.length * 1000) / ms },
      ...(opts.logprobs !== undefined ? { logprobs } : {}),
    };
  }
}
