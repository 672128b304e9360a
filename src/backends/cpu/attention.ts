// attention: causal grouped-query attention of each q row over its own slot's cached keys and values.
// Row r (slot s, position p) attends to positions 0..p of slot s, so rows of different sequences can
// share a batch and a prompt processed as one batch stays causal without a mask tensor.
// With nHeads / nKvHeads = g, query heads h*g .. h*g+g-1 share KV head h (as ggml broadcasts).
//
// The arithmetic is llama.cpp's (without flash attention, the llama-server default of its era):
//   scores = K·q as an f16 matmul (q rounded to f16), then soft_max_ext in float32: scores * scale,
//   ggml_v_expf(s - max) summed per vector (VW lanes) into a double, times (float)(1/sum); then
//   out = V·probs as an f16 matmul (probs rounded to f16).
// The matmuls run tinyBLAS for batches of two rows or more and ggml_vec_dot_f16 for one row, and the
// KV view is padded to 32 cells (masked cells weigh exactly 0); see ggml-simd.ts for why this matters.
// Soft-capping (gemma2) goes between the dot and the softmax scale: cap * tanhf(score * (1/cap)).
// A sliding window masks the cells before p - window + 1: they take no part in the max, and their
// exp is 0, so the softmax's 16-cell blocks still start at cell 0 as in ggml.
import type { AttentionParams } from '../backend.ts';
import { F16_TABLE, f16ToF32, f32ToF16 } from '../../quant/float.ts';
import { VW, dotTiny, dotVecF16, hsum, vExpf } from './ggml-simd.ts';
import { softcapInverse, softcapValue } from './scale.ts';
import { checkLayer, checkPosition, checkSlot } from './store-kv.ts';
import { expectShape, type CpuIndex, type CpuKvCache, type CpuTensor } from './resources.ts';

const fr = Math.fround;
const toHalf = (x: number): number => f16ToF32(f32ToF16(x));
/** llama.cpp pads the KV cells an attention sees to a multiple of 32 (without flash attention). */
const KV_PAD = 32;

export function attention(
  q: CpuTensor,
  cache: CpuKvCache,
  layer: number,
  slots: CpuIndex,
  positions: CpuIndex,
  p: AttentionParams,
  out: CpuTensor,
  batched: (r: number) => boolean = () => q.rows >= 2,
): void {
  checkLayer(cache, layer);
  const { nHeads, nKvHeads, headDim } = p;
  if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: ${nHeads} query heads cannot be grouped over ${nKvHeads} KV heads`);
  if (nKvHeads * headDim !== cache.kvDim) throw new RangeError(`attention: ${nKvHeads} KV heads of ${headDim} do not match the cache's kvDim ${cache.kvDim}`);
  const rows = q.rows;
  expectShape('attention q', q, rows, nHeads * headDim);
  expectShape('attention output', out, rows, nHeads * headDim);
  if (slots.length !== rows || positions.length !== rows) {
    throw new RangeError(`attention: ${rows} rows need ${rows} slots and positions, got ${slots.length} and ${positions.length}`);
  }
  const scale = fr(p.scale);
  const window = p.window ?? 0;
  const cap = p.softcap ?? 0;
  if (!Number.isInteger(window) || window < 0) throw new RangeError(`attention: window must be a non-negative integer, got ${window}`);
  if (!(cap >= 0)) throw new RangeError(`attention: softcap must not be negative, got ${cap}`);
  const capInv = cap > 0 ? softcapInverse(cap) : 0;
  const cap32 = fr(cap);
  // (per row: a row's kernel follows its own sequence's rows in the batch, see Backend.describeBatch)
  const group = nHeads / nKvHeads;
  const kc = cache.k[layer]!;
  const vc = cache.v[layer]!;
  const half = F16_TABLE;
  const nPad = Math.ceil(cache.contextLength / KV_PAD) * KV_PAD + VW;
  const scores = new Float64Array(nPad);
  const probs = new Float64Array(nPad);
  const vcol = new Float64Array(nPad);
  const kh = new Float64Array(headDim);
  const qh = new Float64Array(headDim);
  for (let r = 0; r < rows; r++) {
    const slot = checkSlot(cache, slots.data[r]!);
    const last = checkPosition(cache, positions.data[r]!);
    const first = window > 0 ? Math.max(0, last - window + 1) : 0;
    const nKv = Math.ceil((last + 1) / KV_PAD) * KV_PAD;
    const many = batched(r);
    const scoreDot = many && headDim % VW === 0 ? dotTiny : dotVecF16;
    const valueDot = many ? dotTiny : dotVecF16;
    for (let h = 0; h < nHeads; h++) {
      const qOff = r * q.cols + h * headDim;
      const kvOff = Math.floor(h / group) * headDim;
      for (let i = 0; i < headDim; i++) qh[i] = toHalf(q.data[qOff + i]!);
      let max = -Infinity;
      for (let t = first; t <= last; t++) {
        const kOff = cache.offset(slot, t) + kvOff;
        for (let i = 0; i < headDim; i++) kh[i] = half[kc[kOff + i]!]!;
        const d = scoreDot(kh, 0, qh, 0, headDim);
        const s = fr((cap > 0 ? softcapValue(d, capInv, cap32) : d) * scale);
        scores[t] = s;
        if (s > max) max = s;
      }
      // ggml_vec_soft_max_f32: exp by ggml_v_expf, each block of 8 cells hsum'd in float, blocks added in double.
      let sum = 0;
      for (let b = 0; b <= last; b += VW) {
        for (let t = b; t < b + VW; t++) probs[t] = t >= first && t <= last ? vExpf(fr(scores[t]! - max)) : 0;
        sum += hsum(probs, b);
      }
      const inv = fr(1 / sum);
      for (let t = 0; t <= last; t++) probs[t] = toHalf(fr(probs[t]! * inv));
      for (let t = last + 1; t < nKv; t++) probs[t] = 0;
      for (let i = 0; i < headDim; i++) {
        for (let t = 0; t <= last; t++) vcol[t] = half[vc[cache.offset(slot, t) + kvOff + i]!]!;
        for (let t = last + 1; t < nKv; t++) vcol[t] = 0;
        out.data[r * out.cols + h * headDim + i] = valueDot(vcol, 0, probs, 0, nKv);
      }
    }
  }
}
