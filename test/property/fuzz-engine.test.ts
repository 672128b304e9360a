// Cross-backend fuzzing through the engine (fast-check; seed printed, ROCFORGE_FUZZ_SEED replays,
// ROCFORGE_FUZZ_RUNS sizes, ROCFORGE_FUZZ_MODELS picks the files): on the CPU reference and every
// GPU backend that opens, for prompts from the campaign's arbitraries and random sampling settings,
// - streaming text equals non-streaming text (and the tokens too), on every backend;
// - seeded sampling draws the same tokens on every backend wherever the logits agree: identical
//   sequences in exact numerics; in fast numerics, where two sequences first part, that step's
//   log-probs differ;
// - no exception for a valid prompt.
// Lavapipe runs two models (one float, one quantized); a GPU machine runs every shared model.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import type { Numerics } from '../../src/backends/index.ts';
import { poolsOf } from '../../src/diff/fuzz-prompts.ts';
import { InferenceEngine } from '../../src/engine/engine.ts';
import type { GenerateOptions, GenerateResult } from '../../src/engine/types.ts';
import { isSoftware } from '../backends/webgpu/gpu.ts';
import { openGpus } from '../diff/gpus.ts';
import { missingShared, sharedModels, sharedPath } from '../helpers/shared.ts';
import { promptArbitrary, SEED } from './cross-backend.ts';

const LAVAPIPE_MODELS = ['stories260K.gguf', 'synth-qwen2-256-Q4_0.gguf'];
const CTX = 64;
const MAX_TOKENS = 6;
const skip = missingShared('models');
const opened = new Map<Numerics, Map<string, Backend>>();
if (!skip) for (const n of ['exact', 'fast'] as const) opened.set(n, await openGpus(n));
const hardware = [...(opened.get('exact')?.values() ?? [])].some((g) => !isSoftware(g));
// ROCFORGE_FUZZ_MODELS=all (or a comma list of file names) widens lavapipe's two models, e.g. to
// finish on cpu + webgpu what a GPU call's time limit cut short.
const picked = process.env.ROCFORGE_FUZZ_MODELS;
const wanted = (m: string): boolean => (picked ? picked === 'all' || picked.split(',').includes(m) : hardware || LAVAPIPE_MODELS.includes(m));
const models = skip ? [] : sharedModels().filter(wanted);
const runs = Number(process.env.ROCFORGE_FUZZ_RUNS ?? (hardware ? 25 : 3));

async function streamed(engine: InferenceEngine, prompt: number[], opts: GenerateOptions): Promise<{ text: string; tokens: number[] }> {
  let text = '';
  const tokens: number[] = [];
  const stream = engine.generateStreaming(prompt, opts);
  for await (const c of stream) {
    text += c.text;
    if (c.token >= 0) tokens.push(c.token);
  }
  return { text, tokens };
}

/** Where two seeded runs part: undefined when they agree, else the step and whether its log-probs differ. */
function parting(a: GenerateResult, b: GenerateResult): { step: number; logprobsDiffer: boolean } | undefined {
  const n = Math.min(a.tokens.length, b.tokens.length);
  for (let i = 0; i < n; i++) {
    if (a.tokens[i] === b.tokens[i]) continue;
    return { step: i, logprobsDiffer: JSON.stringify(a.logprobs![i]!.top) !== JSON.stringify(b.logprobs![i]!.top) };
  }
  return a.tokens.length === b.tokens.length ? undefined : { step: n, logprobsDiffer: true };
}

describe.skipIf(skip !== undefined)('engine fuzz across backends: streaming, seeded sampling', () => {
  afterAll(() => {
    for (const m of opened.values()) for (const g of m.values()) g.dispose();
  });
  console.log(`engine fuzz: seed ${SEED}, ${runs} runs per model and numerics (replay with ROCFORGE_FUZZ_SEED=${SEED})`);

  for (const model of models) {
    for (const numerics of ['exact', 'fast'] as const) {
      if (numerics === 'fast' && /-(Q\w+|IQ\w+)\.gguf$/.test(model) && !hardware) continue;
      it(`${model} (${numerics})`, { timeout: 600_000 }, async () => {
        const gpus = opened.get(numerics)!;
        const backends: Array<[string, Backend]> = [['cpu', new CpuBackend()], ...gpus];
        const engines: Array<[string, InferenceEngine]> = [];
        try {
          for (const [name, backend] of backends) {
            engines.push([name, await InferenceEngine.create(sharedPath('models', model), { backend, contextLength: CTX, promptCache: false })]);
          }
          const pools = poolsOf(engines[0]![1].tokenizer);
          const settings = fc.record({ seed: fc.nat(), temperature: fc.double({ min: 0.3, max: 1.5, noNaN: true }), topK: fc.constantFrom(0, 5, 40), topP: fc.constantFrom(1, 0.9) });
          await fc.assert(
            fc.asyncProperty(promptArbitrary(pools, CTX - MAX_TOKENS), settings, async (text, s) => {
              // Token ids, cut to fit the context (re-tokenizing a cut text could grow it again).
              const prompt = engines[0]![1].tokenize(text).slice(0, CTX - MAX_TOKENS);
              const opts: GenerateOptions = { ...s, maxTokens: MAX_TOKENS, logprobs: 8 };
              const results: GenerateResult[] = [];
              for (const [name, engine] of engines) {
                const whole = await engine.generate(prompt, opts);
                const parts = await streamed(engine, prompt, opts);
                expect(parts, `${name}: streamed vs whole`).toEqual({ text: whole.text, tokens: whole.tokens });
                results.push(whole);
              }
              for (const [i, r] of results.slice(1).entries()) {
                const p = parting(results[0]!, r);
                const who = `${engines[i + 1]![0]} vs cpu`;
                if (numerics === 'exact') expect(p, `${who}: seeded tokens part`).toBeUndefined();
                else if (p) expect(p.logprobsDiffer, `${who}: tokens part at step ${p.step} although its log-probs agree`).toBe(true);
              }
            }),
            { seed: SEED, numRuns: runs },
          );
        } finally {
          for (const [, e] of engines) await e.dispose();
        }
      });
    }
  }
});
