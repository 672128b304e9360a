// swiglu: out = silu(gate) * up, the gated feed-forward activation, as ggml's silu (vectorized
// exp, see ggml-simd.ts) followed by mul.
import { siluRow } from './ggml-simd.ts';
import { expectShape, type CpuTensor } from './resources.ts';

export function swiglu(gate: CpuTensor, up: CpuTensor, out: CpuTensor): void {
  expectShape('swiglu up', up, gate.rows, gate.cols);
  expectShape('swiglu output', out, gate.rows, gate.cols);
  const n = gate.cols;
  for (let r = 0; r < gate.rows; r++) siluRow(gate.data, r * n, n, out.data);
  const u = up.data;
  const o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = o[i]! * u[i]!;
}
