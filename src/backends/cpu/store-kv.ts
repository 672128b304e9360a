// storeKv: writes k and v rows into a layer of the KV cache at (slot, position), rounded to f16
// (see CpuKvCache for why f16).
import { f32ToF16 } from '../../quant/float.ts';
import { expectShape, type CpuIndex, type CpuKvCache, type CpuTensor } from './resources.ts';

export function storeKv(cache: CpuKvCache, layer: number, k: CpuTensor, v: CpuTensor, slots: CpuIndex, positions: CpuIndex): void {
  checkLayer(cache, layer);
  const rows = k.rows;
  expectShape('storeKv k', k, rows, cache.kvDim);
  expectShape('storeKv v', v, rows, cache.kvDim);
  if (slots.length !== rows || positions.length !== rows) {
    throw new RangeError(`storeKv: ${rows} rows need ${rows} slots and positions, got ${slots.length} and ${positions.length}`);
  }
  const kd = cache.kvDim;
  const kc = cache.k[layer]!;
  const vc = cache.v[layer]!;
  for (let r = 0; r < rows; r++) {
    const at = cache.offset(checkSlot(cache, slots.data[r]!), checkPosition(cache, positions.data[r]!));
    for (let i = 0; i < kd; i++) {
      kc[at + i] = f32ToF16(k.data[r * kd + i]!);
      vc[at + i] = f32ToF16(v.data[r * kd + i]!);
    }
  }
}

export function checkLayer(cache: CpuKvCache, layer: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= cache.nLayers) throw new RangeError(`layer ${layer} is outside the KV cache's ${cache.nLayers} layers`);
}

export function checkSlot(cache: CpuKvCache, slot: number): number {
  if (slot < 0 || slot >= cache.nSlots) throw new RangeError(`slot ${slot} is outside the KV cache's ${cache.nSlots} slots`);
  return slot;
}

export function checkPosition(cache: CpuKvCache, position: number): number {
  if (position < 0 || position >= cache.contextLength) {
    throw new RangeError(`position ${position} is outside the KV cache's context of ${cache.contextLength}`);
  }
  return position;
}
