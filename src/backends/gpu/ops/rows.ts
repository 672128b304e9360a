// Row gathers: getRows dequantizes weight rows by id (token embeddings), one dispatch per weight
// part (each picks the ids that fall in its rows); gatherRows copies tensor rows (the logit rows).
import { KERNELS } from '../kernels.ts';
import { expectShape, type GpuIndex, type GpuTensor, type GpuWeight } from '../resources.ts';
import type { OpContext } from './context.ts';

export function getRows(ctx: OpContext, w: GpuWeight, ix: GpuIndex, o: GpuTensor): void {
  expectShape('getRows output', o, ix.length, w.cols);
  for (const id of ix.host) {
    if (id < 0 || id >= w.rows) throw new RangeError(`getRows: id ${id} is outside ${w.name}'s ${w.rows} rows`);
  }
  const groups = Math.ceil((ix.length * Math.ceil(w.cols / 4)) / 64);
  for (const part of w.parts) {
    ctx.record(KERNELS.getRows, w.storedType, [ix.length, w.cols, w.rowBytes, part.rowLo, part.rows], [part.buf, ix.buf, o.buf], groups);
  }
}

export function gatherRows(ctx: OpContext, xt: GpuTensor, ix: GpuIndex, o: GpuTensor): void {
  expectShape('gatherRows output', o, ix.length, xt.cols);
  if (o.buf === xt.buf) throw new RangeError('gatherRows: the output must not alias the input');
  for (const r of ix.host) {
    if (r < 0 || r >= xt.rows) throw new RangeError(`gatherRows: row ${r} is outside the input's ${xt.rows} rows`);
  }
  ctx.record(KERNELS.gatherRows, undefined, [ix.length, xt.cols], [xt.buf, ix.buf, o.buf], Math.ceil((ix.length * xt.cols) / 256));
}
