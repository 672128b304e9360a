// swiglu: out = silu(gate) * up, the gated feed-forward activation.
import { expectShape, type CpuTensor } from './resources.ts';

export function swiglu(gate: CpuTensor, up: CpuTensor, out: CpuTensor): void {
  expectShape('swiglu up', up, gate.rows, gate.cols);
  expectShape('swiglu output', out, gate.rows, gate.cols);
  const g = gate.data;
  const u = up.data;
  const o = out.data;
  for (let i = 0; i < g.length; i++) {
    const x = g[i]!;
    o[i] = (x / (1 + Math.exp(-x))) * u[i]!;
  }
}
