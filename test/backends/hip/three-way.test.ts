// The three engines agree bit for bit in exact numerics: on every shared model (../shared/models and,
// where present, ../shared/new-archs/models) and every oracle prompt, cpu, webgpu and hip pick the same greedy tokens, and every step's logits (so its top-8
// log-probabilities) are the same float32 bits. A GPU backend that cannot open here is left out
// with one line (hip: unless ROCFORGE_REQUIRE_HIP=1).
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import { CpuBackend } from '../../../src/backends/cpu/index.ts';
import { GgufFile } from '../../../src/gguf/reader.ts';
import { Model } from '../../../src/model/model.ts';
import { hasShared, missingShared, sharedModels, sharedNewArchModels, sharedPath } from '../../helpers/shared.ts';
import { readOracle, type Oracle } from '../../model/oracle-runner.ts';
import { hipPresent, openHip } from './hip.ts';

interface Step {
  token: number;
  /** Top 8 (id, log-prob) by log-prob, ids ascending among equals. */
  top: Array<[number, number]>;
  /** The logits row's float32 bits. */
  bits: Int32Array;
}

function top8(logits: Float32Array): Array<[number, number]> {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let z = 0;
  for (const v of logits) z += Math.exp(v - max);
  const lse = max + Math.log(z);
  const ids = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  return ids.slice(0, 8).map((id) => [id, logits[id]! - lse]);
}

/** Greedy decode of every oracle prompt, one sequence at a time (prefill batch, then one row per step). */
async function trace(modelPath: string, oracle: Oracle, backend: Backend): Promise<Step[][]> {
  const file = await GgufFile.open(modelPath);
  const model = await Model.load(file, backend);
  await file.close();
  const vocab = model.hparams.vocabSize;
  const steps = Math.max(...oracle.cases.map((c) => c.tokens.length));
  const maxPrompt = Math.max(...oracle.cases.map((c) => c.prompt_tokens.length));
  const cache = model.createKvCache(oracle.cases.length, maxPrompt + steps);
  const out: Step[][] = [];
  try {
    for (const [ci, c] of oracle.cases.entries()) {
      const caseSteps: Step[] = [];
      let tokens = c.prompt_tokens;
      let pos = 0;
      for (let step = 0; step < c.tokens.length; step++) {
        const n = tokens.length;
        const logits = await model.forward(
          { tokens: Int32Array.from(tokens), slots: new Int32Array(n).fill(ci), positions: Int32Array.from(tokens, (_, i) => pos + i), logitRows: Int32Array.of(n - 1) },
          cache,
        );
        pos += n;
        const row = logits.slice(0, vocab);
        const top = top8(row);
        caseSteps.push({ token: top[0]![0], top, bits: new Int32Array(row.buffer) });
        tokens = [top[0]![0]];
      }
      out.push(caseSteps);
    }
  } finally {
    backend.release(cache);
    model.dispose();
  }
  return out;
}

/** The first difference between two traces, in words, or undefined. */
function firstDifference(oracle: Oracle, want: Step[][], got: Step[][]): string | undefined {
  for (const [ci, steps] of want.entries()) {
    for (const [si, w] of steps.entries()) {
      const g = got[ci]![si]!;
      const where = `case ${ci} ("${oracle.cases[ci]!.prompt.slice(0, 30)}") step ${si}`;
      if (g.token !== w.token) return `${where}: token ${g.token}, want ${w.token}`;
      if (JSON.stringify(g.top) !== JSON.stringify(w.top)) return `${where}: top-8 ${JSON.stringify(g.top)}, want ${JSON.stringify(w.top)}`;
      const i = w.bits.findIndex((b, k) => b !== g.bits[k]);
      if (i >= 0) {
        const f = (x: number) => new Float32Array(Int32Array.of(x).buffer)[0]!;
        return `${where}: logit ${i} is ${f(g.bits[i]!)}, want ${f(w.bits[i]!)} (and ${w.bits.filter((b, k) => b !== g.bits[k]).length} more differ)`;
      }
    }
  }
  return undefined;
}

const hip = await hipPresent();
const skip = missingShared('oracle');
const gpus: Array<{ name: string; backend: Backend }> = [];
if (hip && !skip) {
  gpus.push({ name: 'hip', backend: await openHip() });
  try {
    const { createWebGpuBackend } = await import('../../../src/backends/webgpu/index.ts');
    gpus.push({ name: 'webgpu', backend: await createWebGpuBackend() });
  } catch (e) {
    console.warn(`three-way: webgpu left out (${(e as Error).message.split('\n')[0]}): comparing cpu and hip only`);
  }
}

describe.skipIf(!hip || skip !== undefined)('cpu, webgpu and hip: same greedy tokens and bit-identical logits (exact numerics)', () => {
  afterAll(() => {
    for (const g of gpus) g.backend.dispose();
  });

  // ROCFORGE_HIP_MODELS (a regular expression on file names) runs a part, to fit a time limit.
  const pick = process.env.ROCFORGE_HIP_MODELS;
  const files = [
    ...sharedModels().map((model) => ({ model, dir: [] as string[] })),
    ...(hasShared('new-archs', 'oracle') ? sharedNewArchModels().map((model) => ({ model, dir: ['new-archs'] })) : []),
  ];
  for (const { model, dir } of hip && !skip ? files.filter((f) => !pick || new RegExp(pick).test(f.model)) : []) {
    it(model, async () => {
      const oracle = readOracle(sharedPath(...dir, 'oracle', model.replace(/\.gguf$/, '.json')));
      const path = sharedPath(...dir, 'models', model);
      const want = await trace(path, oracle, new CpuBackend());
      const differences: string[] = [];
      for (const g of gpus) {
        const base = g.backend.memoryInUse();
        const got = await trace(path, oracle, g.backend);
        expect(g.backend.memoryInUse(), `${g.name} memory after the model`).toBe(base);
        const d = firstDifference(oracle, want, got);
        if (d) differences.push(`${g.name} vs cpu: ${d}`);
      }
      const steps = want.reduce((s, c) => s + c.length, 0);
      console.log(`three-way ${model}: ${steps} steps on cpu${gpus.map((g) => `, ${g.name}`).join('')}: ${differences.length ? differences.join('; ') : 'bit-identical'}`);
      expect(differences).toEqual([]);
    }, 600_000);
  }
});
