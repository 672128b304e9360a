// Token sampling, in llama.cpp's order: penalties -> top-k -> top-p -> min-p -> temperature -> draw.
// Top-p and min-p look at the untempered distribution (as llama.cpp does); temperature 0 is greedy.
import type { SamplingOptions, TokenLogprob } from './types.ts';
import { Rng } from './rng.ts';

export interface SamplerSettings {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  penaltyLastN: number;
  presencePenalty: number;
  frequencyPenalty: number;
  seed: number;
}

/** llama.cpp's defaults (common_params_sampling), so results feel the same. */
export const SAMPLING_DEFAULTS: Readonly<Omit<SamplerSettings, 'seed'>> = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.0,
  penaltyLastN: 64,
  presencePenalty: 0,
  frequencyPenalty: 0,
};

export function resolveSampling(opts: SamplingOptions): SamplerSettings {
  return {
    temperature: opts.temperature ?? SAMPLING_DEFAULTS.temperature,
    topK: opts.topK ?? SAMPLING_DEFAULTS.topK,
    topP: opts.topP ?? SAMPLING_DEFAULTS.topP,
    minP: opts.minP ?? SAMPLING_DEFAULTS.minP,
    repeatPenalty: opts.repeatPenalty ?? SAMPLING_DEFAULTS.repeatPenalty,
    penaltyLastN: opts.penaltyLastN ?? SAMPLING_DEFAULTS.penaltyLastN,
    presencePenalty: opts.presencePenalty ?? SAMPLING_DEFAULTS.presencePenalty,
    frequencyPenalty: opts.frequencyPenalty ?? SAMPLING_DEFAULTS.frequencyPenalty,
    seed: opts.seed ?? Rng.randomSeed(),
  };
}

export class Sampler {
  readonly settings: SamplerSettings;
  private readonly rng: Rng;

  constructor(opts: SamplingOptions) {
    this.settings = resolveSampling(opts);
    this.rng = new Rng(this.settings.seed);
  }

  /**
   * Picks the next token from one row of logits. `history` is every token the sequence has seen
   * (prompt then generated); the penalties look at its last penaltyLastN entries (-1: all of them).
   */
  sample(logits: Float32Array, history: ArrayLike<number>): number {
    const s = this.settings;
    const l = applyPenalties(logits, history, s);
    if (s.temperature <= 0) return argmax(l);

    const { ids, z, max } = this.candidates(l);
    let n = ids.length;

    // top-p over the untempered softmax of the top-k survivors: smallest prefix reaching topP.
    if (s.topP < 1) {
      let cum = 0;
      for (let i = 0; i < n; i++) {
        cum += Math.exp(l[ids[i]!]! - max) / z;
        if (cum >= s.topP) {
          n = i + 1;
          break;
        }
      }
    }

    // min-p: drop tokens less likely than minP times the most likely one (logit space, no softmax needed).
    if (s.minP > 0 && n > 1) {
      const floor = max + Math.log(s.minP);
      let keep = 1;
      while (keep < n && l[ids[keep]!]! >= floor) keep++;
      n = keep;
    }

    const probs = softmaxOf(l, ids, n, s.temperature);
    const u = this.rng.nextFloat();
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += probs[i]!;
      if (u < cum) return ids[i]!;
    }
    return ids[n - 1]!;
  }

  /**
   * The top-k survivors by logit descending, with their softmax denominator z (relative to max).
   * Without top-k, sorting a 150k vocabulary every token would dominate, so (as llama.cpp does with
   * buckets) only tokens above a logit threshold that min-p and top-p cannot cut below are sorted:
   * the same prefix a full sort would give. With no filter at all nothing is sorted.
   */
  private candidates(l: Float32Array): { ids: Int32Array; z: number; max: number } {
    const s = this.settings;
    const n = l.length;
    if (s.topK > 0 && s.topK < n) {
      const ids = topIndices(l, s.topK);
      const max = l[ids[0]!]!;
      let z = 0;
      for (const id of ids) z += Math.exp(l[id]! - max);
      return { ids, z, max };
    }
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (l[i]! > max) max = l[i]!;
    // Probability mass per bucket of logit distance below max (the last bucket takes everything lower).
    const mass = new Float64Array(BUCKETS);
    let z = 0;
    for (let i = 0; i < n; i++) {
      const d = max - l[i]!;
      const e = Math.exp(-d);
      z += e;
      mass[Math.min(BUCKETS - 1, Math.floor((d / BUCKET_SPAN) * BUCKETS))]! += e;
    }
    let threshold = -Infinity;
    if (s.minP > 0) threshold = max + Math.log(s.minP);
    if (s.topP < 1) {
      // The first buckets whose mass reaches topP (with a margin for summation order) hold the top-p prefix.
      let cum = 0;
      for (let b = 0; b < BUCKETS - 1; b++) {
        cum += mass[b]! / z;
        if (cum >= s.topP + 1e-9) {
          threshold = Math.max(threshold, max - ((b + 1) * BUCKET_SPAN) / BUCKETS);
          break;
        }
      }
    }
    if (threshold === -Infinity) {
      const ids = new Int32Array(n);
      for (let i = 0; i < n; i++) ids[i] = i;
      // Order matters only when a filter walks the list: sort then (top-p at ~1 with no min-p).
      return { ids: s.topP < 1 ? ids.sort((a, b) => l[b]! - l[a]! || a - b) : ids, z, max };
    }
    const picked = new Int32Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) if (l[i]! >= threshold) picked[m++] = i;
    return { ids: picked.slice(0, m).sort((a, b) => l[b]! - l[a]! || a - b), z, max };
  }
}

/** Logit distance below the max that the top-p buckets cover, and their count. */
const BUCKET_SPAN = 32;
const BUCKETS = 512;

/** Repeat (llama.cpp: divide positive logits, multiply negative), then presence and frequency penalties. */
export function applyPenalties(
  logits: Float32Array,
  history: ArrayLike<number>,
  s: Pick<SamplerSettings, 'repeatPenalty' | 'penaltyLastN' | 'presencePenalty' | 'frequencyPenalty'>,
): Float32Array {
  const active = s.repeatPenalty !== 1 || s.presencePenalty !== 0 || s.frequencyPenalty !== 0;
  if (!active || s.penaltyLastN === 0 || history.length === 0) return logits;
  const start = s.penaltyLastN < 0 ? 0 : Math.max(0, history.length - s.penaltyLastN);
  const counts = new Map<number, number>();
  for (let i = start; i < history.length; i++) {
    const t = history[i]!;
    if (t >= 0 && t < logits.length) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const out = Float32Array.from(logits);
  for (const [t, c] of counts) {
    let v = out[t]!;
    if (s.repeatPenalty !== 1) v = v <= 0 ? v * s.repeatPenalty : v / s.repeatPenalty;
    v -= c * s.frequencyPenalty + s.presencePenalty;
    out[t] = v;
  }
  return out;
}

/** Index of the largest value; the lowest index wins ties (stable greedy decoding). */
export function argmax(x: Float32Array): number {
  let best = 0;
  let bv = x[0]!;
  for (let i = 1; i < x.length; i++) {
    const v = x[i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/**
 * The k largest entries' indices, by value descending (lower index first on ties). A bounded
 * min-heap keeps this O(n log k), which matters for 150k-token vocabularies and small k.
 */
export function topIndices(x: Float32Array, k: number): Int32Array {
  const n = x.length;
  k = Math.max(0, Math.min(k, n));
  if (k === 0) return new Int32Array(0);
  // "a is worse than b": smaller value, or equal value and larger index.
  const worse = (a: number, b: number): boolean => x[a]! < x[b]! || (x[a]! === x[b]! && a > b);
  const byRank = (a: number, b: number): number => x[b]! - x[a]! || a - b;
  if (k * 8 >= n) {
    // Many wanted: keep those at or above the k-th largest value (found by a native numeric sort
    // of the values), then sort only them.
    const sorted = Float32Array.from(x).sort();
    const kth = sorted[n - k]!;
    const picked = new Int32Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) if (x[i]! >= kth) picked[m++] = i;
    return picked.subarray(0, m).sort(byRank).slice(0, k);
  }
  const heap = new Int32Array(k);
  let size = 0;
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l]!, heap[m]!)) m = l;
      if (r < size && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let i = 0; i < n; i++) {
    if (size < k) {
      let j = size++;
      heap[j] = i;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j]!, heap[p]!)) break;
        const t = heap[j]!;
        heap[j] = heap[p]!;
        heap[p] = t;
        j = p;
      }
    } else if (worse(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort(byRank);
}

function softmaxOf(l: Float32Array, ids: Int32Array, n: number, temperature: number): Float64Array {
  const p = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, l[ids[i]!]!);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((l[ids[i]!]! - max) / temperature);
    p[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) p[i]! /= sum;
  return p;
}

/**
 * Log-probability of `token` and the top-n alternatives under the log-softmax of the raw logits
 * (before penalties and sampling transforms), as OpenAI and llama.cpp report them.
 */
export function tokenLogprob(logits: Float32Array, token: number, topN: number): TokenLogprob {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const logZ = max + Math.log(sum);
  const top = topIndices(logits, topN);
  return {
    token,
    logprob: logits[token]! - logZ,
    top: Array.from(top, (id): [number, number] => [id, logits[id]! - logZ]),
  };
}
