// attention: causal grouped-query attention of each q row over its own slot's cached keys and values.
// Row r (slot s, position p) attends to positions 0..p of slot s, so rows of different sequences can
// share a batch and a prompt processed as one batch stays causal without a mask tensor.
// With nHeads / nKvHeads = g, query heads h*g .. h*g+g-1 share KV head h (as ggml broadcasts).
import type { AttentionParams } from '../backend.ts';
import { F16_TABLE, f16ToF32, f32ToF16 } from '../../quant/float.ts';

/**
 * llama.cpp (without flash attention, its default) computes K·q and probs·V as matmuls against the
 * f16 cache, so q and the softmax probabilities are rounded to f16 first (see vec-dot-type.ts). We do
 * the same: it brings our logits several times closer to llama.cpp's.
 */
const toHalf = (x: number): number => f16ToF32(f32ToF16(x));
import { checkLayer, checkPosition, checkSlot } from './store-kv.ts';
import { expectShape, type CpuIndex, type CpuKvCache, type CpuTensor } from './resources.ts';

export function attention(
  q: CpuTensor,
  cache: CpuKvCache,
  layer: number,
  slots: CpuIndex,
  positions: CpuIndex,
  p: AttentionParams,
  out: CpuTensor,
): void {
  checkLayer(cache, layer);
  const { nHeads, nKvHeads, headDim, scale } = p;
  if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: ${nHeads} query heads cannot be grouped over ${nKvHeads} KV heads`);
  if (nKvHeads * headDim !== cache.kvDim) throw new RangeError(`attention: ${nKvHeads} KV heads of ${headDim} do not match the cache's kvDim ${cache.kvDim}`);
  const rows = q.rows;
  expectShape('attention q', q, rows, nHeads * headDim);
  expectShape('attention output', out, rows, nHeads * headDim);
  if (slots.length !== rows || positions.length !== rows) {
    throw new RangeError(`attention: ${rows} rows need ${rows} slots and positions, got ${slots.length} and ${positions.length}`);
  }
  const group = nHeads / nKvHeads;
  const kc = cache.k[layer]!;
  const vc = cache.v[layer]!;
  const half = F16_TABLE;
  const scores = new Float64Array(cache.contextLength);
  const acc = new Float64Array(headDim);
  const qh = new Float64Array(headDim);
  for (let r = 0; r < rows; r++) {
    const slot = checkSlot(cache, slots.data[r]!);
    const last = checkPosition(cache, positions.data[r]!);
    for (let h = 0; h < nHeads; h++) {
      const qOff = r * q.cols + h * headDim;
      const kvOff = Math.floor(h / group) * headDim;
      for (let i = 0; i < headDim; i++) qh[i] = toHalf(q.data[qOff + i]!);
      let max = -Infinity;
      for (let t = 0; t <= last; t++) {
        const kOff = cache.offset(slot, t) + kvOff;
        let s = 0;
        for (let i = 0; i < headDim; i++) s += qh[i]! * half[kc[kOff + i]!]!;
        s *= scale;
        scores[t] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let t = 0; t <= last; t++) {
        scores[t] = Math.exp(scores[t]! - max);
        sum += scores[t]!;
      }
      acc.fill(0);
      for (let t = 0; t <= last; t++) {
        const w = toHalf(scores[t]! / sum);
        const vOff = cache.offset(slot, t) + kvOff;
        for (let i = 0; i < headDim; i++) acc[i] += w * half[vc[vOff + i]!]!;
      }
      out.data.set(acc, r * out.cols + h * headDim);
    }
  }
}
