// compareBackends: the library form of `rocforge diff`. Opens the backends asked for (a GPU backend
// that cannot open here is skipped with its one-line reason, unless it is required), loads the model
// on each, runs every prompt in lockstep and returns the DiffReport.
import type { Backend, BackendName } from '../backends/backend.ts';
import { createBackend } from '../backends/index.ts';
import { BackendUnavailableError, InvalidRequestError } from '../errors.ts';
import { GgufFile } from '../gguf/reader.ts';
import { readHParams } from '../model/hparams.ts';
import { createTokenizer } from '../tokenizer/tokenizer.ts';
import { DiffSession, promptTokens, type LabeledBackend } from './session.ts';
import type { Numerics } from './thresholds.ts';
import type { DiffReport } from './types.ts';

export type { LabeledBackend } from './session.ts';

export interface CompareOptions {
  readonly model: string;
  /** Backend names or instances the caller owns; the first that opens is the reference. */
  readonly backends: ReadonlyArray<BackendName | LabeledBackend>;
  /** Numerics of the GPU backends opened by name (default exact; the cpu backend is always exact). */
  readonly numerics?: Numerics;
  /** Text prompts (tokenized with BOS, as generation does) or token ids. */
  readonly prompts: ReadonlyArray<string | readonly number[]>;
  /** Greedy steps per prompt, the logits after the prompt being the first (default 24). */
  readonly steps?: number;
  /** Prompt rows per forward pass, as llama.cpp's -ub (default 512). */
  readonly ubatch?: number;
  /** Prompts with more tokens are cut to their first maxPromptTokens (fuzzed prompts). */
  readonly maxPromptTokens?: number;
  /** Compare every op's output (default) or only the logits. */
  readonly taps?: boolean;
  readonly topK?: number;
  /** Backends whose absence is an error instead of a skip (see requiredFromEnv). */
  readonly require?: readonly BackendName[];
  /** One line per case as it finishes. */
  readonly onProgress?: (line: string) => void;
}

/** ROCFORGE_REQUIRE_HIP=1 / ROCFORGE_REQUIRE_WEBGPU=1: the backends that must open (CI, the GPU machine). */
export function requiredFromEnv(env: NodeJS.ProcessEnv): BackendName[] {
  const r: BackendName[] = [];
  if (env.ROCFORGE_REQUIRE_WEBGPU === '1') r.push('webgpu');
  if (env.ROCFORGE_REQUIRE_HIP === '1') r.push('hip');
  return r;
}

export interface OpenedBackends {
  readonly backends: LabeledBackend[];
  readonly skipped: Array<{ name: string; reason: string }>;
  /** Disposes the backends opened here (not the caller's instances). */
  dispose(): void;
}

/** Opens backends by name; one that is unavailable here is skipped with its reason unless required. */
export async function openBackends(
  wanted: ReadonlyArray<BackendName | LabeledBackend>,
  numerics: Numerics,
  require: readonly BackendName[] = [],
): Promise<OpenedBackends> {
  const backends: LabeledBackend[] = [];
  const owned: Backend[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  const dispose = (): void => {
    for (const b of owned) b.dispose();
  };
  try {
    for (const w of wanted) {
      if (typeof w !== 'string') {
        backends.push(w);
        continue;
      }
      try {
        const b = await createBackend(w, { numerics });
        owned.push(b);
        backends.push({ label: w, backend: b });
      } catch (e) {
        if (!(e instanceof BackendUnavailableError) || require.includes(w)) throw e;
        skipped.push({ name: w, reason: oneLine(e.message) });
      }
    }
  } catch (e) {
    dispose();
    throw e;
  }
  const labels = backends.map((b) => b.label);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice !== undefined) {
    dispose();
    throw new InvalidRequestError(`backend "${twice}" is listed twice: compare different backends (or label wrapped ones differently)`);
  }
  return { backends, skipped, dispose };
}

export async function compareBackends(opts: CompareOptions): Promise<DiffReport> {
  const t0 = performance.now();
  const numerics = opts.numerics ?? 'exact';
  const steps = opts.steps ?? 24;
  const ubatch = opts.ubatch ?? 512;
  const topK = opts.topK ?? 8;
  if (opts.prompts.length === 0) throw new InvalidRequestError('diff: no prompts to run');
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidRequestError(`diff: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(ubatch) || ubatch < 1) throw new InvalidRequestError(`diff: ubatch must be a positive integer, got ${ubatch}`);
  const opened = await openBackends(opts.backends, numerics, opts.require);
  try {
    if (opened.backends.length < 2) {
      const why = opened.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
      throw new BackendUnavailableError(`diff needs two backends that open here, got ${opened.backends.map((b) => b.label).join(', ') || 'none'}${why ? ` (${why})` : ''}`);
    }
    // Tokenize first, so that the context fits every prompt.
    const file = await GgufFile.open(opts.model);
    let prompts: Array<{ tokens: number[]; display: string }>;
    let nLayers: number;
    try {
      nLayers = readHParams(file).nLayers;
      const tokenizer = createTokenizer(file.metadata);
      prompts = opts.prompts.map((p) => {
        const tokens = typeof p === 'string' ? promptTokens(tokenizer, p) : [...p];
        const cut = opts.maxPromptTokens !== undefined && tokens.length > opts.maxPromptTokens ? tokens.slice(0, Math.max(1, opts.maxPromptTokens)) : tokens;
        return { tokens: cut, display: typeof p === 'string' && cut === tokens ? p : tokenizer.decode(cut) };
      });
    } finally {
      await file.close();
    }
    const contextLength = Math.max(2, ...prompts.map((p) => p.tokens.length + steps - 1));
    const session = await DiffSession.open(opts.model, opened.backends, { contextLength, numerics, ubatch, taps: opts.taps, topK });
    try {
      for (const [i, p] of prompts.entries()) {
        const r = await session.run(p.tokens, steps, p.display);
        opts.onProgress?.(`case ${i + 1}/${prompts.length}: ${p.tokens.length} prompt tokens, ${r.summary.tokens.length} steps`);
      }
      const pairs = session.pairReports();
      return {
        model: opts.model,
        numerics,
        steps,
        ubatch,
        topK,
        nLayers,
        backends: opened.backends.map((b) => ({ label: b.label, device: b.backend.deviceDescription })),
        skipped: opened.skipped,
        cases: session.cases,
        pairs,
        passed: pairs.every((p) => p.firstFailure === undefined),
        ms: performance.now() - t0,
      };
    } finally {
      session.close();
    }
  } finally {
    opened.dispose();
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
