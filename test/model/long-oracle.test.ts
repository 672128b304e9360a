// The long-prompt oracle (../shared/oracle/long: llama.cpp after prompts of 563 and 1661 tokens, then
// greedy steps) on the CPU reference: the same rule and bounds as the short oracle (oracle.test.ts).
// llama.cpp ran the prompts in ubatches of 512; every row of such a batch takes the batched kernels
// either way, so the prompt as one batch computes the same float32 values. Each file takes ~35 s on
// an idle core (35-63 s measured here), so CI runs one (llama, F32: the float kernels over ~1700
// positions; the WebGPU suite takes qwen2 Q4_0); ROCFORGE_ORACLE_FULL=1 runs all four.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { missingShared } from '../helpers/shared.ts';
import { longOracleSelection, runLongOracle } from './oracle-runner.ts';

const CI_SUBSET = ['synth-llama-256.gguf'];
const skip = missingShared('oracle', 'long');
const models = skip ? [] : longOracleSelection(CI_SUBSET);

describe.skipIf(skip !== undefined)('long-prompt oracle: CPU backend vs llama.cpp', () => {
  for (const model of models) {
    it(model, { timeout: 900_000 }, async () => {
      const r = await runLongOracle(model, new CpuBackend());
      console.log(r.line);
      expect(r.leaked).toBe(0);
      expect(r.mismatches).toEqual([]);
      expect(r.maxDelta).toBeLessThanOrEqual(r.bound);
    });
  }
});
