// NMSE thresholds for comparing a backend's op results with the CPU reference:
// NMSE = Σ(ref − got)² / Σ ref², the metric of llama.cpp's test-backend-ops (1e-7 by default there).
//
// Why these values: every backend dequantizes weights to the same f32 values as the reference and
// rounds activations to the same vec-dot type (f16, bf16, Q8_0, Q8_K: see the CPU backend's
// vec-dot-type.ts), so the remaining difference is the order and precision of f32 accumulation
// (the CPU reference accumulates in double). For a sum of K terms that is a relative error near
// sqrt(K)·2⁻²⁴, an NMSE around K·4e-15 (measured ~1e-14 on lavapipe): far below 1e-7 for every
// shape the tests use. The few looser entries say why.
export type OpName =
  | 'getRows'
  | 'rmsNorm'
  | 'matmul'
  | 'matmulQuantized'
  | 'rope'
  | 'storeKv'
  | 'attention'
  | 'swiglu'
  | 'add'
  | 'gatherRows';

export const NMSE_THRESHOLDS: Readonly<Record<OpName, number>> = {
  // Exact copies of dequantized values (dequantization order of operations may differ by an ulp).
  getRows: 1e-10,
  gatherRows: 0,
  add: 1e-12,
  swiglu: 1e-10,
  rmsNorm: 1e-7,
  rope: 1e-7,
  // f32 accumulation of up to a few thousand products.
  matmul: 1e-7,
  // Block scales multiply in a different order (d·sc·q − dmin·m), one more rounding per element;
  // and a device whose division is off by an ulp (drivers may lower it to a reciprocal) can flip
  // one Q8 activation quant at a .5 boundary, moving outputs by one quantization step: measured
  // 1.02e-6 for a 96-column row on lavapipe, larger for shorter rows. A wrong dequantization or
  // rounding mode gives 1e-3 or more.
  matmulQuantized: 1e-5,
  // K and V are rounded to f16 on both sides; a value that lands on an f16 rounding tie may round
  // differently on a GPU, and exp() is not correctly rounded there.
  storeKv: 1e-6,
  attention: 1e-6,
};

export function nmse(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  if (ref.length !== got.length) throw new RangeError(`nmse: ${ref.length} reference values, ${got.length} to compare`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = ref[i]! - got[i]!;
    num += d * d;
    den += ref[i]! * ref[i]!;
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  return num / den;
}
