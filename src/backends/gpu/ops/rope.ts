// rope: rotates q and k in place at each row's position, with cos/sin from a host-computed table
// (rope-table.ts) so that results do not depend on the device's sin/cos.
import type { RopeParams } from '../../backend.ts';
import { KERNELS } from '../kernels.ts';
import { expectShape, type GpuIndex, type GpuTensor } from '../resources.ts';
import type { OpContext } from './context.ts';

export function rope(ctx: OpContext, qt: GpuTensor, kt: GpuTensor, pos: GpuIndex, p: RopeParams): void {
  if (p.ropeDim % 2 !== 0 || p.ropeDim > p.headDim) throw new RangeError(`rope: ropeDim ${p.ropeDim} must be even and at most headDim ${p.headDim}`);
  expectShape('rope q', qt, pos.length, p.nHeads * p.headDim);
  expectShape('rope k', kt, pos.length, p.nKvHeads * p.headDim);
  if (qt.buf === kt.buf) throw new RangeError('rope: q and k must be different tensors');
  let maxPos = 0;
  for (const v of pos.host) {
    if (v < 0) throw new RangeError(`rope: negative position ${v}`);
    if (v > maxPos) maxPos = v;
  }
  if (p.ropeDim === 0) return;
  const table = ctx.ropeTables.get(p, maxPos);
  const pairs = pos.length * (p.nHeads + p.nKvHeads) * (p.ropeDim / 2);
  ctx.record(KERNELS.rope, undefined, [pos.length, p.nHeads, p.nKvHeads, p.headDim, p.ropeDim, p.neox ? 1 : 0], [qt.buf, kt.buf, pos.buf, table], Math.ceil(pairs / 64));
}
