// Test-only decorators that plant a bug in one op of any backend, for the planted-bug tests of
// `rocforge diff`: every other property and op is forwarded to the wrapped backend unchanged, so
// the wrapper keeps working as the Backend interface grows.
import type { Backend, IndexTensor, RopeParams, Tensor } from '../../src/backends/backend.ts';
import { GgmlType, TYPE_LAYOUT, typeName } from '../../src/gguf/types.ts';

function decorate(inner: Backend, overrides: Partial<Backend>): Backend {
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof Backend];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Rope with a wrong angle: the frequency scale off by `factor` (positions > 0 rotate wrongly). */
export function brokenRope(inner: Backend, factor = 1.01): Backend {
  return decorate(inner, {
    rope(q: Tensor, k: Tensor, positions: IndexTensor, p: RopeParams): void {
      inner.rope(q, k, positions, { ...p, freqScale: p.freqScale * factor });
    },
  });
}

/**
 * Where each block format keeps its f16 scale `d` (ggml's block structs): legacy and IQ4_NL blocks
 * and Q4_K/Q5_K start with it; Q2_K, Q3_K and Q6_K put it after their quants and sub-block scales.
 */
const D_OFFSET: Partial<Record<GgmlType, number>> = {
  [GgmlType.Q4_0]: 0,
  [GgmlType.Q4_1]: 0,
  [GgmlType.Q5_0]: 0,
  [GgmlType.Q5_1]: 0,
  [GgmlType.Q8_0]: 0,
  [GgmlType.IQ4_NL]: 0,
  [GgmlType.Q4_K]: 0,
  [GgmlType.Q5_K]: 0,
  [GgmlType.Q2_K]: 80,
  [GgmlType.Q3_K]: 108,
  [GgmlType.Q6_K]: 208,
};

/**
 * A dequantization bug in one weight type: every block's scale is read 6% off (mantissa bit 6 of the
 * f16 `d` flipped), as a wrong shift or a swapped scale byte would. F16/BF16 weights get the same
 * bit flipped in every element. Other types upload untouched.
 */
export function brokenDequant(inner: Backend, type: GgmlType): Backend {
  const layout = TYPE_LAYOUT[type]!;
  const off = layout.blockSize === 1 ? 0 : D_OFFSET[type];
  if (off === undefined) throw new Error(`brokenDequant: no scale offset known for ${typeName(type)}`);
  return decorate(inner, {
    uploadWeight(name: string, t: GgmlType, rows: number, cols: number, data: Uint8Array) {
      if (t !== type) return inner.uploadWeight(name, t, rows, cols, data);
      const bad = data.slice();
      // Little-endian halves: bit 6 of the mantissa is bit 6 of the low byte.
      for (let b = off; b < bad.length; b += layout.typeSize) bad[b]! ^= 1 << 6;
      return inner.uploadWeight(name, t, rows, cols, bad);
    },
  });
}

/** Counts read() calls (the tap's cost when off must be none). */
export function countingReads(inner: Backend): { backend: Backend; reads: () => number } {
  let n = 0;
  const backend = decorate(inner, {
    read(t: Tensor): Promise<Float32Array> {
      n++;
      return inner.read(t);
    },
  });
  return { backend, reads: () => n };
}
