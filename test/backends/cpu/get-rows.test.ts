import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../../src/gguf/types.ts';
import { backend, index, read } from './helpers.ts';

/** A Q8_0 block by hand: f16 scale then 32 int8 quants; value = d * q. */
function q8Block(dBits: number, q: (j: number) => number): Uint8Array {
  const b = new Uint8Array(34);
  new DataView(b.buffer).setUint16(0, dBits, true);
  for (let j = 0; j < 32; j++) b[2 + j] = q(j) & 0xff;
  return b;
}

/** A Q4_0 block by hand: f16 scale then 16 bytes; element j is the low nibble of byte j, j+16 the high one; value = d * (nibble - 8). */
function q4Block(dBits: number, nib: (j: number) => number): Uint8Array {
  const b = new Uint8Array(18);
  new DataView(b.buffer).setUint16(0, dBits, true);
  for (let j = 0; j < 16; j++) b[2 + j] = nib(j) | (nib(j + 16) << 4);
  return b;
}

describe('cpu getRows', () => {
  it('looks up rows of a Q8_0 table, repeating and reordering ids', async () => {
    const b = backend();
    // Row 0: d = 0.5 (0x3800), q = j - 16. Row 1: d = 2 (0x4000), q = -j.
    const data = new Uint8Array([...q8Block(0x3800, (j) => j - 16), ...q8Block(0x4000, (j) => -j)]);
    const table = await b.uploadWeight('emb', GgmlType.Q8_0, 2, 32, data);
    const out = b.createTensor(3, 32);
    b.getRows(table, index(b, [1, 0, 1]), out);
    const got = await read(b, out);
    const row0 = Array.from({ length: 32 }, (_, j) => 0.5 * (j - 16));
    const row1 = Array.from({ length: 32 }, (_, j) => -2 * j + 0); // + 0 turns -0 into 0
    expect(got.map((v) => v + 0)).toEqual([...row1, ...row0, ...row1]);
  });

  it('looks up rows of a Q4_0 table', async () => {
    const b = backend();
    const data = new Uint8Array([...q4Block(0x3c00, (j) => j % 16), ...q4Block(0x4000, () => 9)]);
    const table = await b.uploadWeight('emb', GgmlType.Q4_0, 2, 32, data);
    const out = b.createTensor(2, 32);
    b.getRows(table, index(b, [0, 1]), out);
    const got = await read(b, out);
    expect(got.slice(0, 32)).toEqual(Array.from({ length: 32 }, (_, j) => (j % 16) - 8));
    expect(got.slice(32)).toEqual(new Array(32).fill(2));
  });

  it('looks up F32 and F16 rows exactly', async () => {
    const b = backend();
    const f32 = await b.uploadWeight('e32', GgmlType.F32, 2, 2, new Uint8Array(Float32Array.from([1.5, -2, 3, 4.25]).buffer));
    // f16 bits: 1 = 0x3c00, -0.5 = 0xb800, 65504 = 0x7bff, 2^-24 = 0x0001.
    const f16 = await b.uploadWeight('e16', GgmlType.F16, 2, 2, new Uint8Array(Uint16Array.from([0x3c00, 0xb800, 0x7bff, 0x0001]).buffer));
    const o32 = b.createTensor(1, 2);
    const o16 = b.createTensor(2, 2);
    b.getRows(f32, index(b, [1]), o32);
    b.getRows(f16, index(b, [1, 0]), o16);
    expect(await read(b, o32)).toEqual([3, 4.25]);
    expect(await read(b, o16)).toEqual([65504, 2 ** -24, 1, -0.5]);
  });

  it('rejects ids outside the table', async () => {
    const b = backend();
    const table = await b.uploadWeight('emb', GgmlType.F32, 1, 1, new Uint8Array(4));
    expect(() => b.getRows(table, index(b, [1]), b.createTensor(1, 1))).toThrow(/id 1 is outside emb's 1 rows/);
  });
});
