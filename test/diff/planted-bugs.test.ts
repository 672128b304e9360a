// diff finds real bugs: one op broken on purpose in one backend (test-only decorators that wrap any
// backend, broken-backends.ts), and the report must name that op and the first layer where it runs.
// The reference is the CPU backend; the broken one is the CPU backend itself (fast, always here)
// and every GPU backend that opens.
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { compareBackends } from '../../src/diff/compare.ts';
import { formatTerminal } from '../../src/diff/report.ts';
import type { DiffReport } from '../../src/diff/types.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType } from '../../src/gguf/types.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import { brokenDequant, brokenRope } from './broken-backends.ts';
import { openGpus } from './gpus.ts';

const skip = missingShared('models', 'synth-llama-256-Q4_K_M.gguf');
const gpus = skip ? new Map<string, Backend>() : await openGpus('exact');
afterAll(() => {
  for (const g of gpus.values()) g.dispose();
});

const targets: Array<[string, () => Backend]> = [['cpu', () => new CpuBackend()], ...[...gpus].map(([n, b]): [string, () => Backend] => [n, () => b])];

/** The first matmul of a weight type in graph order, as (tap name, layer), from the file's tensor list. */
async function firstMatmulOf(path: string, type: GgmlType): Promise<[string, number]> {
  const order = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];
  const tap: Record<string, string> = { attn_q: 'q', attn_k: 'k', attn_v: 'v', attn_output: 'attn_out', ffn_gate: 'ffn_gate', ffn_up: 'ffn_up', ffn_down: 'ffn_out' };
  const file = await GgufFile.open(path);
  try {
    const hits = file.tensors
      .filter((t) => t.type === type)
      .map((t) => /^blk\.(\d+)\.(\w+)\.weight$/.exec(t.name))
      .filter((m): m is RegExpExecArray => m !== null && order.includes(m[2]!))
      .map((m) => [Number(m[1]), order.indexOf(m[2]!)] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    if (hits.length === 0) throw new Error(`${path} has no layer matmul of type ${type}`);
    return [tap[order[hits[0]![1]]!]!, hits[0]![0]];
  } finally {
    await file.close();
  }
}

function firstTensor(r: DiffReport) {
  const f = r.pairs[0]!.firstFailure;
  console.log(`${r.pairs[0]!.other}: ${formatTerminal(r).split('\n').find((l) => l.includes('first failing'))!.trim()}`);
  expect(f?.kind, formatTerminal(r)).toBe('tensor');
  return f!.kind === 'tensor' ? f!.tap : undefined!;
}

describe.skipIf(skip !== undefined)('planted bugs: diff names the broken op and its first layer', () => {
  for (const [name, make] of targets) {
    it(`${name} with rope's angle off by 1%: rope_q in layer 0, at the prefill`, async () => {
      const r = await compareBackends({
        model: sharedPath('models', 'stories260K.gguf'),
        backends: [{ label: 'cpu', backend: new CpuBackend() }, { label: `${name}+broken-rope`, backend: brokenRope(make()) }],
        prompts: ['Once upon a time'],
        steps: 2,
      });
      expect(r.passed).toBe(false);
      const t = firstTensor(r);
      expect([t.name, t.op, t.layer, t.caseIndex, t.step]).toEqual(['rope_q', 'rope', 0, 0, 0]);
      // Everything before it was bit-identical: the divergence starts there too.
      expect(r.pairs[0]!.divergence?.name).toBe('rope_q');
      expect(formatTerminal(r)).toMatch(/first failing: rope_q \(rope\) in layer 0: NMSE/);
    });

    it(`${name} with Q6_K dequantizing 6% off: the first Q6_K matmul`, async () => {
      const model = sharedPath('models', 'synth-llama-256-Q4_K_M.gguf');
      const r = await compareBackends({
        model,
        backends: [{ label: 'cpu', backend: new CpuBackend() }, { label: `${name}+broken-q6k`, backend: brokenDequant(make(), GgmlType.Q6_K) }],
        prompts: ['The little dog'],
        steps: 2,
      });
      const t = firstTensor(r);
      expect(t.op).toBe('matmul');
      expect(t.weightType).toBe(GgmlType.Q6_K);
      expect([t.name, t.layer]).toEqual(await firstMatmulOf(model, GgmlType.Q6_K));
      // Every earlier tensor matched: no op of another type is blamed.
      expect(r.pairs[0]!.divergence).toEqual(t);
      expect(formatTerminal(r)).toMatch(/first failing: \w+ \(matmul Q6_K\) in layer \w+: NMSE/);
    });
  }

  it('in fast numerics the whole-model bounds still catch a rope bug (cpu vs cpu, 25% off)', async () => {
    const r = await compareBackends({
      model: sharedPath('models', 'stories260K.gguf'),
      backends: [{ label: 'cpu', backend: new CpuBackend() }, { label: 'cpu+broken-rope', backend: brokenRope(new CpuBackend(), 1.25) }],
      numerics: 'fast',
      prompts: ['Lily and Tom went to the park. They'],
      steps: 2,
    });
    const t = firstTensor(r);
    expect([t.name, t.layer]).toEqual(['rope_q', 0]);
    expect(t.nmse).toBeGreaterThan(t.threshold);
  });

  it('a bug in a type the model does not use changes nothing', async () => {
    const r = await compareBackends({
      model: sharedPath('models', 'stories260K.gguf'),
      backends: [{ label: 'cpu', backend: new CpuBackend() }, { label: 'cpu+broken-q6k', backend: brokenDequant(new CpuBackend(), GgmlType.Q6_K) }],
      prompts: ['Once upon a time'],
      steps: 2,
    });
    expect(r.passed).toBe(true);
    expect(r.pairs[0]!.divergence).toBeUndefined();
  });
});
