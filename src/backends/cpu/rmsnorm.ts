// rmsNorm: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, as ggml's rms_norm followed by mul,
// with ggml's float32 steps: squares in float summed in double, mean, eps, sqrt and 1/ each in float.
import { expectShape, type CpuTensor, type CpuWeight } from './resources.ts';

const fr = Math.fround;

export function rmsNorm(x: CpuTensor, weight: CpuWeight, eps: number, out: CpuTensor): void {
  const cols = x.cols;
  if (weight.rows * weight.cols !== cols) throw new RangeError(`rmsNorm: weight ${weight.name} has ${weight.rows * weight.cols} values, rows have ${cols}`);
  expectShape('rmsNorm output', out, x.rows, cols);
  const w = weight.vector();
  const eps32 = fr(eps);
  for (let r = 0; r < x.rows; r++) {
    const off = r * cols;
    let sumSq = 0;
    for (let i = 0; i < cols; i++) sumSq += fr(x.data[off + i]! * x.data[off + i]!);
    const scale = fr(1 / fr(Math.sqrt(fr(fr(sumSq / cols) + eps32))));
    for (let i = 0; i < cols; i++) out.data[off + i] = fr(x.data[off + i]! * scale) * w[i]!;
  }
}
