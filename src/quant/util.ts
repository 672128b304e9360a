// Helpers shared by the block formats: float32-faithful rounding as ggml does it, and fp16 fields.
import * as float from './float.ts';

// Hot helpers are bound to module-local constants once: some module runners (vitest's) turn every
// use of an imported binding into a getter call, which made the inner loops several times slower.
const { F16_TABLE, f32ToF16 } = float;

/** Shorthand: round to float32, so JS doubles replay ggml's float arithmetic op by op. */
export const f32 = Math.fround;

/**
 * ggml's nearest_int: adding 1.5*2^23 in float32 rounds to an integer, half to even.
 * The sum of a float32 below 2^22 and that constant is exact in a double, so one fround replays it.
 */
export function nearestInt(fval: number): number {
  return f32(fval + 12582912) - 12582912;
}

/** C roundf: halves away from zero. */
export function roundAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** C conversion of a float to int8_t / uint8_t: truncate toward zero, keep the low 8 bits. */
export function toInt8(x: number): number {
  return ((Math.trunc(x) << 24) >> 24);
}
export function toUint8(x: number): number {
  return Math.trunc(x) & 0xff;
}

/** Reads the little-endian fp16 at byte offset o as a number. */
export function readF16(b: Uint8Array, o: number): number {
  return F16_TABLE[b[o]! | (b[o + 1]! << 8)]!;
}

/** Stores x as fp16 (ggml rounding) at byte offset o and returns the stored value, as ggml code re-reads it. */
export function writeF16(b: Uint8Array, o: number, x: number): number {
  const h = f32ToF16(x);
  b[o] = h & 0xff;
  b[o + 1] = h >> 8;
  return F16_TABLE[h]!;
}

export function checkBlocks(name: string, blockSize: number, typeSize: number, src: Uint8Array, n: number): number {
  if (n % blockSize !== 0) throw new RangeError(`${name}: ${n} elements is not a multiple of the block size ${blockSize}`);
  const nb = n / blockSize;
  if (src.length < nb * typeSize) throw new RangeError(`${name}: ${src.length} bytes given, ${nb * typeSize} needed for ${n} elements`);
  return nb;
}

export function outFor(n: number, out?: Float32Array): Float32Array {
  if (!out) return new Float32Array(n);
  if (out.length < n) throw new RangeError(`output holds ${out.length} floats, need ${n}`);
  return out;
}

export function checkQuantInput(name: string, blockSize: number, n: number): number {
  if (n % blockSize !== 0) throw new RangeError(`${name}: ${n} elements is not a multiple of the block size ${blockSize}`);
  return n / blockSize;
}

/** The value of largest magnitude in x[xo..xo+n), with its sign (the first one on ties, as ggml). */
export function signedAbsMax(x: Float32Array, xo: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i]!;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}
