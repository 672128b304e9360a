// The numbers `rocforge diff` reports: tensor error (NMSE, max |error|) and, per decode step, how two
// rows of logits relate (log-softmax, top-k overlap, greedy agreement, the reference's top-2 gap).
import { nmse } from './thresholds.ts';

/** The oracle's (and llama.cpp users') near tie: top-2 log-probs closer than this. */
export const NEAR_TIE = 0.05;

export interface TensorError {
  /** Σ(ref − got)² / Σ ref²; Infinity when `got` has a NaN or an infinity that `ref` lacks. */
  nmse: number;
  maxAbs: number;
}

export function tensorError(ref: Float32Array, got: Float32Array): TensorError {
  if (ref.length !== got.length) throw new RangeError(`tensorError: ${ref.length} reference values, ${got.length} to compare`);
  let maxAbs = 0;
  let nonFinite = false;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const g = got[i]!;
    if (Object.is(r, g)) continue;
    if (!Number.isFinite(g) || !Number.isFinite(r)) {
      nonFinite = true;
      continue;
    }
    maxAbs = Math.max(maxAbs, Math.abs(r - g));
  }
  if (nonFinite) return { nmse: Infinity, maxAbs: Infinity };
  return { nmse: maxAbs === 0 ? 0 : nmse(ref, got), maxAbs };
}

/** Whether every value is finite. */
export function allFinite(v: Float32Array): boolean {
  for (const x of v) if (!Number.isFinite(x)) return false;
  return true;
}

export interface LogitSummary {
  /** Log of the softmax's normalizer: log-prob(i) = logits[i] − lse. */
  lse: number;
  /** Ids of the k largest logits, largest first, ids ascending among equals. */
  top: number[];
}

export function summarizeLogits(logits: Float32Array, k: number): LogitSummary {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let z = 0;
  for (const v of logits) z += Math.exp(v - max);
  return { lse: max + Math.log(z), top: topIds(logits, k) };
}

/** The k largest entries by a partial selection (vocabularies reach 150k, k is ~8). */
export function topIds(v: Float32Array, k: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (ids.length === k && !(v[i]! > v[ids[k - 1]!]!)) continue;
    let j = ids.length < k ? ids.length : k - 1;
    ids[j] = i;
    while (j > 0 && v[ids[j]!]! > v[ids[j - 1]!]!) {
      [ids[j], ids[j - 1]] = [ids[j - 1]!, ids[j]!];
      j--;
    }
  }
  return ids;
}

export interface StepComparison {
  /** Argmax of each side. */
  refToken: number;
  token: number;
  agree: boolean;
  /** Reference's top-1 minus top-2 log-prob. */
  top2Gap: number;
  nearTie: boolean;
  logitsNmse: number;
  maxAbsLogit: number;
  /** Largest |Δ log-prob| over the reference's top k. */
  maxAbsLogprob: number;
  /** How many of the reference's top k ids the other side also has in its top k. */
  topKOverlap: number;
  finite: boolean;
}

export function compareLogits(ref: Float32Array, got: Float32Array, k: number): StepComparison {
  const a = summarizeLogits(ref, k);
  const b = summarizeLogits(got, k);
  const err = tensorError(ref, got);
  const theirs = new Set(b.top);
  let maxAbsLogprob = 0;
  for (const id of a.top) maxAbsLogprob = Math.max(maxAbsLogprob, Math.abs(ref[id]! - a.lse - (got[id]! - b.lse)));
  const top2Gap = a.top.length > 1 ? ref[a.top[0]!]! - ref[a.top[1]!]! : Infinity;
  return {
    refToken: a.top[0]!,
    token: b.top[0]!,
    agree: a.top[0] === b.top[0],
    top2Gap,
    nearTie: top2Gap < NEAR_TIE,
    logitsNmse: err.nmse,
    maxAbsLogit: err.maxAbs,
    maxAbsLogprob: Number.isNaN(maxAbsLogprob) ? Infinity : maxAbsLogprob,
    topKOverlap: a.top.filter((id) => theirs.has(id)).length,
    finite: allFinite(got),
  };
}
