// geglu: out = gelu(gate) * up, as ggml's gelu then mul. ggml (GGML_GELU_FP16) looks GELU up in a
// table over f16 inputs: x <= -10 gives 0, x >= 10 gives x, otherwise the f16 of x indexes a table
// of f16 results of the tanh form 0.5x(1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))), computed in float
// with GCC's contraction of 1 + (0.044715 x) x into one fused multiply-add, and glibc's tanhf.
import { f16ToF32, f32ToF16 } from '../../quant/float.ts';
import { glibcTanhf } from './glibc-tanhf.ts';
import { expectShape, type CpuTensor } from './resources.ts';

const fr = Math.fround;
const GELU_COEF_A = fr(0.044715);
const SQRT_2_OVER_PI = fr(0.79788456080286535587989211986876);

/** ggml_gelu_f32 (a*b + c contracted to one rounding where GCC fuses it). */
export function geluF32(x: number): number {
  const inner = fr(fr(GELU_COEF_A * x) * x + 1);
  return fr(fr(0.5 * x) * fr(1 + glibcTanhf(fr(fr(SQRT_2_OVER_PI * x) * inner))));
}

let table: Float32Array | undefined;

/** ggml_table_gelu_f16 widened to f32: entry h is f16(gelu(f16 value h)), for every f16 bit pattern. */
export function geluTable(): Float32Array {
  if (!table) {
    const t = new Float32Array(1 << 16);
    for (let h = 0; h < 1 << 16; h++) t[h] = f16ToF32(f32ToF16(geluF32(f16ToF32(h))));
    table = t;
  }
  return table;
}

/** ggml_vec_gelu_f32 of one value through the table. */
export function gelu(x: number, t: Float32Array): number {
  if (x <= -10) return 0;
  if (x >= 10) return x;
  return t[f32ToF16(x)]!;
}

export function geglu(gate: CpuTensor, up: CpuTensor, out: CpuTensor): void {
  expectShape('geglu up', up, gate.rows, gate.cols);
  expectShape('geglu output', out, gate.rows, gate.cols);
  const t = geluTable();
  const g = gate.data;
  const u = up.data;
  const o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = fr(gelu(g[i]!, t) * u[i]!);
}
