// Which tensor types we can read and write, and the one entry point to convert them.
import { UnsupportedModelError } from '../errors.ts';
import { GgmlType, typeName } from '../gguf/types.ts';
import type { QuantFormat } from './format.ts';
import { BF16, F16, F32 } from './float.ts';
import { IQ4_NL } from './iq4nl.ts';
import { Q2_K, Q3_K, Q4_K, Q5_K, Q6_K } from './kquants.ts';
import { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 } from './legacy.ts';

export type { QuantFormat } from './format.ts';

/** A tensor type this build cannot dequantize or quantize (e.g. IQ2_XXS). */
export class UnsupportedTensorTypeError extends UnsupportedModelError {
  constructor(readonly type: number) {
    super(
      `tensor type ${typeName(type)} is not supported; supported types: ${supportedTypes().map((t) => typeName(t)).join(', ')}. ` +
        `Re-quantize the model to one of these (e.g. llama-quantize model.gguf out.gguf Q4_K_M).`,
    );
  }
}

const FORMATS = new Map<GgmlType, QuantFormat>();

function register(...formats: QuantFormat[]): void {
  for (const f of formats) FORMATS.set(f.type, f);
}

register(F32, F16, BF16);
register(Q4_0, Q4_1, Q5_0, Q5_1, Q8_0);
register(Q2_K, Q3_K, Q4_K, Q5_K, Q6_K);
register(IQ4_NL);

export function getFormat(type: GgmlType): QuantFormat {
  const f = FORMATS.get(type);
  if (!f) throw new UnsupportedTensorTypeError(type);
  return f;
}

export function isSupported(type: GgmlType): boolean {
  return FORMATS.has(type);
}

export function supportedTypes(): GgmlType[] {
  return [...FORMATS.keys()].sort((a, b) => a - b);
}

export function dequantizeTensor(type: GgmlType, src: Uint8Array, nElements: number): Float32Array {
  const f = getFormat(type);
  checkMultiple(f, nElements);
  return f.dequantize(src, nElements);
}

export function quantizeTensor(type: GgmlType, src: Float32Array): Uint8Array {
  const f = getFormat(type);
  checkMultiple(f, src.length);
  return f.quantize(src);
}

function checkMultiple(f: QuantFormat, n: number): void {
  if (n % f.blockSize !== 0) {
    throw new RangeError(`${f.name}: ${n} elements is not a multiple of the block size ${f.blockSize}`);
  }
}
