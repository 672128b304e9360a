// rmsNorm: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, as ggml's rms_norm followed by mul.
import { expectShape, type CpuTensor, type CpuWeight } from './resources.ts';

export function rmsNorm(x: CpuTensor, weight: CpuWeight, eps: number, out: CpuTensor): void {
  const cols = x.cols;
  if (weight.rows * weight.cols !== cols) throw new RangeError(`rmsNorm: weight ${weight.name} has ${weight.rows * weight.cols} values, rows have ${cols}`);
  expectShape('rmsNorm output', out, x.rows, cols);
  const w = weight.vector();
  for (let r = 0; r < x.rows; r++) {
    const off = r * cols;
    let sumSq = 0;
    for (let i = 0; i < cols; i++) sumSq += x.data[off + i]! * x.data[off + i]!;
    // ggml sums in double, then takes the scale in float.
    const scale = Math.fround(1 / Math.sqrt(Math.fround(sumSq / cols) + eps));
    for (let i = 0; i < cols; i++) out.data[off + i] = Math.fround(x.data[off + i]! * scale) * w[i]!;
  }
}
