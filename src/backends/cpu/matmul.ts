// matmul: out[r][o] = sum_i w[o][i] * x[r][i] (+ bias[o]), with w in its GGUF type.
// The weight is unpacked one row at a time (float types to f32, quantized ones to their integers and
// scales) and dotted with every activation row, so a batch of rows costs one pass over the matrix and
// the unpacked matrix never exists; a single activation row (decode) dots Q4_0, Q4_K and Q6_K rows
// straight from their bytes.
// Every dot replays the kernel llama.cpp's CPU backend runs for the weight type and batch size, float
// operation by float operation, since a one-ulp difference here flips later f16 / 8-bit roundings:
// float weights with rounded activations (vec-dot-type.ts, ggml-simd.ts), legacy quants with Q8_0/Q8_1
// activations (quant-dot.ts), K-quants with Q8_K activations (kquant-dot.ts).
import { GgmlType } from '../../gguf/types.ts';
import { VW, dotTiny, dotTinyBf16, dotVecBf16, dotVecF16, dotVecF32 } from './ggml-simd.ts';
import { K_TYPES, kquantDot, newKRow, parseKRow, quantizeQ8KRows } from './kquant-dot.ts';
import { q4kRowDot, q6kRowDot } from './kquant-row-dot.ts';
import { decodeRow, hasExactDot, q4_0RepackedDot, quantDot, quantizeQ8Rows } from './quant-dot.ts';
import { roundForVecDot } from './vec-dot-type.ts';
import { expectShape, type CpuTensor, type CpuWeight } from './resources.ts';

type Dot = (a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number, n: number) => number;

/**
 * The kernel llama.cpp uses for float weights of this type and batch: tinyBLAS for batches of two rows
 * or more when k is a multiple of the vector width (32 for BF16), else ggml's vec_dot. Undefined
 * (dotted in double) for any other type.
 */
function floatKernel(type: GgmlType, batched: boolean, k: number): Dot | undefined {
  const tiny = batched && k % VW === 0;
  switch (type) {
    case GgmlType.F32:
      return tiny ? dotTiny : dotVecF32;
    case GgmlType.F16:
      return tiny ? dotTiny : dotVecF16;
    case GgmlType.BF16:
      return batched && k % 32 === 0 ? dotTinyBf16 : dotVecBf16;
    default:
      return undefined;
  }
}

/**
 * `batched(r)` says whether row r belongs to a sequence with two rows or more in the batch, which is
 * what picks llama.cpp's kernel (default: the tensor's rows are one sequence).
 */
export function matmul(
  w: CpuWeight,
  x: CpuTensor,
  out: CpuTensor,
  bias?: CpuWeight,
  batched: (r: number) => boolean = () => x.rows >= 2,
): void {
  const n = w.cols;
  if (x.cols !== n) throw new RangeError(`matmul ${w.name}: input rows have ${x.cols} columns, the weight has ${n}`);
  expectShape(`matmul ${w.name} output`, out, x.rows, w.rows);
  const b = bias?.vector();
  if (b && b.length !== w.rows) throw new RangeError(`matmul ${w.name}: bias ${bias!.name} has ${b.length} values, need ${w.rows}`);
  const o = out.data;
  const nOut = w.rows;
  const scratch = new Float32Array(n);
  if (hasExactDot(w.type)) {
    legacyMatmul(w, x, o, b, batched);
    return;
  }
  if (K_TYPES.has(w.type)) {
    kquantMatmul(w, x, o, b);
    return;
  }
  const xs = roundForVecDot(w.type, x.data);
  const single = floatKernel(w.type, false, n) ?? dot;
  const many = floatKernel(w.type, true, n) ?? dot;
  const kernels = Array.from({ length: x.rows }, (_, r) => (batched(r) ? many : single));
  for (let j = 0; j < nOut; j++) {
    const row = w.row(j, scratch);
    for (let r = 0; r < x.rows; r++) {
      const v = kernels[r]!(row, 0, xs, r * n, n);
      // ggml adds the bias as a separate f32 op.
      o[r * nOut + j] = b ? Math.fround(v) + b[j]! : v;
    }
  }
}

/** sum_i a[i] * b[bOff + i], accumulated in double; unrolled by four, which V8 runs ~2x faster. */
function dot(a: ArrayLike<number>, _aOff: number, b: ArrayLike<number>, bOff: number, n: number): number {
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

/** Legacy-quantized weights against Q8 activations, with ggml's float arithmetic (see quant-dot.ts). */
function legacyMatmul(
  w: CpuWeight,
  x: CpuTensor,
  o: Float32Array,
  bias: Float32Array | undefined,
  batched: (r: number) => boolean,
): void {
  const n = w.cols;
  const nb = n / 32;
  const xq = quantizeQ8Rows(x.data);
  const row = { q: new Int8Array(n), d: new Float64Array(nb), m: new Float64Array(nb) };
  // llama.cpp repacks Q4_0 matrices of 8k rows for its AVX2/AVX-512 gemv/gemm kernels.
  const repacked = w.type === GgmlType.Q4_0 && w.rows % 8 === 0;
  const rowBatched = Array.from({ length: x.rows }, (_, r) => batched(r));
  for (let j = 0; j < w.rows; j++) {
    const raw = w.data.subarray(j * w.rowBytes, (j + 1) * w.rowBytes);
    if (repacked && x.rows === 1) {
      const v = q4_0RepackedDot(raw, xq, 0, nb);
      o[j] = bias ? Math.fround(v) + bias[j]! : v;
      continue;
    }
    decodeRow(w.type, raw, n, row);
    for (let r = 0; r < x.rows; r++) {
      const v = quantDot(w.type, row, xq, r, nb, rowBatched[r]!, repacked);
      o[r * w.rows + j] = bias ? Math.fround(v) + bias[j]! : v;
    }
  }
}

/** K-quantized weights against Q8_K activations, with ggml's float arithmetic (see kquant-dot.ts). */
function kquantMatmul(w: CpuWeight, x: CpuTensor, o: Float32Array, bias: Float32Array | undefined): void {
  const n = w.cols;
  const nb = n / 256;
  const xq = quantizeQ8KRows(x.data);
  const row = newKRow(n);
  // Decode-time matvecs of the two types of Q4_K_M files dot the bytes directly (no parsed copy).
  const direct = x.rows !== 1 ? undefined : w.type === GgmlType.Q4_K ? q4kRowDot : w.type === GgmlType.Q6_K ? q6kRowDot : undefined;
  for (let j = 0; j < w.rows; j++) {
    const raw = w.data.subarray(j * w.rowBytes, (j + 1) * w.rowBytes);
    if (direct) {
      const v = direct(raw, xq, 0, nb);
      o[j] = bias ? Math.fround(v) + bias[j]! : v;
      continue;
    }
    parseKRow(w.type, raw, n, row);
    for (let r = 0; r < x.rows; r++) {
      const v = kquantDot(w.type, row, xq, r, nb);
      o[r * w.rows + j] = bias ? Math.fround(v) + bias[j]! : v;
    }
  }
}
