// Float formats: F32, F16 and BF16, plus scalar conversion helpers that match ggml's rounding exactly
// (GGML_FP32_TO_FP16 / GGML_FP32_TO_BF16), since quantized blocks store their scales in these formats.
import { GgmlType } from '../gguf/types.ts';
import type { QuantFormat } from './format.ts';

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Bits of a float32 (the value is rounded to float32 first). */
export function f32Bits(f: number): number {
  f32Scratch[0] = f;
  return u32Scratch[0]!;
}

/** float32 from its bits. */
export function f32FromBits(bits: number): number {
  u32Scratch[0] = bits >>> 0;
  return f32Scratch[0]!;
}

function computeF16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** All 65536 half-precision values as float32: dequantizing through a table is the fastest path in JS. */
export const F16_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = computeF16ToF32(h);
  return t;
})();

/** IEEE half (as its 16 bits) to a number. */
export function f16ToF32(h: number): number {
  return F16_TABLE[h & 0xffff]!;
}

/**
 * Number to IEEE half bits, rounding to nearest even, overflow to infinity, NaN to a quiet NaN
 * (0x7E00 with the sign), as ggml's portable GGML_FP32_TO_FP16 does. The input is first rounded
 * to float32, like the C float argument.
 */
export function f32ToF16(f: number): number {
  const x = f32Bits(f);
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  // 65520 (0x477FF000) and above round to infinity.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs >= 0x38800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits.
    let h = (abs - 0x38000000) >>> 13;
    const rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    return sign | h;
  }
  // Subnormal half (or zero): value * 2^24 rounded half to even.
  const e = abs >>> 23;
  if (e < 102) return sign; // below 2^-25: rounds to zero (exactly 2^-25 is a tie that goes to even, 0)
  const m = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && q & 1)) q++;
  return sign | q;
}

/** bfloat16 bits to a number. */
export function bf16ToF32(b: number): number {
  return f32FromBits((b & 0xffff) << 16);
}

/**
 * Number to bfloat16 bits as ggml's GGML_FP32_TO_BF16: round to nearest even on the upper 16 bits;
 * NaN keeps its top bits and is forced quiet (bit 6 set).
 */
export function f32ToBf16(f: number): number {
  const x = f32Bits(f);
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 64) & 0xffff;
  return ((x + (0x7fff + ((x >>> 16) & 1))) >>> 16) & 0xffff;
}

/** Views over a byte range; copies only when the range is not aligned for the element size. */
function alignedView<T>(src: Uint8Array, bytes: number, align: number, make: (buf: ArrayBufferLike, off: number) => T): T {
  if ((src.byteOffset & (align - 1)) === 0) return make(src.buffer, src.byteOffset);
  const copy = new Uint8Array(bytes);
  copy.set(src.subarray(0, bytes));
  return make(copy.buffer, 0);
}

function outArray(nElements: number, out?: Float32Array): Float32Array {
  if (!out) return new Float32Array(nElements);
  if (out.length < nElements) throw new RangeError(`output holds ${out.length} floats, need ${nElements}`);
  return out;
}

function checkBytes(src: Uint8Array, need: number, name: string): void {
  if (src.length < need) throw new RangeError(`${name}: ${src.length} bytes given, ${need} needed`);
}

export const F32: QuantFormat = {
  type: GgmlType.F32,
  name: 'F32',
  blockSize: 1,
  typeSize: 4,
  dequantize(src, n, out) {
    checkBytes(src, n * 4, 'F32');
    const o = outArray(n, out);
    o.set(alignedView(src, n * 4, 4, (b, off) => new Float32Array(b, off, n)));
    return o;
  },
  quantize(src) {
    return new Uint8Array(Float32Array.from(src).buffer);
  },
};

export const F16: QuantFormat = {
  type: GgmlType.F16,
  name: 'F16',
  blockSize: 1,
  typeSize: 2,
  dequantize(src, n, out) {
    checkBytes(src, n * 2, 'F16');
    const o = outArray(n, out);
    const h = alignedView(src, n * 2, 2, (b, off) => new Uint16Array(b, off, n));
    const t = F16_TABLE;
    for (let i = 0; i < n; i++) o[i] = t[h[i]!]!;
    return o;
  },
  quantize(src) {
    const h = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) h[i] = f32ToF16(src[i]!);
    return new Uint8Array(h.buffer);
  },
};

export const BF16: QuantFormat = {
  type: GgmlType.BF16,
  name: 'BF16',
  blockSize: 1,
  typeSize: 2,
  dequantize(src, n, out) {
    checkBytes(src, n * 2, 'BF16');
    const o = outArray(n, out);
    const h = alignedView(src, n * 2, 2, (b, off) => new Uint16Array(b, off, n));
    const u = new Uint32Array(o.buffer, o.byteOffset, n);
    for (let i = 0; i < n; i++) u[i] = h[i]! << 16;
    return o;
  },
  quantize(src) {
    const h = new Uint16Array(src.length);
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < src.length; i++) {
      const x = bits[i]!;
      h[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 64 : (x + (0x7fff + ((x >>> 16) & 1))) >>> 16;
    }
    return new Uint8Array(h.buffer);
  },
};

export { alignedView, outArray, checkBytes };
