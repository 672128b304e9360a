// Block layouts: every quantized format decodes hand-built blocks to the values its ggml layout
// defines. The reference decoders below read one element at a time straight from the layout
// description in ggml-common.h, independently of the optimized loops under test.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GgmlType, typeName } from '../../src/gguf/types.ts';
import { f16ToF32 } from '../../src/quant/float.ts';
import { IQ4NL_VALUES } from '../../src/quant/iq4nl.ts';
import { getFormat } from '../../src/quant/registry.ts';

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const h16 = (b: Uint8Array, o: number) => f16ToF32(u16(b, o));
const i8 = (v: number) => (v << 24) >> 24;

/** 6-bit scale j and min j of the 12 packed bytes of Q4_K/Q5_K. */
function kScaleMin(s: Uint8Array, j: number): [number, number] {
  if (j < 4) return [s[j]! & 63, s[j + 4]! & 63];
  return [(s[j + 4]! & 15) | ((s[j - 4]! >> 6) << 4), (s[j + 4]! >> 4) | ((s[j]! >> 6) << 4)];
}

/** Element e of one block, decoded from the layout. */
const REFERENCE: Partial<Record<GgmlType, (b: Uint8Array, e: number) => number>> = {
  [GgmlType.Q4_0]: (b, e) => (((e < 16 ? b[2 + e]! & 15 : b[2 + e - 16]! >> 4) - 8) * h16(b, 0)),
  [GgmlType.Q4_1]: (b, e) => (e < 16 ? b[4 + e]! & 15 : b[4 + e - 16]! >> 4) * h16(b, 0) + h16(b, 2),
  [GgmlType.Q5_0]: (b, e) => {
    const qh = (b[2]! | (b[3]! << 8) | (b[4]! << 16) | (b[5]! << 24)) >>> 0;
    const low = e < 16 ? b[6 + e]! & 15 : b[6 + e - 16]! >> 4;
    return ((low | (((qh >>> e) & 1) << 4)) - 16) * h16(b, 0);
  },
  [GgmlType.Q5_1]: (b, e) => {
    const qh = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    const low = e < 16 ? b[8 + e]! & 15 : b[8 + e - 16]! >> 4;
    return (low | (((qh >>> e) & 1) << 4)) * h16(b, 0) + h16(b, 2);
  },
  [GgmlType.Q8_0]: (b, e) => i8(b[2 + e]!) * h16(b, 0),
  [GgmlType.IQ4_NL]: (b, e) => h16(b, 0) * IQ4NL_VALUES[e < 16 ? b[2 + e]! & 15 : b[2 + e - 16]! >> 4]!,
  [GgmlType.Q2_K]: (b, e) => {
    const half = e >> 7, r = e & 127, shift = 2 * (r >> 5), l = r & 31;
    const sc = b[e >> 4]!;
    const q = (b[16 + half * 32 + l]! >> shift) & 3;
    return h16(b, 80) * (sc & 15) * q - h16(b, 82) * (sc >> 4);
  },
  [GgmlType.Q3_K]: (b, e) => {
    const half = e >> 7, r = e & 127, j = r >> 5, l = r & 31, g = e >> 4;
    const low = g < 8 ? b[96 + g]! & 15 : b[96 + g - 8]! >> 4;
    const high = (b[96 + 8 + (g % 4)]! >> (2 * (g >> 2))) & 3;
    const scale = (low | (high << 4)) - 32;
    const q = (b[32 + half * 32 + l]! >> (2 * j)) & 3;
    const hbit = (b[l]! >> (half * 4 + j)) & 1;
    return h16(b, 108) * scale * (q - (hbit ? 0 : 4));
  },
  [GgmlType.Q4_K]: (b, e) => {
    const g = e >> 6, hi = (e & 63) >= 32, l = e & 31;
    const byte = b[16 + g * 32 + l]!;
    const [sc, m] = kScaleMin(b.subarray(4, 16), e >> 5);
    return h16(b, 0) * sc * (hi ? byte >> 4 : byte & 15) - h16(b, 2) * m;
  },
  [GgmlType.Q5_K]: (b, e) => {
    const g = e >> 6, hi = (e & 63) >= 32, l = e & 31;
    const byte = b[48 + g * 32 + l]!;
    const q = (hi ? byte >> 4 : byte & 15) + (((b[16 + l]! >> (e >> 5)) & 1) << 4);
    const [sc, m] = kScaleMin(b.subarray(4, 16), e >> 5);
    return h16(b, 0) * sc * q - h16(b, 2) * m;
  },
  [GgmlType.Q6_K]: (b, e) => {
    const half = e >> 7, r = e & 127, quarter = r >> 5, l = r & 31;
    const lowByte = b[half * 64 + l + (quarter & 1) * 32]!;
    const low = quarter < 2 ? lowByte & 15 : lowByte >> 4;
    const high = (b[128 + half * 32 + l]! >> (2 * quarter)) & 3;
    return h16(b, 208) * i8(b[192 + (e >> 4)]!) * ((low | (high << 4)) - 32);
  },
};

const TYPES = Object.keys(REFERENCE).map(Number) as GgmlType[];

function referenceDecode(type: GgmlType, bytes: Uint8Array, nBlocks: number): Float32Array {
  const f = getFormat(type);
  const out = new Float32Array(nBlocks * f.blockSize);
  for (let i = 0; i < nBlocks; i++) {
    const b = bytes.subarray(i * f.typeSize, (i + 1) * f.typeSize);
    for (let e = 0; e < f.blockSize; e++) out[i * f.blockSize + e] = REFERENCE[type]!(b, e);
  }
  return out;
}

/** Random block bytes whose fp16 fields are finite (NaN scales would make equality meaningless). */
function randomBlocks(type: GgmlType, nBlocks: number, rand: () => number): Uint8Array {
  const f = getFormat(type);
  const bytes = new Uint8Array(nBlocks * f.typeSize);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
  const halfFields: Record<number, number[]> = {
    [GgmlType.Q4_0]: [0], [GgmlType.Q4_1]: [0, 2], [GgmlType.Q5_0]: [0], [GgmlType.Q5_1]: [0, 2], [GgmlType.Q8_0]: [0],
    [GgmlType.IQ4_NL]: [0], [GgmlType.Q2_K]: [80, 82], [GgmlType.Q3_K]: [108], [GgmlType.Q4_K]: [0, 2], [GgmlType.Q5_K]: [0, 2], [GgmlType.Q6_K]: [208],
  };
  for (let i = 0; i < nBlocks; i++) {
    for (const o of halfFields[type]!) bytes[i * f.typeSize + o + 1]! &= 0x7b; // exponent < 31: finite
  }
  return bytes;
}

describe('hand-built blocks decode to their layout values', () => {
  it('Q4_0: nibble j and j+16 share byte j, offset by 8, times d', () => {
    const b = new Uint8Array(18);
    b.set([0x00, 0x38], 0); // d = 0.5
    for (let j = 0; j < 16; j++) b[2 + j] = j | ((15 - j) << 4);
    const y = getFormat(GgmlType.Q4_0).dequantize(b, 32);
    for (let j = 0; j < 16; j++) {
      expect(y[j]).toBe((j - 8) * 0.5);
      expect(y[j + 16]).toBe((7 - j) * 0.5);
    }
  });

  it('Q4_1: nibble * d + m', () => {
    const b = new Uint8Array(20);
    b.set([0x00, 0x34, 0x00, 0xbc], 0); // d = 0.25, m = -1
    for (let j = 0; j < 16; j++) b[4 + j] = j | (j << 4);
    const y = getFormat(GgmlType.Q4_1).dequantize(b, 32);
    expect(Array.from(y.subarray(0, 4))).toEqual([-1, -0.75, -0.5, -0.25]);
    expect(y[31]).toBe(15 * 0.25 - 1);
  });

  it('Q5_0: qh bit j is the fifth bit of element j', () => {
    const b = new Uint8Array(22);
    b.set([0x00, 0x3c], 0); // d = 1
    b.set([0x01, 0x00, 0x00, 0x80], 2); // fifth bit set for elements 0 and 31
    b.fill(0xff, 6); // all nibbles 15
    const y = getFormat(GgmlType.Q5_0).dequantize(b, 32);
    expect(y[0]).toBe(31 - 16);
    expect(y[1]).toBe(15 - 16);
    expect(y[30]).toBe(15 - 16);
    expect(y[31]).toBe(31 - 16);
  });

  it('Q5_1: (nibble | fifth bit) * d + m', () => {
    const b = new Uint8Array(24);
    b.set([0x00, 0x40, 0x00, 0x3c], 0); // d = 2, m = 1
    b.set([0x00, 0x00, 0x01, 0x00], 4); // element 16
    b[8] = 0x23; // element 0 -> 3, element 16 -> 2 | 16
    const y = getFormat(GgmlType.Q5_1).dequantize(b, 32);
    expect(y[0]).toBe(3 * 2 + 1);
    expect(y[16]).toBe(18 * 2 + 1);
    expect(y[1]).toBe(1);
  });

  it('Q8_0: signed bytes times d', () => {
    const b = new Uint8Array(34);
    b.set([0x00, 0x40], 0); // d = 2
    b[2] = 0x80; // -128
    b[3] = 0x7f; // 127
    b[4] = 0xff; // -1
    const y = getFormat(GgmlType.Q8_0).dequantize(b, 32);
    expect(Array.from(y.subarray(0, 4))).toEqual([-256, 254, -2, 0]);
  });

  it('IQ4_NL: indices into the non-linear table', () => {
    const b = new Uint8Array(18);
    b.set([0x00, 0x3c], 0);
    for (let j = 0; j < 16; j++) b[2 + j] = j | ((15 - j) << 4);
    const y = getFormat(GgmlType.IQ4_NL).dequantize(b, 32);
    expect(Array.from(y.subarray(0, 16))).toEqual([...IQ4NL_VALUES]);
    expect(y[16]).toBe(113);
    expect(y[31]).toBe(-127);
  });

  it('Q6_K: one block with a known element in each quarter', () => {
    const b = new Uint8Array(210);
    b.set([0x00, 0x38], 208); // d = 0.5
    for (let g = 0; g < 16; g++) b[192 + g] = (g - 8) & 0xff; // scales -8..7
    b[0] = 0x21; // element 0 low = 1, element 64 low = 2
    b[32] = 0x43; // element 32 low = 3, element 96 low = 4
    b[128] = 0b11100100; // high bits: element 0 -> 0, 32 -> 1, 64 -> 2, 96 -> 3
    const y = getFormat(GgmlType.Q6_K).dequantize(b, 256);
    expect(y[0]).toBe(0.5 * -8 * (1 - 32));
    expect(y[32]).toBe(0.5 * -6 * (3 + 16 - 32));
    expect(y[64]).toBe(0.5 * -4 * (2 + 32 - 32));
    expect(y[96]).toBe(0.5 * -2 * (4 + 48 - 32));
    expect(y[1]).toBe(0.5 * -8 * -32);
  });

  it('Q4_K: scale/min packing of groups 0 and 7', () => {
    const b = new Uint8Array(144);
    b.set([0x00, 0x3c, 0x00, 0x38], 0); // d = 1, dmin = 0.5
    b[4] = 5; // group 0 scale
    b[8] = 3; // group 0 min
    b[4 + 3] |= 1 << 6; // group 7 scale high bits (01) -> 16 + low
    b[4 + 7] |= 2 << 6; // group 7 min high bits (10) -> 32 + low
    b[4 + 11] = 0x42; // group 7 scale low 2, min low 4
    b[16] = 0x0f; // element 0 = 15, element 32 = 0
    b[16 + 96 + 31] = 0x90; // element 255 (group 7, high nibble) = 9
    const y = getFormat(GgmlType.Q4_K).dequantize(b, 256);
    expect(y[0]).toBe(5 * 15 - 0.5 * 3);
    expect(y[255]).toBe(18 * 9 - 0.5 * 36);
  });
});

describe('optimized decoders equal the layout reference on random blocks (property)', () => {
  for (const type of TYPES) {
    it(`${typeName(type)}`, () => {
      const seed = Date.now() % 0x7fffffff;
      console.log(`${typeName(type)} decoder property seed=${seed}`);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 4 }), fc.integer(), fc.integer({ min: 0, max: 3 }), (nBlocks, s, pad) => {
          let state = s >>> 0;
          const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
          const blocks = randomBlocks(type, nBlocks, rand);
          // Decode from an offset view too: tensors read from files rarely start on a fresh buffer.
          const padded = new Uint8Array(blocks.length + pad);
          padded.set(blocks, pad);
          const f = getFormat(type);
          const got = f.dequantize(padded.subarray(pad), nBlocks * f.blockSize);
          const want = referenceDecode(type, blocks, nBlocks);
          for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) return false;
          return true;
        }),
        { seed, numRuns: 60 },
      );
    });
  }
});
