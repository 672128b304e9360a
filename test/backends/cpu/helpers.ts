// Small builders for CPU-backend op tests: tensors, indices and weights from plain arrays.
import { CpuBackend } from '../../../src/backends/cpu/index.ts';
import type { Tensor, IndexTensor, Weight } from '../../../src/backends/backend.ts';
import { GgmlType } from '../../../src/gguf/types.ts';
import { quantizeTensor } from '../../../src/quant/registry.ts';

export function backend(): CpuBackend {
  return new CpuBackend();
}

export function tensor(b: CpuBackend, rows: number, cols: number, values: number[]): Tensor {
  const t = b.createTensor(rows, cols);
  b.writeTensor(t, Float32Array.from(values));
  return t;
}

export function index(b: CpuBackend, values: number[]): IndexTensor {
  const t = b.createIndex(values.length);
  b.writeIndex(t, Int32Array.from(values));
  return t;
}

/** A weight [rows, cols] given in f32 and stored in `type` through the quant registry. */
export async function weight(b: CpuBackend, rows: number, cols: number, values: number[], type: GgmlType = GgmlType.F32): Promise<Weight> {
  const bytes = quantizeTensor(type, Float32Array.from(values));
  return b.uploadWeight(`w${rows}x${cols}`, type, rows, cols, bytes);
}

export async function read(b: CpuBackend, t: Tensor): Promise<number[]> {
  return Array.from(await b.read(t));
}
