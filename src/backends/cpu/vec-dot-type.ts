// llama.cpp's CPU matmul does not dot f32 activations with the weights directly: it first converts the
// activation rows to the weight type's "vec_dot type" (ggml-cpu type_traits_cpu[type].vec_dot_type),
// then runs an integer or half-precision dot product. The rounding this adds is far larger than the
// float error of the dot itself, so we round the activations the same way:
//   F32 -> as is; F16 -> f16; BF16 -> bf16 (both round to nearest even, as F16C / AVX-512 BF16 do).
// Quantized weights take Q8_0 / Q8_1 activations (quant-dot.ts) or Q8_K ones (kquant-dot.ts), whose
// integers those modules keep to replay ggml's integer dot products.
import { GgmlType } from '../../gguf/types.ts';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../quant/float.ts';

/** Activations as llama.cpp's CPU matmul sees them for float weights of `type`; `x` itself when unchanged. */
export function roundForVecDot(type: GgmlType, x: Float32Array): Float32Array {
  switch (type) {
    case GgmlType.F16:
      return x.map((v) => f16ToF32(f32ToF16(v)));
    case GgmlType.BF16:
      return x.map((v) => bf16ToF32(f32ToBf16(v)));
    default:
      return x;
  }
}
