// The long-prompt oracle (shared/new-archs/oracle/long: prompts of 563 and 1661 tokens, then 24
// greedy steps) on the new-architecture files, CPU backend and, on a real GPU or with
// ROCFORGE_ORACLE_FULL=1, the WebGPU one. Long prompts reach what the 12 short ones do not: rope
// angles past 120 radians (glibc's large-argument sinf/cosf, the Llama 3 frequency factors), and
// sliding windows far behind the row. llama.cpp ran them in ubatches of 512; a row's arithmetic does
// not depend on the ubatch (every row of one takes the batched kernels), so one batch replays it.
// Same bounds as the short oracle: tokens equal except after near ties, top-8 log-probs within
// 1e-3 (float files) / 5e-2 (quantized). By default a subset (one Llama 3 and one Phi-3 file) runs on
// the CPU; ROCFORGE_ORACLE_FULL=1 runs every file.
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/backends/webgpu/index.ts';
import { gpuPresent, isSoftware } from '../backends/webgpu/gpu.ts';
import { missingShared, sharedNewArchModels, sharedPath } from '../helpers/shared.ts';
import { readOracle, runOracle } from './oracle-runner.ts';

const FULL = process.env.ROCFORGE_ORACLE_FULL === '1';
const SUBSET = ['synth-llama3-256.gguf', 'synth-phi3-256-Q4_0.gguf'];
const maxDelta = (model: string) => (/-Q\w+\.gguf$/.test(model) ? 5e-2 : 1e-3);

const skip = missingShared('new-archs', 'oracle', 'long');
const all = skip ? [] : sharedNewArchModels();
const cpuModels = FULL ? all : all.filter((m) => SUBSET.includes(m));

let gpu: WebGpuBackend | undefined;
if (!skip && (await gpuPresent())) {
  const candidate = await createWebGpuBackend();
  if (!isSoftware(candidate) || FULL) gpu = candidate;
  else candidate.dispose();
}

async function check(model: string, backend: Backend): Promise<void> {
  const base = backend.memoryInUse();
  const oracle = readOracle(sharedPath('new-archs', 'oracle', 'long', model.replace(/\.gguf$/, '.json')));
  const r = await runOracle(sharedPath('new-archs', 'models', model), oracle, backend);
  const mismatches = r.cases.filter((c) => c.mismatchAt).map((c) => `${c.prompt.length}-char prompt @${c.mismatchAt!.step}: ours ${c.mismatchAt!.ours}, llama.cpp ${c.mismatchAt!.oracle}`);
  console.log(`${backend.name} long ${model}: max |Δlogprob| ${r.maxDelta.toExponential(2)}, matched ${r.matched}/${r.total} steps, ${(r.ms / 1000).toFixed(1)} s`);
  expect(backend.memoryInUse()).toBe(base);
  expect(mismatches).toEqual([]);
  expect(r.maxDelta).toBeLessThanOrEqual(maxDelta(model));
}

describe.skipIf(skip !== undefined)('long-prompt oracle: new architectures vs llama.cpp', () => {
  afterAll(() => gpu?.dispose());

  for (const model of cpuModels) it(`cpu ${model}`, { timeout: 900_000 }, () => check(model, new CpuBackend()));
  if (gpu) for (const model of all) it(`webgpu ${model}`, { timeout: 900_000 }, () => check(model, gpu!));
});
