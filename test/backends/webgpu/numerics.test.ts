// The engine's `numerics` option: 'exact' WebGPU kernels give the CPU oracle's log-probs bit for bit,
// 'fast' ones the same greedy tokens with log-probs close to, but not equal to, the oracle's.
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../../src/engine/engine.ts';
import type { GenerateResult } from '../../../src/engine/types.ts';
import { missingShared, sharedPath } from '../../helpers/shared.ts';
import { gpuPresent } from './gpu.ts';

const MODEL = 'models/stories260K.gguf';
const skip = missingShared(MODEL) !== undefined || !(await gpuPresent());

describe.skipIf(skip)('numerics: exact | fast on webgpu', () => {
  const run = async (backend: 'cpu' | 'webgpu', numerics: 'exact' | 'fast'): Promise<GenerateResult> => {
    const engine = await InferenceEngine.create(sharedPath(MODEL), { backend, numerics, contextLength: 64 });
    try {
      return await engine.generate('Once upon a time', { temperature: 0, maxTokens: 12, logprobs: 4 });
    } finally {
      await engine.dispose();
    }
  };
  let cpu: GenerateResult;
  beforeAll(async () => {
    cpu = await run('cpu', 'exact');
  });

  const deltas = (r: GenerateResult): number[] =>
    r.logprobs!.flatMap((lp, i) => lp.top.map(([, v], k) => Math.abs(v - cpu.logprobs![i]!.top[k]![1])));

  it("'exact' gives the CPU oracle's tokens and log-probs bit for bit", async () => {
    const r = await run('webgpu', 'exact');
    expect(r.tokens).toEqual(cpu.tokens);
    expect(Math.max(...deltas(r))).toBe(0);
  });

  it("'fast' gives the same greedy tokens with log-probs within 2e-2, not bit-identical", async () => {
    const r = await run('webgpu', 'fast');
    expect(r.tokens).toEqual(cpu.tokens);
    const d = deltas(r);
    console.log(`numerics fast: max |Δlogprob| vs the CPU oracle ${Math.max(...d).toExponential(2)}`);
    expect(Math.max(...d)).toBeLessThan(2e-2);
    expect(Math.max(...d)).toBeGreaterThan(0);
  });
});
