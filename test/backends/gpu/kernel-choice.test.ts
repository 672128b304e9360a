// The kernel-choice rules GPU executors share: which of llama.cpp's CPU kernels an exact GPU kernel
// replays, how x is rounded for it, and how a batch splits into runs of rows.
import { describe, expect, it } from 'vitest';
import { K_TYPES } from '../../../src/backends/cpu/kquant-dot.ts';
import { hasExactDot } from '../../../src/backends/cpu/quant-dot.ts';
import { actRoundBlock, actRoundMode, attentionPrefillSplit, floatKernelKind, isKQuant, kernelRuns, legacyKernelKind } from '../../../src/backends/gpu/kernel-choice.ts';
import { GPU_WEIGHT_TYPES } from '../../../src/backends/gpu/kernels.ts';
import { webgpuWeightTypes } from '../../../src/backends/webgpu/shader-composer.ts';
import { GgmlType } from '../../../src/gguf/types.ts';

const ALL = [...GPU_WEIGHT_TYPES];

describe('kernel choice', () => {
  it('float kinds: vec_dot for single rows, tinyBLAS for batches when k fits its vector width', () => {
    expect([1, 2].map((rows) => floatKernelKind(GgmlType.F32, rows, 64))).toEqual([0, 2]);
    expect([1, 2].map((rows) => floatKernelKind(GgmlType.F16, rows, 64))).toEqual([1, 2]);
    expect(floatKernelKind(GgmlType.F16, 4, 24)).toBe(1); // k not a multiple of 16: vec_dot even batched
    expect([1, 2].map((rows) => floatKernelKind(GgmlType.BF16, rows, 64))).toEqual([3, 4]);
    expect(floatKernelKind(GgmlType.BF16, 2, 48)).toBe(3); // bf16 tinyBLAS needs k % 32
    for (const t of ALL) {
      const float = t === GgmlType.F32 || t === GgmlType.F16 || t === GgmlType.BF16;
      expect(floatKernelKind(t, 1, 256) !== undefined, GgmlType[t]).toBe(float);
    }
  });

  it('legacy kinds follow the CPU reference: the same types, Q4_0 repacked at 8k rows, IQ4_NL single rows apart', () => {
    for (const t of ALL) expect(legacyKernelKind(t, false, 8) !== undefined, GgmlType[t]).toBe(hasExactDot(t));
    expect([8, 12].map((rows) => legacyKernelKind(GgmlType.Q4_0, false, rows))).toEqual([3, 0]);
    expect([GgmlType.Q4_1, GgmlType.Q5_1].map((t) => legacyKernelKind(t, true, 7))).toEqual([1, 1]);
    expect([GgmlType.Q5_0, GgmlType.Q8_0].map((t) => legacyKernelKind(t, false, 7))).toEqual([0, 0]);
    expect([false, true].map((b) => legacyKernelKind(GgmlType.IQ4_NL, b, 8))).toEqual([2, 0]);
  });

  it('K-quants are exactly the CPU reference Q8_K types', () => {
    for (const t of ALL) expect(isKQuant(t), GgmlType[t]).toBe(K_TYPES.has(t));
  });

  it('rounds x to the vec_dot type of the weight: f16, bf16, Q8 blocks of 32, Q8_K blocks of 256', () => {
    const modes = Object.fromEntries(ALL.map((t) => [GgmlType[t], actRoundMode(t)]));
    expect(modes).toEqual({ F32: 0, F16: 1, BF16: 2, Q4_0: 3, Q4_1: 3, Q5_0: 3, Q5_1: 3, Q8_0: 3, IQ4_NL: 3, Q2_K: 4, Q3_K: 4, Q4_K: 4, Q5_K: 4, Q6_K: 4 });
    expect([0, 1, 2, 3, 4].map(actRoundBlock)).toEqual([1, 1, 1, 32, 256]);
  });

  it('splits a described batch into runs of single-row and batched sequences', () => {
    expect(kernelRuns(1, undefined)).toEqual([{ lo: 0, n: 1, batched: false }]);
    expect(kernelRuns(5, undefined)).toEqual([{ lo: 0, n: 5, batched: true }]);
    // Sequences of 1, 3, 1 and 1 rows (a decode, a prefill chunk, two decodes).
    expect(kernelRuns(6, Int32Array.of(1, 3, 3, 3, 1, 1))).toEqual([
      { lo: 0, n: 1, batched: false },
      { lo: 1, n: 3, batched: true },
      { lo: 4, n: 2, batched: false },
    ]);
    // A tensor of another row count (gathered logits) holds one row per sequence.
    expect(kernelRuns(2, Int32Array.of(1, 3, 3, 3))).toEqual([{ lo: 0, n: 2, batched: false }]);
  });

  it('attention_prefill takes the batch from its last short run of one slot on, past the decode rows, heads up to 128', () => {
    const rows = (n: number, slot = 0) => new Array<number>(n).fill(slot);
    const pick = (slots: number[], headDim = 64, group = 4) => attentionPrefillSplit(slots, headDim, group, 32, 8);
    expect([2, 48, 64, 65, 96, 128, 130].map((d) => pick(rows(9), d)?.wide)).toEqual([0, 0, 0, 1, 1, 1, undefined]);
    expect(pick(rows(9))?.from).toBe(0);
    expect(pick(rows(8))).toBeUndefined();
    // Two prompts of 8 rows or more (a tile of 32 vectors holds 8 rows of a group of 4).
    expect(pick([...rows(9, 0), ...rows(8, 1)])).toEqual({ from: 0, wide: 0 });
    expect(pick([...rows(9, 0), ...rows(7, 1)])).toBeUndefined();
    // Without GQA a tile holds 32 rows: shorter runs go to attention.wgsl.
    expect(pick([...rows(40, 0), ...rows(20, 1), ...rows(32, 2)], 64, 1)).toEqual({ from: 60, wide: 0 });
    expect(pick([...rows(40, 0), ...rows(32, 1)], 64, 1)?.from).toBe(0);
    // Decode rows, then a prompt's chunk (continuous batching): the decode rows keep attention.wgsl.
    expect(pick([3, 5, 7, ...rows(100, 1)], 128)).toEqual({ from: 3, wide: 1 });
    expect(pick([3, 5, 7, ...rows(100, 1), 4])).toBeUndefined();
  });

  it('the WGSL dequant helpers cover exactly the GPU weight types', () => {
    expect(new Set(webgpuWeightTypes())).toEqual(GPU_WEIGHT_TYPES);
  });
});
