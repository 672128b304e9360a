// llama.cpp's recorded outputs (the format of ../shared/oracle: tokens and top-8 log-probs per step)
// against one backend: each case runs as llama-server ran it (the prompt as one batch, then one row
// per greedy step), comparing tokens and the top-8 log-probabilities step by step. Used by
// `rocforge diff --oracle` and by the oracle test suites of every backend.
import { readFileSync } from 'node:fs';
import type { Backend } from '../backends/backend.ts';
import { InvalidRequestError } from '../errors.ts';
import { GgufFile } from '../gguf/reader.ts';
import { Model } from '../model/model.ts';
import { createTokenizer } from '../tokenizer/tokenizer.ts';
import { NEAR_TIE } from './metrics.ts';

export { NEAR_TIE } from './metrics.ts';

export interface OracleStep {
  token: number;
  logprob: number;
  top: Array<[number, number]>;
}
export interface OracleCase {
  prompt: string;
  prompt_tokens: number[];
  completion: string;
  tokens: number[];
  steps: OracleStep[];
}
export interface Oracle {
  model: string;
  n_predict: number;
  cases: OracleCase[];
}

export interface CaseResult {
  prompt: string;
  tokens: number[];
  /** Steps whose token equalled the oracle's. */
  matched: number;
  /** Steps compared (matched, plus the step where comparison stopped if it did). */
  compared: number;
  maxDelta: number;
  /** Largest |Δ log-prob| of each compared step (0 where the oracle skipped the step). */
  stepDeltas: number[];
  /** Steps whose top-8 log-probs were compared (llama-server skips some, see alignSteps). */
  logprobSteps: number;
  /** Set when we picked another token at a near tie: comparison stopped there. */
  nearTieAt?: number;
  /** Set when we picked another token where the oracle was not near a tie: a failure. */
  mismatchAt?: { step: number; ours: number; oracle: number; gap: number };
}

export interface ModelResult {
  cases: CaseResult[];
  maxDelta: number;
  matched: number;
  total: number;
  ms: number;
}

/** Reads an oracle file; InvalidRequestError when it is missing or not in the oracle's format. */
export function readOracle(path: string): Oracle {
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InvalidRequestError(`cannot read the oracle ${path} (${(e as Error).message}): pass a JSON file in the format of ../shared/oracle`);
  }
  const cases = (o as Partial<Oracle> | null)?.cases;
  const valid =
    Array.isArray(cases) &&
    cases.length > 0 &&
    cases.every((c: Partial<OracleCase>) => Array.isArray(c.prompt_tokens) && c.prompt_tokens.length > 0 && Array.isArray(c.tokens) && Array.isArray(c.steps));
  if (!valid) throw new InvalidRequestError(`${path} is not an oracle file: it needs "cases" with prompt_tokens, tokens and steps (the format of ../shared/oracle)`);
  return o as Oracle;
}

/**
 * llama-server lists a token's probabilities only once the generated text no longer ends in a cut-off
 * UTF-8 character (server.cpp's process_token + validate_utf8), so `steps` skips tokens such as the
 * first bytes of a multi-byte character. This maps each generated token to its step, or undefined.
 */
export function alignSteps(c: OracleCase, pieces: readonly Uint8Array[]): Array<OracleStep | undefined> {
  const text: number[] = [];
  const out: Array<OracleStep | undefined> = [];
  let next = 0;
  for (const tok of c.tokens) {
    text.push(...pieces[tok]!);
    if (endsInCutCharacter(text)) {
      out.push(undefined);
      continue;
    }
    const step = c.steps[next++];
    if (step?.token !== tok) throw new InvalidRequestError(`oracle case "${c.prompt}": cannot align steps with tokens at token ${tok}`);
    out.push(step);
  }
  if (next !== c.steps.length) throw new InvalidRequestError(`oracle case "${c.prompt}": ${c.steps.length - next} steps left over after alignment`);
  return out;
}

/** server.cpp's validate_utf8(text) < text.size(): a lead byte among the last four bytes lacks its continuation. */
function endsInCutCharacter(t: number[]): boolean {
  for (let i = 1; i <= 4 && i <= t.length; i++) {
    const c = t[t.length - i]!;
    if ((c & 0xe0) === 0xc0 && i < 2) return true;
    if ((c & 0xf0) === 0xe0 && i < 3) return true;
    if ((c & 0xf8) === 0xf0 && i < 4) return true;
  }
  return false;
}

/** Token pieces as llama.cpp's token_to_piece (special = false) renders them for an SPM vocabulary. */
export function spmPieces(tokens: readonly string[], types: readonly number[]): Uint8Array[] {
  const enc = new TextEncoder();
  return tokens.map((t, i) => {
    switch (types[i]) {
      case 6: // BYTE: <0xXX>
        return Uint8Array.of(parseInt(t.slice(3, 5), 16));
      case 3: // CONTROL: not rendered
        return new Uint8Array(0);
      case 2: // UNKNOWN
        return enc.encode('\u2585');
      case 4: // USER_DEFINED
        return enc.encode(t);
      default:
        return enc.encode(t.replaceAll('\u2581', ' '));
    }
  });
}

function logSoftmax(logits: Float32Array, off: number, n: number): { lse: number; argmax: number } {
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < n; i++) {
    if (logits[off + i]! > max) {
      max = logits[off + i]!;
      argmax = i;
    }
  }
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(logits[off + i]! - max);
  return { lse: max + Math.log(z), argmax };
}

export async function runOracle(modelPath: string, oracle: Oracle, backend: Backend): Promise<ModelResult> {
  const t0 = performance.now();
  const file = await GgufFile.open(modelPath);
  let model: Model;
  let pieces: Uint8Array[];
  try {
    model = await Model.load(file, backend);
    const meta = file.metadata;
    if (meta.get('tokenizer.ggml.model') === 'llama') {
      pieces = spmPieces(meta.get('tokenizer.ggml.tokens') as string[], (meta.get('tokenizer.ggml.token_type') as number[]).map(Number));
    } else {
      // Other vocabularies: the tokenizer's bytes, control tokens unrendered as llama.cpp does.
      const tok = createTokenizer(meta);
      pieces = Array.from({ length: tok.vocabSize }, (_, id) => (tok.isSpecial(id) ? new Uint8Array(0) : tok.tokenBytes(id)));
    }
  } finally {
    await file.close();
  }
  const vocab = model.hparams.vocabSize;
  const cases = oracle.cases;
  const results: CaseResult[] = cases.map((c) => ({ prompt: c.prompt, tokens: [], matched: 0, compared: 0, maxDelta: 0, stepDeltas: [], logprobSteps: 0 }));
  let cache;
  try {
    const aligned = cases.map((c) => alignSteps(c, pieces));
    // A case may have fewer tokens than n_predict when llama.cpp stopped at end-of-generation.
    const steps = Math.max(...cases.map((c) => c.tokens.length));
    const maxPrompt = Math.max(...cases.map((c) => c.prompt_tokens.length));
    cache = model.createKvCache(cases.length, maxPrompt + steps);
    // One request at a time, as llama-server ran them: the prompt as one batch, then one row per step.
    // llama.cpp picks its matmul kernels by batch size (see src/backends/cpu/ggml-simd.ts), so batching
    // several sequences together would not compute the same float32 values.
    for (const [ci, c] of cases.entries()) {
      const r = results[ci]!;
      let tokens = c.prompt_tokens;
      let pos = 0;
      for (let step = 0; step < c.tokens.length; step++) {
        const n = tokens.length;
        const logits = await model.forward(
          { tokens: Int32Array.from(tokens), slots: new Int32Array(n).fill(ci), positions: Int32Array.from(tokens, (_, i) => pos + i), logitRows: Int32Array.of(n - 1) },
          cache,
        );
        pos += n;
        const o = aligned[ci]![step];
        const { lse, argmax } = logSoftmax(logits, 0, vocab);
        let stepDelta = 0;
        for (const [id, lp] of o?.top ?? []) stepDelta = Math.max(stepDelta, Math.abs(logits[id]! - lse - lp));
        r.stepDeltas.push(stepDelta);
        r.maxDelta = Math.max(r.maxDelta, stepDelta);
        if (o) r.logprobSteps++;
        r.tokens.push(argmax);
        r.compared++;
        if (argmax !== c.tokens[step]) {
          // Without the oracle's step (a skipped one) there is no gap to excuse a different token.
          const gap = o ? o.top[0]![1] - o.top[1]![1] : Infinity;
          if (gap < NEAR_TIE) r.nearTieAt = step;
          else r.mismatchAt = { step, ours: argmax, oracle: c.tokens[step]!, gap };
          break;
        }
        r.matched++;
        tokens = [argmax];
      }
    }
  } finally {
    if (cache) backend.release(cache);
    model.dispose();
  }
  return {
    cases: results,
    maxDelta: Math.max(...results.map((r) => r.maxDelta)),
    matched: results.reduce((s, r) => s + r.matched, 0),
    total: cases.reduce((s, c) => s + c.tokens.length, 0),
    ms: performance.now() - t0,
  };
}

/** A case's verdict: every token equal, different only after a near tie, or wrong. */
export function verdictOf(c: CaseResult): 'exact' | 'near-tie' | 'wrong' {
  if (c.mismatchAt) return 'wrong';
  return c.nearTieAt !== undefined ? 'near-tie' : 'exact';
}

/** `rocforge diff --oracle`'s terminal report. */
export function formatOracleResult(modelPath: string, oraclePath: string, backend: Backend, r: ModelResult): string {
  const lines = [`rocforge diff --oracle: ${modelPath.split('/').pop()} on ${backend.name} (${backend.deviceDescription}) against ${oraclePath}`];
  for (const [i, c] of r.cases.entries()) {
    const v = verdictOf(c);
    const prompt = JSON.stringify(c.prompt.length > 40 ? `${c.prompt.slice(0, 40)}…` : c.prompt);
    const detail =
      v === 'wrong'
        ? `: step ${c.mismatchAt!.step} token ${c.mismatchAt!.ours}, llama.cpp ${c.mismatchAt!.oracle} (top-2 gap ${c.mismatchAt!.gap.toFixed(3)})`
        : v === 'near-tie'
          ? `: other token at step ${c.nearTieAt} (top-2 gap under ${NEAR_TIE})`
          : '';
    lines.push(`  case ${String(i).padStart(2)} ${v.padEnd(8)} ${c.matched}/${c.compared} tokens, max |Δlogprob| ${c.maxDelta.toExponential(2)}  ${prompt}${detail}`);
  }
  const count = (v: string) => r.cases.filter((c) => verdictOf(c) === v).length;
  lines.push(
    `summary: ${count('exact')} exact, ${count('near-tie')} near-tie, ${count('wrong')} wrong of ${r.cases.length} cases; ${r.matched}/${r.total} tokens; ` +
      `largest |Δlogprob| ${r.maxDelta.toExponential(2)} (${(r.ms / 1000).toFixed(1)} s)`,
  );
  return lines.join('\n');
}
