// llama.cpp's CPU matmul does not dot f32 activations with the weights directly: it first converts the
// activation rows to the weight type's "vec_dot type" (ggml-cpu type_traits_cpu[type].vec_dot_type),
// then runs an integer or half-precision dot product. The rounding this adds is far larger than the
// float error of the dot itself, so the oracle test (logits within 1e-3 of llama.cpp for float files)
// needs it. We emulate it by rounding the activations the same way and dotting in double:
//   F32 -> as is; F16 -> f16; BF16 -> bf16;
//   Q4_0, Q5_0, Q8_0, IQ4_NL -> Q8_0 (blocks of 32, f16 scale amax/127);
//   Q4_1, Q5_1 -> Q8_1 (same quants as Q8_0; its f16 block sum is not emulated);
//   Q2_K..Q6_K -> Q8_K (blocks of 256, f32 scale max/-127).
// The integer dot products are exact, so dequantized weight · rounded activation reproduces them.
import { GgmlType } from '../../gguf/types.ts';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../quant/float.ts';

/** Activations as llama.cpp's CPU matmul sees them for weights of `type`; `x` itself when unchanged. */
export function roundForVecDot(type: GgmlType, x: Float32Array): Float32Array {
  switch (type) {
    case GgmlType.F16:
      return x.map((v) => f16ToF32(f32ToF16(v)));
    case GgmlType.BF16:
      return x.map((v) => bf16ToF32(f32ToBf16(v)));
    case GgmlType.Q4_0:
    case GgmlType.Q5_0:
    case GgmlType.Q8_0:
    case GgmlType.IQ4_NL:
    case GgmlType.Q4_1:
    case GgmlType.Q5_1:
      return roundBlocks(x, 32, roundQ8_0Block);
    case GgmlType.Q2_K:
    case GgmlType.Q3_K:
    case GgmlType.Q4_K:
    case GgmlType.Q5_K:
    case GgmlType.Q6_K:
      return roundBlocks(x, 256, roundQ8_KBlock);
    default:
      return x;
  }
}

function roundBlocks(x: Float32Array, block: number, round: (b: Float32Array) => void): Float32Array {
  if (x.length % block !== 0) throw new RangeError(`activations of ${x.length} values do not split into blocks of ${block}`);
  const out = Float32Array.from(x);
  for (let i = 0; i < out.length; i += block) round(out.subarray(i, i + block));
  return out;
}

/** ggml's x86 quantize_row_q8_0: d = amax/127 kept as f16, q = round-half-even(x * 127/amax). */
function roundQ8_0Block(b: Float32Array): void {
  let amax = 0;
  for (let j = 0; j < b.length; j++) amax = Math.max(amax, Math.abs(b[j]!));
  const d = f16ToF32(f32ToF16(Math.fround(amax / 127)));
  const id = amax !== 0 ? Math.fround(127 / amax) : 0;
  for (let j = 0; j < b.length; j++) b[j] = roundHalfEven(Math.fround(b[j]! * id)) * d;
}

/** ggml's quantize_row_q8_K_ref: the value of largest magnitude maps to -127, d = 1/iscale in f32. */
function roundQ8_KBlock(b: Float32Array): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < b.length; j++) {
    if (Math.abs(b[j]!) > amax) {
      amax = Math.abs(b[j]!);
      max = b[j]!;
    }
  }
  if (amax === 0) return;
  const iscale = Math.fround(-127 / max);
  const d = Math.fround(1 / iscale);
  for (let j = 0; j < b.length; j++) b[j] = Math.min(127, roundHalfEven(Math.fround(iscale * b[j]!))) * d;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
