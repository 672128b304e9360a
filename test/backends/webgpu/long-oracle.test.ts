// The long-prompt oracle (../shared/oracle/long: prompts of 563 and 1661 tokens) on the WebGPU
// backend, under the CPU suite's rule and bounds (test/model/long-oracle.test.ts). On lavapipe one
// file runs (qwen2 Q4_0: neox rope, biases and the exact quantized kernels over ~1700 positions;
// 68 s there against 139 s for the F32 llama file); on a real GPU or with ROCFORGE_ORACLE_FULL=1,
// all four.
import { afterAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { missingShared } from '../../helpers/shared.ts';
import { longOracleModels, longOracleSelection, runLongOracle } from '../../model/oracle-runner.ts';
import { gpuPresent, isSoftware } from './gpu.ts';

const LAVAPIPE_SUBSET = ['synth-qwen2-256-Q4_0.gguf'];
const skip = missingShared('oracle', 'long');
const present = skip ? false : await gpuPresent();
let gpu: WebGpuBackend | undefined;
let models: string[] = [];
if (present) {
  gpu = await createWebGpuBackend();
  models = isSoftware(gpu) ? longOracleSelection(LAVAPIPE_SUBSET) : longOracleModels();
}

describe.skipIf(!present)('long-prompt oracle: WebGPU backend vs llama.cpp', () => {
  afterAll(() => gpu?.dispose());
  for (const model of models) {
    it(model, { timeout: 900_000 }, async () => {
      const r = await runLongOracle(model, gpu!);
      console.log(r.line);
      expect(r.leaked).toBe(0);
      expect(r.mismatches).toEqual([]);
      expect(r.maxDelta).toBeLessThanOrEqual(r.bound);
    });
  }
});
