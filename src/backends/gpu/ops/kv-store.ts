// storeKv: cache[layer][slots[r]][positions[r]] = k[r], v[r], as f16 pairs (kv_store).
import { KERNELS } from '../kernels.ts';
import { checkLayer, checkSlotsPositions, expectShape, type GpuIndex, type GpuKvCache, type GpuTensor } from '../resources.ts';
import type { OpContext } from './context.ts';

export function storeKv(ctx: OpContext, c: GpuKvCache, layer: number, kt: GpuTensor, vt: GpuTensor, s: GpuIndex, pos: GpuIndex): void {
  checkLayer(c, layer);
  const rows = kt.rows;
  expectShape('storeKv k', kt, rows, c.kvDim);
  expectShape('storeKv v', vt, rows, c.kvDim);
  checkSlotsPositions('storeKv', c, s, pos, rows);
  ctx.record(KERNELS.kvStore, undefined, [rows, c.kvDim, c.contextLength], [kt.buf, vt.buf, s.buf, pos.buf, c.k[layer]!, c.v[layer]!], Math.ceil((rows * (c.kvDim / 2)) / 64));
}
