// One request's state while the scheduler runs it: prompt progress, KV slot, sampled tokens, text
// (held back at stop-string prefixes and incomplete UTF-8), logprobs and timings.
import type { FinishReason, GenerateResult, TokenLogprob } from './types.ts';
import type { Sampler } from './sampler.ts';
import { tokenLogprob } from './sampler.ts';
import { StopStringMatcher } from './stop-strings.ts';
import type { GenerationStream } from './generation-stream.ts';

/** Incremental detokenizer: never splits a UTF-8 character across pushes. */
export interface TokenTextDecoder {
  push(id: number): string;
  flush(): string;
}

export interface SequenceInit {
  id: number;
  promptTokens: readonly number[];
  maxTokens: number;
  sampler: Sampler;
  stop: readonly string[];
  /** Top-N logprobs per token; 0 = none. */
  logprobs: number;
  isEog: (id: number) => boolean;
  decoder: TokenTextDecoder;
  stream: GenerationStream;
}

export type SequenceState = 'queued' | 'prefill' | 'decode' | 'finished';

export class Sequence {
  readonly id: number;
  readonly promptTokens: readonly number[];
  readonly maxTokens: number;
  readonly stream: GenerationStream;
  state: SequenceState = 'queued';
  slot = -1;
  /** Tokens already written to this sequence's KV slot (positions 0..nPast-1). */
  nPast = 0;
  /** The last sampled token, fed at position nPast by the next decode step. */
  nextToken = -1;
  readonly generated: number[] = [];

  private readonly history: number[];
  private readonly sampler: Sampler;
  private readonly matcher: StopStringMatcher;
  private readonly logprobsN: number;
  private readonly isEog: (id: number) => boolean;
  private readonly decoder: TokenTextDecoder;
  private readonly logprobs: TokenLogprob[] = [];
  private text = '';
  private readonly tQueued = performance.now();
  private tStart = 0;
  private tFirst = 0;

  constructor(init: SequenceInit) {
    this.id = init.id;
    this.promptTokens = init.promptTokens;
    this.maxTokens = init.maxTokens;
    this.stream = init.stream;
    this.history = [...init.promptTokens];
    this.sampler = init.sampler;
    this.matcher = new StopStringMatcher(init.stop);
    this.logprobsN = init.logprobs;
    this.isEog = init.isEog;
    this.decoder = init.decoder;
  }

  get queuedMs(): number {
    return (this.tStart || performance.now()) - this.tQueued;
  }

  /** Prompt tokens whose K/V were already in the slot (prefix reuse). */
  cachedPromptTokens = 0;

  /** Got a KV slot whose first `cached` positions already hold this prompt's prefix: prefill starts after them. */
  start(slot: number, cached = 0): void {
    this.slot = slot;
    this.state = 'prefill';
    this.nPast = cached;
    this.cachedPromptTokens = cached;
    this.tStart = performance.now();
  }

  /** The tokens whose K/V this sequence has written to its slot (positions 0..nPast-1). */
  kvTokens(): number[] {
    return this.history.slice(0, this.nPast);
  }

  get promptRemaining(): number {
    return this.promptTokens.length - this.nPast;
  }

  /**
   * Samples from this sequence's row of logits and streams the token's text.
   * Returns the finish reason when the sequence is done, undefined when it goes on decoding.
   */
  accept(logits: Float32Array): FinishReason | undefined {
    const tok = this.sampler.sample(logits, this.history);
    if (this.generated.length === 0) this.tFirst = performance.now();
    if (this.isEog(tok)) return this.finishWith('stop');

    this.generated.push(tok);
    this.history.push(tok);
    const lp = this.logprobsN > 0 ? tokenLogprob(logits, tok, this.logprobsN) : undefined;
    if (lp) this.logprobs.push(lp);
    const last = this.generated.length >= this.maxTokens;
    let piece = this.decoder.push(tok);
    if (last) piece += this.decoder.flush();
    const { text, stopped } = this.matcher.push(piece);
    const out = stopped || !last ? text : text + this.matcher.flush();
    this.text += out;
    this.stream.push(lp ? { text: out, token: tok, logprob: lp } : { text: out, token: tok });
    if (stopped) return this.finishWith('stop', false);
    if (last) return this.finishWith('length', false);
    this.nextToken = tok;
    this.state = 'decode';
    return undefined;
  }

  /** Ends the sequence (releasing held-back text unless a stop string cut it) and resolves its stream. */
  finishWith(reason: FinishReason, flush = true): FinishReason {
    if (this.generated.length === 0 && !this.tFirst) this.tFirst = performance.now();
    if (flush) {
      const { text, stopped } = this.matcher.push(this.decoder.flush());
      const rest = stopped ? text : text + this.matcher.flush();
      if (rest) {
        this.text += rest;
        // No new token carries this text: it was held back (partial stop string / UTF-8) before the end.
        this.stream.push({ text: rest, token: -1 });
      }
    }
    this.state = 'finished';
    this.stream.end(this.result(reason));
    return reason;
  }

  fail(error: unknown): void {
    this.state = 'finished';
    this.stream.fail(error);
  }

  private result(finishReason: FinishReason): GenerateResult {
    const tEnd = performance.now();
    const promptMs = this.tStart ? this.tFirst - this.tStart : 0;
    const generateMs = this.tFirst ? tEnd - this.tFirst : 0;
    const n = this.generated.length;
    const r: GenerateResult = {
      text: this.text,
      tokens: [...this.generated],
      tokensGenerated: n,
      finishReason,
      promptTokens: this.promptTokens.length,
      timings: {
        promptTokens: this.promptTokens.length,
        promptMs,
        generatedTokens: n,
        generateMs,
        promptTokensPerSecond: promptMs > 0 ? (this.promptTokens.length * 1000) / promptMs : 0,
        // The first token comes out of prefill; the rest each took one decode step.
        tokensPerSecond: n > 1 && generateMs > 0 ? ((n - 1) * 1000) / generateMs : 0,
      },
    };
    if (this.logprobsN > 0) r.logprobs = this.logprobs;
    if (this.cachedPromptTokens > 0) r.cachedPromptTokens = this.cachedPromptTokens;
    return r;
  }
}
