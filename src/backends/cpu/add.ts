// add: out = a + b elementwise (residual connections); out may alias a or b.
import { expectShape, type CpuTensor } from './resources.ts';

export function add(a: CpuTensor, b: CpuTensor, out: CpuTensor): void {
  expectShape('add b', b, a.rows, a.cols);
  expectShape('add output', out, a.rows, a.cols);
  const x = a.data;
  const y = b.data;
  const o = out.data;
  for (let i = 0; i < x.length; i++) o[i] = x[i]! + y[i]!;
}
