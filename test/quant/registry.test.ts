// The registry: which types exist, and how unsupported types and bad sizes are reported.
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../../src/errors.ts';
import { GgmlType, TYPE_LAYOUT } from '../../src/gguf/types.ts';
import {
  dequantizeTensor,
  getFormat,
  quantizeTensor,
  supportedTypes,
  UnsupportedTensorTypeError,
} from '../../src/quant/registry.ts';

describe('quant registry', () => {
  it('supports the float types, the legacy and k-quants, and IQ4_NL', () => {
    expect(supportedTypes()).toEqual(
      [
        GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.BF16,
      ],
    );
  });

  it('describes each format with the block layout of the GGUF type table', () => {
    for (const t of supportedTypes()) {
      const f = getFormat(t);
      expect(f.type).toBe(t);
      expect(f.name).toBe(GgmlType[t]);
      expect({ blockSize: f.blockSize, typeSize: f.typeSize }).toEqual(TYPE_LAYOUT[t]);
      const q = f.quantize(new Float32Array(256).map((_, i) => Math.sin(i)));
      expect(q.length).toBe((256 / f.blockSize) * f.typeSize);
    }
  });

  it('rejects an unsupported type with a typed error naming what is supported', () => {
    let err: unknown;
    try {
      getFormat(GgmlType.IQ2_XXS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedTensorTypeError);
    expect(err).toBeInstanceOf(UnsupportedModelError);
    const msg = (err as Error).message;
    expect(msg).toContain('IQ2_XXS');
    expect(msg).toContain('Q4_K');
    expect(msg).toContain('IQ4_NL');
    expect(() => dequantizeTensor(GgmlType.TQ1_0, new Uint8Array(54), 256)).toThrow(UnsupportedTensorTypeError);
  });

  it('rejects element counts that are not whole blocks', () => {
    expect(() => quantizeTensor(GgmlType.Q4_K, new Float32Array(100))).toThrow(/not a multiple of the block size 256/);
    expect(() => dequantizeTensor(GgmlType.Q8_0, new Uint8Array(34), 33)).toThrow(/not a multiple of the block size 32/);
  });

  it('rejects a byte buffer too short for the elements asked for', () => {
    expect(() => dequantizeTensor(GgmlType.Q6_K, new Uint8Array(209), 256)).toThrow(/210 needed/);
  });

  it('dequantizeTensor and quantizeTensor are the format methods', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => i / 7 - 4);
    const q = quantizeTensor(GgmlType.Q5_1, x);
    expect(Array.from(q)).toEqual(Array.from(getFormat(GgmlType.Q5_1).quantize(x)));
    expect(Array.from(dequantizeTensor(GgmlType.Q5_1, q, 64))).toEqual(Array.from(getFormat(GgmlType.Q5_1).dequantize(q, 64)));
  });
});
