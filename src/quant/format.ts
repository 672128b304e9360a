// The contract every tensor format implements (float and block-quantized alike).
import type { GgmlType } from '../gguf/types.ts';

export interface QuantFormat {
  readonly type: GgmlType;
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** Dequantize nElements (multiple of blockSize) from packed bytes; writes into out if given. */
  dequantize(src: Uint8Array, nElements: number, out?: Float32Array): Float32Array;
  /** Quantize f32 data (length multiple of blockSize) exactly as llama.cpp's reference quantizer does (no importance matrix). */
  quantize(src: Float32Array): Uint8Array;
}
