// Small builders for op tests that work on any backend (resources go through `track` so the
// differential harness can release them).
import type { Backend, IndexTensor, Tensor, Weight } from '../../../src/backends/backend.ts';
import type { GgmlType } from '../../../src/gguf/types.ts';
import { quantizeTensor } from '../../../src/quant/registry.ts';

export type Track = <T extends Parameters<Backend['release']>[0]>(r: T) => T;

export function tensorOf(b: Backend, track: Track, rows: number, cols: number, data: Float32Array): Tensor {
  const t = track(b.createTensor(rows, cols));
  b.writeTensor(t, data);
  return t;
}

export function indexOf(b: Backend, track: Track, data: readonly number[]): IndexTensor {
  const t = track(b.createIndex(data.length));
  b.writeIndex(t, Int32Array.from(data));
  return t;
}

/** A weight with f32 values `data` packed into `type` by the quant registry (bytes computed once per test). */
export async function weightOf(b: Backend, track: Track, name: string, type: GgmlType, rows: number, cols: number, packed: Uint8Array): Promise<Weight> {
  return track(await b.uploadWeight(name, type, rows, cols, packed));
}

export function pack(type: GgmlType, data: Float32Array): Uint8Array {
  return quantizeTensor(type, data);
}
