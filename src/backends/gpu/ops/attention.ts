// Causal GQA attention of q rows over their slot's cached positions. Fast numerics: one workgroup
// per (row, head) with f32 softmax (attention), which in decode also writes the output's Q8 copy;
// a prompt's rows take attention_prefill (kernel-choice.ts attentionPrefillSplit), one workgroup
// per tile of (row, head) vectors of a KV head, which reads each chunk of K/V once for the tile.
// Exact numerics replay the CPU backend's order of operations (attention_exact) once per run of
// rows taking the same llama.cpp kernel; up to ATTENTION_EXACT_MAX_CTX cells the probabilities
// stay in workgroup memory, past it they go to a storage scratch (variant LONG), a bounded number
// of rows per dispatch. Both take the sliding window and the logit soft-cap as parameters.
import type { AttentionParams } from '../../backend.ts';
import { Q8_COPY } from '../activation-copies.ts';
import { attentionPrefillSplit } from '../kernel-choice.ts';
import { ATTENTION_EXACT_MAX_CTX, ATTENTION_PREFILL_TILE, ATTENTION_SCRATCH_BYTES, KERNELS, MATVEC_MAX_ROWS, Q8_BLOCK_WORDS } from '../kernels.ts';
import { checkLayer, checkSlotsPositions, expectShape, type GpuIndex, type GpuKvCache, type GpuTensor } from '../resources.ts';
import type { OpContext } from './context.ts';

/** Largest head dimension the attention kernels hold in workgroup memory. */
const MAX_HEAD_DIM = 256;

export function attention(ctx: OpContext, qt: GpuTensor, c: GpuKvCache, layer: number, s: GpuIndex, pos: GpuIndex, p: AttentionParams, o: GpuTensor): void {
  checkLayer(c, layer);
  const { nHeads, nKvHeads, headDim } = p;
  if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: ${nHeads} query heads cannot be grouped over ${nKvHeads} KV heads`);
  if (nKvHeads * headDim !== c.kvDim) throw new RangeError(`attention: ${nKvHeads} KV heads of ${headDim} do not match the cache's kvDim ${c.kvDim}`);
  if (headDim % 2 !== 0 || headDim > MAX_HEAD_DIM) {
    throw new RangeError(`attention: head dimension ${headDim} must be even and at most ${MAX_HEAD_DIM} on ${ctx.executor.api}`);
  }
  const rows = qt.rows;
  expectShape('attention q', qt, rows, nHeads * headDim);
  expectShape('attention output', o, rows, nHeads * headDim);
  if (o.buf === qt.buf) throw new RangeError('attention: the output must not alias q');
  checkSlotsPositions('attention', c, s, pos, rows);
  let maxPos = 0;
  for (const v of pos.host) maxPos = Math.max(maxPos, v);
  const window = p.window ?? 0;
  const cap = p.softcap ?? 0;
  if (!Number.isInteger(window) || window < 0) throw new RangeError(`attention: window must be a non-negative integer, got ${window}`);
  if (!(cap >= 0)) throw new RangeError(`attention: softcap must not be negative, got ${cap}`);
  // The soft-cap as llama.cpp applies it: scale by 1/cap (computed in float), tanh, scale by cap.
  const capParams = [window, { f: Math.fround(cap) }, { f: cap > 0 ? Math.fround(1 / Math.fround(cap)) : 0 }];
  const bufs = [qt.buf, c.k[layer]!, c.v[layer]!, s.buf, pos.buf, o.buf];
  if (!ctx.settings.exact) {
    const params = [rows, nHeads, nKvHeads, headDim, c.kvDim, c.contextLength, { f: p.scale }, ...capParams];
    const group = nHeads / nKvHeads;
    const split = attentionPrefillSplit(s.host, headDim, group, ATTENTION_PREFILL_TILE, MATVEC_MAX_ROWS);
    if (split) {
      // Prompts: tiles of (row, head) vectors of one KV head share each chunk of K/V. Rows of short
      // runs before them (decode rows of a continuous batch) keep one workgroup per (row, head).
      const { from, wide } = split;
      ctx.record(KERNELS.attention, undefined, [from, ...params.slice(1), 0], [...bufs, ctx.dummy], from * nHeads);
      const tiles = Math.ceil(((rows - from) * group) / ATTENTION_PREFILL_TILE);
      ctx.record(KERNELS.attentionPrefill, undefined, [rows - from, ...params.slice(1), from], bufs, tiles * nKvHeads, wide);
    } else if (rows <= MATVEC_MAX_ROWS && headDim % 32 === 0) {
      // Decode: the output's Q8 copy, which the output projection's matvec reads, comes out of the
      // kernel (q8 = 1), saving that matvec's q8_quant dispatch.
      const copy = ctx.copies.get(o.buf, Q8_COPY, ((rows * nHeads * headDim) / 32) * Q8_BLOCK_WORDS * 4, 'q8 x 32');
      ctx.record(KERNELS.attention, undefined, [...params, 1], [...bufs, copy.buf], rows * nHeads);
      copy.fresh = true;
    } else {
      ctx.record(KERNELS.attention, undefined, [...params, 0], [...bufs, ctx.dummy], rows * nHeads);
    }
    return;
  }
  const nkv = Math.ceil((maxPos + 1) / 32) * 32;
  const long = nkv > ATTENTION_EXACT_MAX_CTX;
  const scratch = long ? ctx.attentionScratch() : ctx.dummy;
  const rowsPerDispatch = long ? Math.max(1, Math.floor(ATTENTION_SCRATCH_BYTES / 4 / (nHeads * nkv))) : rows;
  if (long && nHeads * nkv * 4 > ATTENTION_SCRATCH_BYTES) throw new RangeError(`attention: ${nHeads} heads x ${nkv} cells exceed the exact attention scratch`);
  for (const run of ctx.runs(rows)) {
    for (let lo = run.lo; lo < run.lo + run.n; lo += rowsPerDispatch) {
      const n = Math.min(rowsPerDispatch, run.lo + run.n - lo);
      const params = [n, nHeads, nKvHeads, headDim, c.kvDim, c.contextLength, { f: p.scale }, lo, run.batched ? 1 : 0, nkv, ...capParams];
      ctx.record(KERNELS.attentionExact, undefined, params, [...bufs, scratch], n * nHeads, long ? 1 : 0);
    }
  }
}
