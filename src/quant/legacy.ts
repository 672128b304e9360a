// ggml's original 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
// Layouts (ggml-common.h), little-endian:
//   Q4_0 { f16 d; u8 qs[16] }                 x = (nibble - 8) * d
//   Q4_1 { f16 d; f16 m; u8 qs[16] }          x = nibble * d + m
//   Q5_0 { f16 d; u8 qh[4]; u8 qs[16] }       x = (nibble | hbit << 4) - 16) * d
//   Q5_1 { f16 d; f16 m; u8 qh[4]; u8 qs[16] } x = (nibble | hbit << 4) * d + m
//   Q8_0 { f16 d; i8 qs[32] }                 x = q * d
// Byte j of qs holds element j (low nibble) and element j + 16 (high nibble); bit j of qh is the
// fifth bit of element j. Quantizers replay ggml's quantize_row_*_ref in float32 arithmetic.
import { GgmlType } from '../gguf/types.ts';
import type { QuantFormat } from './format.ts';
import * as util from './util.ts';

// Hot helpers are bound to module-local constants once: some module runners (vitest's) turn every
// use of an imported binding into a getter call, which made the inner loops several times slower.
const { checkBlocks, checkQuantInput, f32, outFor, readF16, roundAway, signedAbsMax, toInt8, toUint8, writeF16 } = util;

const FLT_MAX = 3.4028234663852886e38;

function q4_0Dequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q4_0', 32, 18, src, n);
  const y = outFor(n, out);
  for (let i = 0, o = 0, yo = 0; i < nb; i++, o += 18, yo += 32) {
    const d = readF16(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      y[yo + j] = ((q & 15) - 8) * d;
      y[yo + j + 16] = ((q >> 4) - 8) * d;
    }
  }
  return y;
}

function q4_0Quantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q4_0', 32, x.length);
  const y = new Uint8Array(nb * 18);
  for (let i = 0; i < nb; i++) {
    const xo = i * 32;
    const o = i * 18;
    const max = signedAbsMax(x, xo, 32);
    const d = f32(max / -8);
    const id = d ? f32(1 / d) : 0;
    writeF16(y, o, d);
    for (let j = 0; j < 16; j++) {
      const x0 = f32(x[xo + j]! * id);
      const x1 = f32(x[xo + 16 + j]! * id);
      const xi0 = Math.min(15, toInt8(f32(x0 + 8.5)));
      const xi1 = Math.min(15, toInt8(f32(x1 + 8.5)));
      y[o + 2 + j] = (xi0 & 0xff) | ((xi1 << 4) & 0xff);
    }
  }
  return y;
}

function q4_1Dequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q4_1', 32, 20, src, n);
  const y = outFor(n, out);
  for (let i = 0, o = 0, yo = 0; i < nb; i++, o += 20, yo += 32) {
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      y[yo + j] = (q & 15) * d + m;
      y[yo + j + 16] = (q >> 4) * d + m;
    }
  }
  return y;
}

/** min and max of a 32-element block as ggml scans them (strict comparisons, float32 values). */
function blockMinMax(x: Float32Array, xo: number): [number, number] {
  let min = FLT_MAX;
  let max = -FLT_MAX;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

function q4_1Quantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q4_1', 32, x.length);
  const y = new Uint8Array(nb * 20);
  for (let i = 0; i < nb; i++) {
    const xo = i * 32;
    const o = i * 20;
    const [min, max] = blockMinMax(x, xo);
    const d = f32(f32(max - min) / 15);
    const id = d ? f32(1 / d) : 0;
    writeF16(y, o, d);
    writeF16(y, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const x0 = f32(f32(x[xo + j]! - min) * id);
      const x1 = f32(f32(x[xo + 16 + j]! - min) * id);
      const xi0 = Math.min(15, toInt8(f32(x0 + 0.5)));
      const xi1 = Math.min(15, toInt8(f32(x1 + 0.5)));
      y[o + 4 + j] = (xi0 & 0xff) | ((xi1 << 4) & 0xff);
    }
  }
  return y;
}

function readU32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

function q5_0Dequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q5_0', 32, 22, src, n);
  const y = outFor(n, out);
  for (let i = 0, o = 0, yo = 0; i < nb; i++, o += 22, yo += 32) {
    const d = readF16(src, o);
    const qh = readU32(src, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[yo + j] = (((q & 15) | h0) - 16) * d;
      y[yo + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
  return y;
}

function q5_0Quantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q5_0', 32, x.length);
  const y = new Uint8Array(nb * 22);
  for (let i = 0; i < nb; i++) {
    const xo = i * 32;
    const o = i * 22;
    const max = signedAbsMax(x, xo, 32);
    const d = f32(max / -16);
    const id = d ? f32(1 / d) : 0;
    writeF16(y, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = f32(x[xo + j]! * id);
      const x1 = f32(x[xo + 16 + j]! * id);
      const xi0 = Math.min(31, toInt8(f32(x0 + 16.5))) & 0xff;
      const xi1 = Math.min(31, toInt8(f32(x1 + 16.5))) & 0xff;
      y[o + 6 + j] = (xi0 & 15) | ((xi1 & 15) << 4);
      qh |= ((xi0 & 0x10) >> 4) << j;
      qh |= ((xi1 & 0x10) >> 4) << (j + 16);
    }
    writeU32(y, o + 2, qh >>> 0);
  }
  return y;
}

function q5_1Dequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q5_1', 32, 24, src, n);
  const y = outFor(n, out);
  for (let i = 0, o = 0, yo = 0; i < nb; i++, o += 24, yo += 32) {
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const qh = readU32(src, o + 4);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[yo + j] = ((q & 15) | h0) * d + m;
      y[yo + j + 16] = ((q >> 4) | h1) * d + m;
    }
  }
  return y;
}

function q5_1Quantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q5_1', 32, x.length);
  const y = new Uint8Array(nb * 24);
  for (let i = 0; i < nb; i++) {
    const xo = i * 32;
    const o = i * 24;
    const [min, max] = blockMinMax(x, xo);
    const d = f32(f32(max - min) / 31);
    const id = d ? f32(1 / d) : 0;
    writeF16(y, o, d);
    writeF16(y, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = f32(f32(x[xo + j]! - min) * id);
      const x1 = f32(f32(x[xo + 16 + j]! - min) * id);
      const xi0 = toUint8(f32(x0 + 0.5));
      const xi1 = toUint8(f32(x1 + 0.5));
      y[o + 8 + j] = (xi0 & 15) | ((xi1 & 15) << 4);
      qh |= ((xi0 & 0x10) >> 4) << j;
      qh |= ((xi1 & 0x10) >> 4) << (j + 16);
    }
    writeU32(y, o + 4, qh >>> 0);
  }
  return y;
}

function q8_0Dequantize(src: Uint8Array, n: number, out?: Float32Array): Float32Array {
  const nb = checkBlocks('Q8_0', 32, 34, src, n);
  const y = outFor(n, out);
  const s8 = new Int8Array(src.buffer, src.byteOffset, nb * 34);
  for (let i = 0, o = 0, yo = 0; i < nb; i++, o += 34, yo += 32) {
    const d = readF16(src, o);
    for (let j = 0; j < 32; j++) y[yo + j] = s8[o + 2 + j]! * d;
  }
  return y;
}

function q8_0Quantize(x: Float32Array): Uint8Array {
  const nb = checkQuantInput('Q8_0', 32, x.length);
  const y = new Uint8Array(nb * 34);
  for (let i = 0; i < nb; i++) {
    const xo = i * 32;
    const o = i * 34;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]!));
    const d = f32(amax / 127);
    const id = d ? f32(1 / d) : 0;
    writeF16(y, o, d);
    for (let j = 0; j < 32; j++) y[o + 2 + j] = roundAway(f32(x[xo + j]! * id)) & 0xff;
  }
  return y;
}

export const Q4_0: QuantFormat = { type: GgmlType.Q4_0, name: 'Q4_0', blockSize: 32, typeSize: 18, dequantize: q4_0Dequantize, quantize: q4_0Quantize };
export const Q4_1: QuantFormat = { type: GgmlType.Q4_1, name: 'Q4_1', blockSize: 32, typeSize: 20, dequantize: q4_1Dequantize, quantize: q4_1Quantize };
export const Q5_0: QuantFormat = { type: GgmlType.Q5_0, name: 'Q5_0', blockSize: 32, typeSize: 22, dequantize: q5_0Dequantize, quantize: q5_0Quantize };
export const Q5_1: QuantFormat = { type: GgmlType.Q5_1, name: 'Q5_1', blockSize: 32, typeSize: 24, dequantize: q5_1Dequantize, quantize: q5_1Quantize };
export const Q8_0: QuantFormat = { type: GgmlType.Q8_0, name: 'Q8_0', blockSize: 32, typeSize: 34, dequantize: q8_0Dequantize, quantize: q8_0Quantize };
