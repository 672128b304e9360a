// The one threshold table of rocforge's differential testing: the op tests and `rocforge diff`.
// NMSE = Σ(ref − got)² / Σ ref², the metric of llama.cpp's test-backend-ops (1e-7 by default there).
//
// Two kinds of bound:
// - an op's own error (NMSE_THRESHOLDS, and per weight type for matmul MATMUL_NMSE_BY_TYPE): a
//   backend's op against the CPU reference's on the same inputs. The op tests use these, and diff
//   reports the first tensor past its op bound as where the divergence outgrows one op's rounding;
// - a whole model's (MODEL_BOUNDS, per numerics): what diff gates on, where every tensor also carries
//   the errors of the ops before it. Exact numerics replay the reference bit for bit, so 0.
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
  | 'geglu'
  | 'scale'
  | 'softcap'
  | 'add'
  | 'gatherRows';

export const NMSE_THRESHOLDS: Readonly<Record<OpName, number>> = {
  // Exact copies of dequantized values (dequantization order of operations may differ by an ulp).
  getRows: 1e-10,
  gatherRows: 0,
  add: 1e-12,
  swiglu: 1e-10,
  // A GELU table lookup, then one product: exact but for an ulp of the product's input.
  geglu: 1e-10,
  scale: 1e-12,
  // The fast kernel's tanh is the device's, within a few ulps.
  softcap: 1e-10,
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

import type { Numerics } from '../backends/index.ts';
import { GgmlType } from '../gguf/types.ts';
import type { TapOp } from '../model/model.ts';

export type { Numerics } from '../backends/index.ts';

/**
 * A matmul's own bound per weight type. Float weights: f32 accumulation (NMSE_THRESHOLDS.matmul).
 * Quantized weights: activations are rounded to Q8_0/Q8_1/Q8_K on both sides, so the block dots
 * are integer and only the float scale order differs; one activation quant flipped at a .5 boundary
 * moves an output by a quantization step (NMSE_THRESHOLDS.matmulQuantized). Q4_1 and Q5_1 dot
 * against Q8_1, whose block-sum term the fast kernels add in another order: measured 2.6e-6 (Q4_1)
 * and 8.1e-6 (Q5_1) on identical inputs (layer 0 of synth-*-256, fast numerics on lavapipe), so
 * they get three times the legacy bound. Types without an entry fall back to matmulQuantized.
 */
export const MATMUL_NMSE_BY_TYPE: Readonly<Partial<Record<GgmlType, number>>> = {
  [GgmlType.F32]: NMSE_THRESHOLDS.matmul,
  [GgmlType.F16]: NMSE_THRESHOLDS.matmul,
  [GgmlType.BF16]: NMSE_THRESHOLDS.matmul,
  [GgmlType.Q4_0]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q4_1]: 3 * NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q5_0]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q5_1]: 3 * NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q8_0]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.IQ4_NL]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q2_K]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q3_K]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q4_K]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q5_K]: NMSE_THRESHOLDS.matmulQuantized,
  [GgmlType.Q6_K]: NMSE_THRESHOLDS.matmulQuantized,
};

/** An op's own bound (same inputs on both sides); matmul by its weight's type. */
export function opBound(op: TapOp, weightType?: GgmlType): number {
  if (op === 'matmul') return (weightType !== undefined ? MATMUL_NMSE_BY_TYPE[weightType] : undefined) ?? NMSE_THRESHOLDS.matmulQuantized;
  return NMSE_THRESHOLDS[op];
}

export interface ModelBounds {
  /** NMSE of any tapped tensor. */
  readonly tensor: number;
  /** NMSE of a step's logits. */
  readonly logits: number;
  /** |Δ log-prob| over the reference's top-k tokens at any step. */
  readonly topKLogprob: number;
}

/**
 * Whole-model bounds. Exact: bit-identical. Fast: plain f32 kernels (f32 attention probabilities,
 * other summation orders) whose differences compound through the layers: over all 36 shared models,
 * 5 prompts x 12 steps each on lavapipe, the largest tensor NMSE was 2.5e-3 (logits of
 * stories260K-Q3_K_M), the largest top-8 |Δlogprob| 0.55 (synth-qwen2-256-Q5_1, whose random
 * weights make logits large). The bounds keep 4x / 2x of margin; a wrong kernel (a dequantization
 * or rope bug) gives an NMSE of 1e-1 or more. A greedy token may differ in fast numerics wherever
 * the reference's top-2 gap is under twice the log-prob error: that is reported, not a failure.
 */
export const MODEL_BOUNDS: Readonly<Record<Numerics, ModelBounds>> = {
  exact: { tensor: 0, logits: 0, topKLogprob: 0 },
  fast: { tensor: 1e-2, logits: 1e-2, topKLogprob: 1 },
};

/**
 * diff's bound for one tapped tensor. The embedding rows (getRows) read weights only, so no error
 * reaches them from earlier ops: they keep their op bound in fast numerics too.
 */
export function tapThreshold(op: TapOp, weightType: GgmlType | undefined, numerics: Numerics): number {
  if (numerics === 'exact') return 0;
  return op === 'getRows' ? opBound(op, weightType) : Math.max(MODEL_BOUNDS.fast.tensor, opBound(op, weightType));
}

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
