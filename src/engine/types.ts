// The public engine API (seed plan): InferenceEngine.create(path, opts) -> engine.
import type { Backend, BackendName } from '../backends/backend.ts';
import type { Numerics } from '../backends/index.ts';

export type BackendChoice = BackendName | 'auto';

export interface EngineOptions {
  /** A backend name, or a Backend instance the caller owns (the engine then does not dispose it). */
  backend?: BackendChoice | Backend;
  /** 'exact' (default) or 'fast' GPU arithmetic; see Numerics in src/backends/index.ts. */
  numerics?: Numerics;
  /** Context window per sequence (default: the model's, capped at 4096). */
  contextLength?: number;
  /** Concurrent sequences (KV-cache slots) the engine serves; default 1. */
  parallel?: number;
  /** Called while weights load (loaded/total bytes). */
  onProgress?: (loaded: number, total: number) => void;
  /** Requests that may wait for a free slot; more are refused with QueueFullError. Default 64. */
  maxQueue?: number;
  /** Prompt tokens per batching step (chunked prefill); smaller keeps running streams smoother. Default 256. */
  prefillChunk?: number;
  /** Reuse a free slot's cached K/V for a prompt that starts with the same tokens. Default true. */
  promptCache?: boolean;
}

export interface SamplingOptions {
  /** 0 = greedy. Default 0.8. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  /** How many recent tokens the repeat/presence/frequency penalties look at (default 64). */
  penaltyLastN?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate; 0 returns an empty result. Default 128. */
  maxTokens?: number;
  /** Stop strings; generation ends before the first occurrence (not included in the text). */
  stop?: string | string[];
  /** Return the top-N log-probs of each generated token (raw logits, before sampling transforms). */
  logprobs?: number;
  /** Add BOS (per the model's metadata) when tokenizing a text prompt. Default true. */
  addSpecial?: boolean;
  /** Parse special tokens such as <|im_start|> in the prompt. Default true for chat, false otherwise. */
  parseSpecial?: boolean;
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length';

export interface TokenLogprob {
  token: number;
  logprob: number;
  top: Array<[token: number, logprob: number]>;
}

export interface Timings {
  promptTokens: number;
  promptMs: number;
  generatedTokens: number;
  generateMs: number;
  promptTokensPerSecond: number;
  tokensPerSecond: number;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  tokensGenerated: number;
  finishReason: FinishReason;
  promptTokens: number;
  timings: Timings;
  logprobs?: TokenLogprob[];
  /** Prompt tokens whose K/V were reused from an earlier request in the same slot (not recomputed). */
  cachedPromptTokens?: number;
}

export interface StreamChunk {
  /** Text completed by this token (may be '' while a multi-byte character or a possible stop string is held back). */
  text: string;
  /** The generated token, or -1 for a last chunk that only releases held-back text when generation ends. */
  token: number;
  logprob?: TokenLogprob;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

export type Prompt = string | number[];

export interface ChatOptions extends GenerateOptions {
  /** A Jinja chat template to use instead of the model's (tokenizer.chat_template). */
  template?: string;
}

/** Engine counters and gauges, for the server's /metrics. */
export interface EngineStats {
  /** Sequences holding a KV slot (prefilling or decoding). */
  activeSequences: number;
  /** Requests waiting for a slot. */
  queued: number;
  slotsTotal: number;
  slotsBusy: number;
  kvCacheUsedTokens: number;
  kvCacheTotalTokens: number;
  promptTokensTotal: number;
  generatedTokensTotal: number;
  requestsTotal: number;
  /** Forward batches run so far. */
  stepsTotal: number;
  /** Prompt tokens not recomputed thanks to prefix reuse (not counted in promptTokensTotal). */
  promptTokensCachedTotal: number;
}
