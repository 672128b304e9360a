// End to end on the HIP backend, the new architectures (shared/new-archs: Llama 3 with rope_freqs
// and a tied head, Gemma 2, Phi-3) against llama.cpp's short and long-prompt oracles, as the CPU
// engine runs them (exact numerics, same targets). ROCFORGE_HIP_MODELS (a regular expression on
// file names) runs a part; the long prompts run on every file whose name matches too.
import { afterAll, describe, expect, it } from 'vitest';
import type { HipBackend } from '../../../src/backends/hip/index.ts';
import { missingShared, sharedNewArchModels, sharedPath } from '../../helpers/shared.ts';
import { readOracle, runOracle } from '../../model/oracle-runner.ts';
import { hipPresent, openHip } from './hip.ts';

const target = (model: string) => (/-(Q\w+|IQ\w+)\.gguf$/.test(model) ? 5e-2 : 1e-3);

const present = await hipPresent();
const skip = missingShared('new-archs', 'oracle');
const pick = process.env.ROCFORGE_HIP_MODELS;
const models = present && !skip ? sharedNewArchModels().filter((m) => !pick || new RegExp(pick).test(m)) : [];
let gpu: HipBackend | undefined;
if (models.length > 0) gpu = await openHip();

describe.skipIf(!present || skip !== undefined)('oracle: HIP backend vs llama.cpp on the new architectures', () => {
  afterAll(() => gpu?.dispose());

  for (const long of [false, true]) {
    for (const model of models) {
      it(`${long ? 'long ' : ''}${model}`, async () => {
        const backend = gpu!;
        const base = backend.memoryInUse();
        const oracle = readOracle(sharedPath('new-archs', 'oracle', ...(long ? ['long'] : []), model.replace(/\.gguf$/, '.json')));
        const r = await runOracle(sharedPath('new-archs', 'models', model), oracle, backend);
        const mismatches = r.cases.filter((c) => c.mismatchAt).map((c) => `"${c.prompt.slice(0, 40)}"@${c.mismatchAt!.step} ours ${c.mismatchAt!.ours} llama.cpp ${c.mismatchAt!.oracle}`);
        console.log(`hip ${long ? 'long ' : ''}${model}: max |Δlogprob| ${r.maxDelta.toExponential(2)} (target ${target(model)}), matched ${r.matched}/${r.total} steps, ${(r.ms / 1000).toFixed(1)} s`);
        expect(backend.memoryInUse()).toBe(base);
        expect(mismatches).toEqual([]);
        expect(r.maxDelta).toBeLessThanOrEqual(target(model));
      }, 600_000);
    }
  }
});
