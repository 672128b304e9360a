// matmul: out[r][o] = sum_i w[o][i] * x[r][i] (+ bias[o]), with w in its GGUF type.
// The weight is dequantized one row at a time into a scratch row and dotted with every activation
// row, so a batch of rows costs one dequantization of the matrix, and the f32 matrix never exists.
// Activations are first rounded as llama.cpp's CPU backend rounds them (see vec-dot-type.ts).
import { roundForVecDot } from './vec-dot-type.ts';
import { expectShape, type CpuTensor, type CpuWeight } from './resources.ts';

export function matmul(w: CpuWeight, x: CpuTensor, out: CpuTensor, bias?: CpuWeight): void {
  const n = w.cols;
  if (x.cols !== n) throw new RangeError(`matmul ${w.name}: input rows have ${x.cols} columns, the weight has ${n}`);
  expectShape(`matmul ${w.name} output`, out, x.rows, w.rows);
  const b = bias?.vector();
  if (b && b.length !== w.rows) throw new RangeError(`matmul ${w.name}: bias ${bias!.name} has ${b.length} values, need ${w.rows}`);
  const xs = roundForVecDot(w.type, x.data);
  const o = out.data;
  const nOut = w.rows;
  const scratch = new Float32Array(n);
  for (let j = 0; j < nOut; j++) {
    const row = w.row(j, scratch);
    const bj = b ? b[j]! : 0;
    for (let r = 0; r < x.rows; r++) o[r * nOut + j] = dot(row, xs, r * n, n) + bj;
  }
}

/** sum_i a[i] * b[bOff + i], accumulated in double; unrolled by four, which V8 runs ~2x faster. */
function dot(a: Float32Array, b: Float32Array, bOff: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[bOff + i]!;
    s1 += a[i + 1]! * b[bOff + i + 1]!;
    s2 += a[i + 2]! * b[bOff + i + 2]!;
    s3 += a[i + 3]! * b[bOff + i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[bOff + i]!;
  return s0 + s1 + s2 + s3;
}
