// The CPU oracle suite, shared by oracle.test.ts (the models in shared/models) and
// oracle-new-archs.test.ts (shared/new-archs), which vitest can then run side by side.
//
// The headline check: our CPU backend + model graph against llama.cpp on every shared model.
// The 12 prompts of a model run one request at a time (prompt as one batch, then one row per step),
// as llama-server ran them, greedy for up to 24 tokens, comparing tokens and the top-8 log-probs.
//
// Bounds are issue 4's: tokens equal llama.cpp's except after a near tie (top-2 gap < 0.05), and the
// top-8 log-probs within 1e-3 (F32, F16, BF16 files) or 5e-2 (quantized files) at every step. They
// hold only because the CPU backend replays llama.cpp's float32 kernels (src/backends/cpu/ggml-simd.ts):
// q, K, V and the attention probabilities are rounded to f16 (activations to 8 bits for quantized
// weights), so a single-ulp difference upstream flips a rounding and moves later log-probs by up to
// ~5e-3 (0.5 for quantized files). A model that cannot reach the bounds goes in KNOWN_GAPS.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { sharedPath } from '../helpers/shared.ts';
import { readOracle, runOracle, type ModelResult } from './oracle-runner.ts';

type Family = 'F32' | 'F16' | 'BF16' | 'quantized';

function familyOf(model: string): Family {
  const m = /-(F16|BF16|Q\w+|IQ\w+)\.gguf$/.exec(model);
  if (!m) return 'F32';
  return m[1] === 'F16' || m[1] === 'BF16' ? m[1] : 'quantized';
}

/** Issue 4: largest |Δ log-prob| allowed at any compared step. */
const MAX_DELTA: Record<Family, number> = { F32: 1e-3, F16: 1e-3, BF16: 1e-3, quantized: 5e-2 };

/**
 * Models that miss the issue's bounds, with the reason: their test still checks the issue's bounds,
 * is expected to fail them (it.fails), and prints what it measured. None today: every shared model
 * matches llama.cpp's tokens, and its log-probs to ~1e-5.
 */
const KNOWN_GAPS: Record<string, string> = {};

/** Each model file with the directory under shared/ that holds its models/ and oracle/. */
export function oracleSuite(title: string, models: ReadonlyArray<readonly [string, string]>, skip: boolean): void {
  const results = new Map<string, ModelResult>();
  const started = performance.now();

  describe.skipIf(skip)(title, () => {
    afterAll(() => {
      const byFamily = new Map<Family, number>();
      for (const [model, r] of results) byFamily.set(familyOf(model), Math.max(byFamily.get(familyOf(model)) ?? 0, r.maxDelta));
      console.log(`oracle: ${results.size} models in ${((performance.now() - started) / 1000).toFixed(1)} s; max |Δlogprob| by family: ${[...byFamily].map(([f, d]) => `${f} ${d.toExponential(2)}`).join(', ')}`);
    });

    for (const [model, dir] of models) {
      const gap = KNOWN_GAPS[model];
      (gap ? it.fails : it)(gap ? `${model} (known gap: ${gap})` : model, async () => {
        const oracle = readOracle(sharedPath(dir, 'oracle', model.replace(/\.gguf$/, '.json')));
        const backend = new CpuBackend();
        const r = await runOracle(sharedPath(dir, 'models', model), oracle, backend);
        results.set(model, r);
        const nearTies = r.cases.filter((c) => c.nearTieAt !== undefined).map((c) => `"${c.prompt}"@${c.nearTieAt}`);
        const mismatches = r.cases.filter((c) => c.mismatchAt).map((c) => `"${c.prompt}"@${c.mismatchAt!.step} ours ${c.mismatchAt!.ours} llama.cpp ${c.mismatchAt!.oracle} gap ${c.mismatchAt!.gap.toFixed(3)}`);
        const over = r.cases.flatMap((c) => c.stepDeltas).filter((d) => d > MAX_DELTA[familyOf(model)]).length;
        console.log(
          `${model}: max |Δlogprob| ${r.maxDelta.toExponential(2)} (${over} steps over ${MAX_DELTA[familyOf(model)]}), matched ${r.matched}/${r.total} steps, ${(r.ms / 1000).toFixed(1)} s` +
            (nearTies.length ? `; near ties: ${nearTies.join(', ')}` : '') +
            (mismatches.length ? `; diverged: ${mismatches.join('; ')}` : ''),
        );
        // The backend holds nothing once the model and cache are released.
        expect(backend.memoryInUse()).toBe(0);
        // Every token equals llama.cpp's, except where a case stopped at a near tie.
        expect(mismatches).toEqual([]);
        expect(r.maxDelta).toBeLessThanOrEqual(MAX_DELTA[familyOf(model)]);
      });
    }
  });
}
