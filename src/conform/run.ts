// runConform: the library form of `rocforge conform`. Asks another server for each prompt's greedy
// continuation with log-probs, then runs the reference backend over the same ids (the prompt, then
// the server's own tokens one by one, as llama-server runs a request) and compares every step with
// the reference's logits, stopping at the first token the reference would not have picked.
import type { Backend } from '../backends/backend.ts';
import { NEAR_TIE, topIds } from '../diff/metrics.ts';
import { promptTokens } from '../diff/session.ts';
import { InvalidRequestError } from '../errors.ts';
import { GgufFile } from '../gguf/reader.ts';
import type { GgufValue } from '../gguf/types.ts';
import { Model } from '../model/model.ts';
import { renderChat } from '../tokenizer/chat-template.ts';
import { createTokenizer, type Tokenizer } from '../tokenizer/tokenizer.ts';
import { ConformClient, ServerRequestError } from './client.ts';
import { TokenTextMap } from './token-map.ts';
import type { ConformCase, ConformReport, ConformStep, ServerCompletion, ServerKind, Verdict } from './types.ts';

export interface ConformOptions {
  readonly url: string;
  readonly apiKey?: string;
  readonly servedModel?: string;
  readonly model: string;
  /** The reference, owned by the caller. */
  readonly backend: Backend;
  readonly prompts: readonly string[];
  /** Tokens asked of the server per prompt (default 24). */
  readonly steps?: number;
  readonly topK?: number;
  /** Per request (default 120 s). */
  readonly timeoutMs?: number;
  /** Each prompt is one user message to /v1/chat/completions; the reference renders the model's chat template. */
  readonly chat?: boolean;
  readonly onProgress?: (line: string) => void;
}

export async function runConform(opts: ConformOptions): Promise<ConformReport> {
  const t0 = performance.now();
  const steps = opts.steps ?? 24;
  const topK = opts.topK ?? 8;
  if (opts.prompts.length === 0) throw new InvalidRequestError('conform: no prompts to run');
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidRequestError(`conform: steps must be a positive integer, got ${steps}`);
  const client = new ConformClient({ url: opts.url, apiKey: opts.apiKey, servedModel: opts.servedModel, timeoutMs: opts.timeoutMs ?? 120_000 });
  const server = await client.detect();
  const file = await GgufFile.open(opts.model);
  let model: Model;
  let tokenizer: Tokenizer;
  let map: TokenTextMap;
  let meta: ReadonlyMap<string, GgufValue>;
  try {
    model = await Model.load(file, opts.backend);
    meta = file.metadata;
    tokenizer = createTokenizer(meta);
    const spm =
      meta.get('tokenizer.ggml.model') === 'llama'
        ? { tokens: meta.get('tokenizer.ggml.tokens') as string[], types: (meta.get('tokenizer.ggml.token_type') as number[]).map(Number) }
        : undefined;
    map = new TokenTextMap(tokenizer, spm);
  } finally {
    await file.close();
  }
  const cases: ConformCase[] = [];
  try {
    for (const [i, prompt] of opts.prompts.entries()) {
      const rendered = opts.chat ? renderChat(meta, [{ role: 'user', content: prompt }], { addGenerationPrompt: true }) : undefined;
      const ids = rendered !== undefined ? chatTokens(tokenizer, rendered) : promptTokens(tokenizer, prompt);
      const c = await runCase({ client, server, model, tokenizer, map, prompt, ids, rendered, steps, topK });
      cases.push(c);
      opts.onProgress?.(`case ${i + 1}/${opts.prompts.length}: ${c.verdict}${c.reason ? ` (${c.reason})` : ''}, ${c.steps.length} steps compared`);
    }
  } finally {
    model.dispose();
  }
  const counts: Record<Verdict, number> = { same: 0, 'near-tie': 0, differ: 0, error: 0 };
  for (const c of cases) counts[c.verdict]++;
  return {
    url: opts.url,
    server,
    api: opts.chat ? 'chat' : 'completions',
    servedModel: client.model,
    model: opts.model,
    backend: opts.backend.name,
    device: opts.backend.deviceDescription,
    steps,
    topK,
    cases,
    counts,
    passed: counts.differ === 0 && counts.error < cases.length,
    ms: performance.now() - t0,
  };
}

interface CaseContext {
  readonly client: ConformClient;
  readonly server: ServerKind;
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  readonly map: TokenTextMap;
  readonly prompt: string;
  /** The reference's prompt ids (the chat template rendered, for chat). */
  readonly ids: number[];
  /** With --chat: the prompt as the model's chat template renders it. */
  readonly rendered?: string;
  readonly steps: number;
  readonly topK: number;
}

/** A rendered chat prompt tokenized as the engine's chat does. */
function chatTokens(tokenizer: Tokenizer, rendered: string): number[] {
  const t = tokenizer.encode(rendered, { addSpecial: true, parseSpecial: true });
  // Templates often write BOS themselves: one of the two is dropped, as the engine and llama.cpp do.
  return tokenizer.bosId !== undefined && t.length > 1 && t[0] === tokenizer.bosId && t[1] === tokenizer.bosId ? t.slice(1) : t;
}

async function runCase(x: CaseContext): Promise<ConformCase> {
  const t0 = performance.now();
  let ids = x.ids;
  const base = { prompt: x.prompt, promptTokens: ids.length, serverCompletion: '', steps: [], maxAbsLogprob: 0, minOverlap: 1 };
  const fail = (verdict: Verdict, reason: string, check: ConformCase['promptCheck'], extra: Partial<ConformCase> = {}): ConformCase => ({
    ...base,
    promptCheck: check,
    verdict,
    reason,
    ...extra,
    ms: performance.now() - t0,
  });
  let completion: ServerCompletion;
  let check: ConformCase['promptCheck'] = 'unchecked';
  // llama-server is sent our ids, so its steps compare even where its tokenizer disagrees: that
  // disagreement decides the verdict (mismatch) unless it is only llama-server's special-token parsing (note).
  let mismatch: string | undefined;
  let note: string | undefined;
  try {
    if (x.server === 'llama-server' && x.rendered === undefined) {
      let theirs: number[] | undefined;
      try {
        theirs = await x.client.tokenize(x.prompt);
      } catch (e) {
        if (!(e instanceof ServerRequestError) || /timed out|cannot reach/.test(e.message)) throw e;
        note = `prompt tokens unchecked (${e.message}); the reference's ids were sent`;
      }
      if (theirs) {
        check = 'tokenize';
        const at = firstDifference(theirs, ids);
        if (at !== undefined) {
          const special = x.tokenizer.encode(x.prompt, { addSpecial: true, parseSpecial: true });
          if (firstDifference(theirs, special) === undefined) note = "the server reads special-token text in prompts as special tokens (llama-server does); the reference's ids were sent";
          else mismatch = `prompt tokens differ at index ${at}: server ${theirs[at] ?? 'none'}, reference ${ids[at] ?? 'none'} (${theirs.length} vs ${ids.length} tokens)`;
        }
      }
    }
    if (x.server === 'llama-server' && x.rendered !== undefined) {
      const theirs = await x.client.applyTemplate(x.prompt);
      if (theirs !== x.rendered) {
        let i = 0;
        while (i < theirs.length && theirs[i] === x.rendered[i]) i++;
        return fail('differ', `the server's chat template renders another prompt: from character ${i}, server ${JSON.stringify(theirs.slice(i, i + 24))}, reference ${JSON.stringify(x.rendered.slice(i, i + 24))}`, check);
      }
    }
    completion = await x.client.complete(x.server, { text: x.prompt, ids, steps: x.steps, topK: x.topK, chat: x.rendered !== undefined });
  } catch (e) {
    if (e instanceof ServerRequestError) return fail('error', e.message, check);
    throw e;
  }
  const meta: Pick<ConformCase, 'endpoint' | 'streamed' | 'serverCompletion'> & { note?: string } = {
    endpoint: completion.endpoint,
    streamed: completion.streamed,
    serverCompletion: completion.steps.map((s) => s.text).join(''),
    ...(note ? { note } : {}),
  };
  if (check === 'unchecked' && completion.promptTokenCount !== undefined && (x.server !== 'llama-server' || x.rendered !== undefined)) {
    check = 'count';
    // The server ran its own tokens: where they are special-token text parsed as special tokens
    // (llama-server's convention), the reference runs those; otherwise its steps continue another prompt.
    const special = x.rendered === undefined ? x.tokenizer.encode(x.prompt, { addSpecial: true, parseSpecial: true }) : ids;
    if (completion.promptTokenCount !== ids.length && completion.promptTokenCount === special.length && firstDifference(special, ids) !== undefined) {
      ids = special;
      meta.note = "the server reads special-token text in prompts as special tokens (llama-server does): the reference ran those ids too";
    } else if (completion.promptTokenCount !== ids.length) {
      return fail('differ', `prompt tokens differ: the server counted ${completion.promptTokenCount}, the reference has ${ids.length}`, check, meta);
    }
  }
  const compared = await compareSteps(x, ids, completion);
  const verdict = mismatch && compared.verdict !== 'error' ? { verdict: 'differ' as const, reason: mismatch } : {};
  return { ...compared, ...verdict, ...meta, prompt: x.prompt, promptTokens: ids.length, promptCheck: check, ms: performance.now() - t0 };
}

function firstDifference(a: readonly number[], b: readonly number[]): number | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return undefined;
}

type Compared = Pick<ConformCase, 'verdict' | 'reason' | 'steps' | 'divergence' | 'maxAbsLogprob' | 'minOverlap'>;

/** Feeds the prompt, then the server's tokens, through the reference; compares each step's logits. */
async function compareSteps(x: CaseContext, prompt: number[], completion: ServerCompletion): Promise<Compared> {
  const vocab = x.model.hparams.vocabSize;
  const cache = x.model.createKvCache(1, prompt.length + completion.steps.length);
  const out: ConformStep[] = [];
  let maxAbsLogprob = 0;
  let minOverlap = 1;
  try {
    let tokens = prompt;
    let pos = 0;
    for (const [step, s] of completion.steps.entries()) {
      const n = tokens.length;
      const logits = await x.model.forward(
        { tokens: Int32Array.from(tokens), slots: new Int32Array(n), positions: Int32Array.from(tokens, (_, i) => pos + i), logitRows: Int32Array.of(n - 1) },
        cache,
      );
      pos += n;
      const row = logits.subarray(0, vocab);
      const lse = logSumExp(row);
      const lp = (id: number): number => row[id]! - lse;
      const top = topIds(row, x.topK);
      const refToken = top[0]!;
      const serverToken = s.id ?? x.map.resolve(s.text, lp);
      if (serverToken === undefined || serverToken >= vocab) {
        return { verdict: 'error', reason: `step ${step}: the server's token ${JSON.stringify(s.text)} is no token of this model's vocabulary: is it serving another model?`, steps: out, maxAbsLogprob, minOverlap };
      }
      // The server's alternatives as ids (text-only ones by the candidate whose reference log-prob
      // is nearest the server's: see TokenTextMap.nearest).
      const taken = new Set<number>();
      let delta = s.logprob !== undefined ? Math.abs(s.logprob - lp(serverToken)) : 0;
      for (const a of s.top.slice(0, x.topK)) {
        const id = a.id ?? x.map.nearest(a.text, a.logprob, lp, taken);
        if (id === undefined || id >= vocab) continue;
        taken.add(id);
        delta = Math.max(delta, Math.abs(a.logprob - lp(id)));
      }
      const listed = Math.min(x.topK, s.top.length);
      const overlap = top.filter((id) => taken.has(id)).length;
      const agree = serverToken === refToken;
      const gap = lp(refToken) - lp(serverToken);
      out.push({ step, serverToken, refToken, agree, gap, top2Gap: top.length > 1 ? lp(top[0]!) - lp(top[1]!) : Infinity, maxAbsLogprob: delta, overlap, listed });
      if (listed > 0) minOverlap = Math.min(minOverlap, overlap / listed);
      if (!agree) {
        const nearTie = gap < NEAR_TIE;
        return {
          verdict: nearTie ? 'near-tie' : 'differ',
          steps: out,
          divergence: { step, serverToken, refToken, gap, nearTie },
          maxAbsLogprob,
          minOverlap,
        };
      }
      maxAbsLogprob = Math.max(maxAbsLogprob, delta);
      tokens = [serverToken];
    }
  } finally {
    x.model.backend.release(cache);
  }
  return { verdict: 'same', steps: out, maxAbsLogprob, minOverlap };
}

function logSumExp(v: Float32Array): number {
  let max = -Infinity;
  for (const x of v) if (x > max) max = x;
  let z = 0;
  for (const x of v) z += Math.exp(x - max);
  return max + Math.log(z);
}
