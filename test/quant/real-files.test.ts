// Dequantizing the tensors llama.cpp wrote gives back the F32 originals within each type's
// expected error: stories260K (real weights; llama.cpp fell back to Q5_0/Q5_1/Q8_0/IQ4_NL/F16
// for its odd dims) and the synth models (k-quants).
import { describe, expect, it } from 'vitest';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType, typeName } from '../../src/gguf/types.ts';
import { dequantizeTensor } from '../../src/quant/registry.ts';
import { missingShared, sharedModels, sharedPath } from '../helpers/shared.ts';

/** Upper bound of sqrt(sum err^2 / sum x^2) over a whole tensor. */
const REL_RMSE: Record<number, number> = {
  [GgmlType.F32]: 0,
  [GgmlType.F16]: 5e-4,
  [GgmlType.BF16]: 4e-3,
  [GgmlType.Q8_0]: 0.01,
  [GgmlType.Q6_K]: 0.03,
  [GgmlType.Q5_0]: 0.06,
  [GgmlType.Q5_1]: 0.06,
  [GgmlType.Q5_K]: 0.06,
  [GgmlType.Q4_0]: 0.12,
  [GgmlType.Q4_1]: 0.12,
  [GgmlType.Q4_K]: 0.12,
  [GgmlType.IQ4_NL]: 0.12,
  [GgmlType.Q3_K]: 0.25,
  [GgmlType.Q2_K]: 0.4,
};

async function checkBase(base: string): Promise<string[]> {
  const src = await GgufFile.open(sharedPath('models', `${base}.gguf`));
  const worst = new Map<GgmlType, number>();
  const failures: string[] = [];
  try {
    for (const file of sharedModels().filter((f) => f.startsWith(`${base}-`))) {
      const q = await GgufFile.open(sharedPath('models', file));
      try {
        for (const t of q.tensors) {
          const o = src.tensor(t.name)!;
          const ob = await src.readTensor(o);
          const x = new Float32Array(ob.buffer, ob.byteOffset, o.nElements);
          const y = dequantizeTensor(t.type, await q.readTensor(t), t.nElements);
          let se = 0;
          let sx = 0;
          for (let i = 0; i < x.length; i++) {
            se += (x[i]! - y[i]!) ** 2;
            sx += x[i]! ** 2;
          }
          const rel = sx > 0 ? Math.sqrt(se / sx) : Math.sqrt(se);
          worst.set(t.type, Math.max(worst.get(t.type) ?? 0, rel));
          const bound = REL_RMSE[t.type];
          if (bound === undefined || !(rel <= bound)) failures.push(`${file} ${t.name} (${typeName(t.type)}): relative RMSE ${rel} > ${bound}`);
        }
      } finally {
        await q.close();
      }
    }
  } finally {
    await src.close();
  }
  console.log(`${base}: worst relative RMSE per type: ${[...worst].map(([t, v]) => `${typeName(t)} ${v.toExponential(2)}`).join(', ')}`);
  return failures;
}

describe('dequantizing llama.cpp-quantized files recovers the F32 weights', () => {
  for (const base of ['stories260K', 'synth-llama-256']) {
    const skip = missingShared('models', `${base}.gguf`);
    it.skipIf(skip !== undefined)(`${base}-*: every tensor within its type's error`, async () => {
      expect(await checkBase(base)).toEqual([]);
    });
  }

  it.skipIf(missingShared('models', 'stories260K-Q6_K.gguf') !== undefined)('stories260K Q8_0 tensors are within half a step of each value', async () => {
    const src = await GgufFile.open(sharedPath('models', 'stories260K.gguf'));
    const q = await GgufFile.open(sharedPath('models', 'stories260K-Q6_K.gguf'));
    try {
      const q8 = q.tensors.filter((t) => t.type === GgmlType.Q8_0);
      expect(q8.length).toBeGreaterThan(10);
      for (const t of q8) {
        const ob = await src.readTensor(src.tensor(t.name)!);
        const x = new Float32Array(ob.buffer, ob.byteOffset, t.nElements);
        const y = dequantizeTensor(GgmlType.Q8_0, await q.readTensor(t), t.nElements);
        for (let b = 0; b < x.length; b += 32) {
          let amax = 0;
          for (let i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]!));
          const step = amax / 127;
          for (let i = b; i < b + 32; i++) {
            // half a step, plus the fp16 rounding of the step times the largest level
            if (Math.abs(x[i]! - y[i]!) > step * (0.5 + 127 * 2 ** -11)) {
              throw new Error(`${t.name}[${i}]: ${y[i]} is too far from ${x[i]} (step ${step})`);
            }
          }
        }
      }
    } finally {
      await q.close();
      await src.close();
    }
  });
});
