// Cross-backend prompt fuzzing (fast-check), shared by the test/property/fuzz-*.test.ts files: one
// file per model family, so that `vitest --shard` spreads a long campaign over processes or machines.
//
// Each test runs one model in one numerics mode: prompts from the arbitraries below go through the
// CPU reference and every GPU backend that opens here (webgpu; hip where it exists), in lockstep
// (src/diff: prefill, then greedy steps fed with the reference's tokens). Properties:
// - exact numerics: every step's logits are bit-identical, so greedy tokens and top-k log-probs too;
// - fast numerics: logits NMSE and the top-k |Δ log-prob| within MODEL_BOUNDS.fast, and a greedy
//   token differs only where the reference's top-2 gap is under twice that log-prob bound;
// - never a NaN or an infinity, never an exception for a valid prompt.
// A failing prompt is shrunk, then re-run with the tap on so the message names the op and layer.
//
// ROCFORGE_FUZZ_SEED replays a campaign (the seed is printed), ROCFORGE_FUZZ_RUNS sets the prompts
// per model and mode (default 2 on a software adapter, 25 on a GPU), ROCFORGE_FUZZ_CTX the context
// (default 64), ROCFORGE_FUZZ_FAST=all runs fast numerics on every model (default: on the float files).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import type { Numerics } from '../../src/backends/index.ts';
import { compareBackends } from '../../src/diff/compare.ts';
import { LONE_SURROGATES, makePrompt, poolsOf, PROMPT_KINDS, type PromptPools } from '../../src/diff/fuzz-prompts.ts';
import { formatTerminal } from '../../src/diff/report.ts';
import { DiffSession } from '../../src/diff/session.ts';
import { MODEL_BOUNDS } from '../../src/diff/thresholds.ts';
import type { StepStat } from '../../src/diff/types.ts';
import { isSoftware } from '../backends/webgpu/gpu.ts';
import { openGpus } from '../diff/gpus.ts';
import { missingShared, sharedModels, sharedNewArchModels, sharedPath } from '../helpers/shared.ts';

export const SEED = Number(process.env.ROCFORGE_FUZZ_SEED ?? Date.now() % 2 ** 31);
const CTX = Number(process.env.ROCFORGE_FUZZ_CTX ?? 64);
const STEPS = 4;
const MAX_PROMPT = CTX - STEPS + 1;

/** Any code point (lone surrogates too), graphemes, and the generated kinds of src/diff/fuzz-prompts.ts. */
export function promptArbitrary(pools: PromptPools, maxTokens: number): fc.Arbitrary<string> {
  const unit = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom(...LONE_SURROGATES));
  return fc.oneof(
    fc.string({ unit, maxLength: 48 }),
    fc.string({ unit: 'grapheme', maxLength: 24 }),
    fc
      .tuple(fc.constantFrom(...PROMPT_KINDS), fc.gen())
      .map(([kind, g]) => makePrompt({ int: (lo, hi) => g(fc.integer, { min: lo, max: hi }) }, kind, pools, maxTokens)),
  );
}

/** What is wrong with one pair's steps under the numerics' properties; empty when nothing. */
export function violations(numerics: Numerics, steps: readonly StepStat[]): string[] {
  const b = MODEL_BOUNDS[numerics];
  const out: string[] = [];
  for (const s of steps) {
    const at = `step ${s.step}`;
    if (!s.finite) out.push(`${at}: non-finite logits`);
    else if (numerics === 'exact' && (s.logitsNmse !== 0 || s.maxAbsLogit !== 0)) out.push(`${at}: logits differ (NMSE ${s.logitsNmse}, max |Δ| ${s.maxAbsLogit})`);
    else if (s.logitsNmse > b.logits) out.push(`${at}: logits NMSE ${s.logitsNmse} > ${b.logits}`);
    else if (s.maxAbsLogprob > b.topKLogprob) out.push(`${at}: top-k |Δlogprob| ${s.maxAbsLogprob} > ${b.topKLogprob}`);
    if (!s.agree && s.top2Gap >= Math.max(2 * b.topKLogprob, 0.05)) out.push(`${at}: greedy ${s.token} vs ${s.refToken} with a top-2 gap of ${s.top2Gap}`);
  }
  return out;
}

function runsFor(gpus: ReadonlyMap<string, Backend>): number {
  if (process.env.ROCFORGE_FUZZ_RUNS) return Number(process.env.ROCFORGE_FUZZ_RUNS);
  return [...gpus.values()].some((g) => !isSoftware(g)) ? 25 : 2;
}

const QUANTIZED_FILE = /-(Q\w+|IQ\w+)\.gguf$/;

/**
 * Defines the campaign's tests for the shared models that `select` keeps, from ../shared/models or
 * (`folder` 'new-archs') ../shared/new-archs/models: one per model and numerics mode (exact on
 * every model; fast on the float files, or every file with ROCFORGE_FUZZ_FAST=all).
 */
export function fuzzCampaign(title: string, select: (model: string) => boolean, folder: 'models' | 'new-archs' = 'models'): void {
  const dir = folder === 'models' ? ['models'] : ['new-archs', 'models'];
  const skip = missingShared(...dir);
  const models = skip ? [] : (folder === 'models' ? sharedModels() : sharedNewArchModels()).filter(select);
  const opened = new Map<Numerics, Promise<Map<string, Backend>>>();
  const gpusFor = (n: Numerics) => {
    if (!opened.has(n)) opened.set(n, openGpus(n));
    return opened.get(n)!;
  };

  describe.skipIf(skip !== undefined)(title, () => {
    afterAll(async () => {
      for (const p of opened.values()) for (const g of (await p).values()) g.dispose();
    });
    const cases = models.flatMap((m) => [
      [m, 'exact'] as const,
      ...(process.env.ROCFORGE_FUZZ_FAST === 'all' || !QUANTIZED_FILE.test(m) ? [[m, 'fast'] as const] : []),
    ]);
    for (const [model, numerics] of cases) {
      it(`${model} (${numerics})`, { timeout: 600_000 }, async () => {
        const gpus = await gpusFor(numerics);
        if (gpus.size === 0) return void console.warn(`skipped ${model}: no GPU backend opens here, nothing to compare the CPU with`);
        const backends = [{ label: 'cpu', backend: new CpuBackend() as Backend }, ...[...gpus].map(([label, backend]) => ({ label, backend }))];
        const r = await fuzzModel(sharedPath(...dir, model), backends, numerics, runsFor(gpus));
        console.log(r.summary);
        if (r.failure) expect.fail(r.failure);
      });
    }
  });
}

export interface FuzzResult {
  readonly summary: string;
  /** What failed, the shrunk prompt, how to replay it, and the tapped re-run's report. */
  readonly failure?: string;
}

/** Fuzzes one model: `runs` prompts through every backend (the first is the reference). */
export async function fuzzModel(path: string, backends: Array<{ label: string; backend: Backend }>, numerics: Numerics, runs: number): Promise<FuzzResult> {
  const model = path.split('/').pop()!;
  const session = await DiffSession.open(path, backends, { contextLength: CTX, numerics, taps: false });
  const t0 = performance.now();
  try {
    const pools = poolsOf(session.tokenizer);
    const property = fc.asyncProperty(promptArbitrary(pools, MAX_PROMPT), async (text) => {
      const tokens = session.tokenize(text).slice(0, MAX_PROMPT);
      const run = await session.run(tokens, STEPS);
      const bad = run.steps.flatMap((steps, i) => violations(numerics, steps).map((v) => `${backends[i + 1]!.label} vs ${backends[0]!.label}: ${v}`));
      if (bad.length > 0) throw new Error(bad.join('; '));
    });
    const result = await fc.check(property, { seed: SEED, numRuns: runs });
    const summary = `fuzz ${model} ${numerics}: ${result.numRuns} prompts on ${backends.map((b) => b.label).join(' + ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s (seed ${SEED})`;
    if (!result.failed) return { summary };
    const prompt = result.counterexample![0];
    const why = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
    return {
      summary,
      failure: `${model} (${numerics}): ${why}\nprompt ${JSON.stringify(prompt)}; replay with ROCFORGE_FUZZ_SEED=${SEED}\n${await explain(path, backends, numerics, prompt)}`,
    };
  } finally {
    session.close();
  }
}

/** Re-runs a failing prompt with the tap on: the op and layer where the backends part. */
async function explain(model: string, backends: Array<{ label: string; backend: Backend }>, numerics: Numerics, prompt: string): Promise<string> {
  try {
    const r = await compareBackends({ model, backends, numerics, prompts: [prompt], steps: STEPS, maxPromptTokens: MAX_PROMPT });
    return formatTerminal(r);
  } catch (e) {
    return `(the tapped re-run failed too: ${(e as Error).message})`;
  }
}
