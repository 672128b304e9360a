// What `rocforge conform` reports (the --json output is a ConformReport).

/** One alternative a server listed for a step; id is undefined where the server gave text only. */
export interface ServerAlternative {
  readonly id?: number;
  readonly text: string;
  readonly logprob: number;
}

/** One generated token as the server reported it. */
export interface ServerStep {
  readonly id?: number;
  readonly text: string;
  readonly logprob?: number;
  readonly top: readonly ServerAlternative[];
}

export type ServerKind = 'llama-server' | 'openai';

/** A server's greedy continuation of one prompt. */
export interface ServerCompletion {
  readonly endpoint: string;
  /** The prompt's ids from the server's /tokenize, where it has one. */
  readonly promptTokens?: readonly number[];
  /** usage.prompt_tokens (or tokens_evaluated), where the server reports it. */
  readonly promptTokenCount?: number;
  readonly steps: readonly ServerStep[];
  /** The non-streaming request was refused, so the answer was read from a stream. */
  readonly streamed: boolean;
}

/** One compared step: the reference's logits after the prompt and the server's first `step` tokens. */
export interface ConformStep {
  readonly step: number;
  readonly serverToken: number;
  readonly refToken: number;
  readonly agree: boolean;
  /** Reference log-prob of its own top token minus that of the server's token (0 when they agree). */
  readonly gap: number;
  /** Reference's top-1 minus top-2 log-prob. */
  readonly top2Gap: number;
  /** Largest |Δ log-prob| over the server's token and its alternatives (ids the reference knows). */
  readonly maxAbsLogprob: number;
  /** How many of the server's alternatives are in the reference's top k, of how many it listed (<= k). */
  readonly overlap: number;
  readonly listed: number;
}

export type Verdict = 'same' | 'near-tie' | 'differ' | 'error';

export interface ConformCase {
  readonly prompt: string;
  /** Our tokenizer's ids (with BOS), the ids the reference ran. */
  readonly promptTokens: number;
  /** How the prompt's tokens were checked against the server's. */
  readonly promptCheck: 'tokenize' | 'count' | 'unchecked';
  readonly verdict: Verdict;
  /** Why the case is an error or differs before any step (prompt tokens). */
  readonly reason?: string;
  /** Something about the prompt's tokens that does not decide the verdict (llama-server's special-token parsing). */
  readonly note?: string;
  readonly endpoint?: string;
  readonly streamed?: boolean;
  readonly serverCompletion: string;
  readonly steps: readonly ConformStep[];
  /** First step where the server's token is not the reference's greedy token. */
  readonly divergence?: { readonly step: number; readonly serverToken: number; readonly refToken: number; readonly gap: number; readonly nearTie: boolean };
  /** Largest |Δ log-prob| over the agreed steps. */
  readonly maxAbsLogprob: number;
  /** Smallest overlap fraction (overlap / listed) over the compared steps; 1 when none listed. */
  readonly minOverlap: number;
  readonly ms: number;
}

export interface ConformReport {
  readonly url: string;
  readonly server: ServerKind;
  /** completions: the prompt as text (ids to llama-server's /completion); chat: one user message. */
  readonly api: 'completions' | 'chat';
  readonly servedModel?: string;
  readonly model: string;
  readonly backend: string;
  readonly device: string;
  readonly steps: number;
  readonly topK: number;
  readonly cases: ConformCase[];
  readonly counts: Readonly<Record<Verdict, number>>;
  /** No case differs otherwise than after a near tie, and at least one case was compared. */
  readonly passed: boolean;
  readonly ms: number;
}
