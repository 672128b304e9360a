import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgufError, InvalidRequestError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType, GgufValueType, type GgufTypedValue } from '../../src/gguf/types.ts';
import { GgufWriter, meta, writeGguf } from '../../src/gguf/writer.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rocforge-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One value of every GGUF type, an array of every element type, and nested arrays. */
function everyType(): Map<string, GgufTypedValue> {
  const V = GgufValueType;
  return new Map<string, GgufTypedValue>([
    ['t.u8', meta.u8(255)],
    ['t.i8', meta.i8(-128)],
    ['t.u16', meta.u16(65535)],
    ['t.i16', meta.i16(-32768)],
    ['t.u32', meta.u32(4294967295)],
    ['t.i32', meta.i32(-2147483648)],
    ['t.f32', meta.f32(Math.fround(3.14159))],
    ['t.bool', meta.bool(true)],
    ['t.str', meta.str('héllo ▁wörld 🦙')],
    ['t.bom', meta.str('\uFEFFstarts with a byte order mark')],
    ['t.u64', meta.u64(18446744073709551615n)],
    ['t.i64', meta.i64(-9223372036854775808n)],
    ['t.f64', meta.f64(Math.PI)],
    ['a.u8', meta.array(V.UINT8, [0, 1, 255])],
    ['a.i8', meta.array(V.INT8, [-1, 0, 127])],
    ['a.u16', meta.array(V.UINT16, [1, 65535])],
    ['a.i16', meta.array(V.INT16, [-2, 2])],
    ['a.u32', meta.array(V.UINT32, [7, 4294967295])],
    ['a.i32', meta.array(V.INT32, [-7, 7])],
    ['a.f32', meta.array(V.FLOAT32, [0.5, -1.25, Math.fround(1e-7)])],
    ['a.bool', meta.array(V.BOOL, [true, false, true])],
    ['a.str', meta.array(V.STRING, ['', 'a', '<0x0A>', 'Ġthe', '\uFEFF'])],
    ['a.u64', meta.array(V.UINT64, [0n, 1n << 63n])],
    ['a.i64', meta.array(V.INT64, [-1n, 1n << 62n])],
    ['a.f64', meta.array(V.FLOAT64, [1e300, -0.1])],
    ['a.empty', meta.array(V.STRING, [])],
    [
      'a.nested',
      meta.nested([
        meta.array(V.UINT8, [1, 2]),
        meta.array(V.STRING, ['x', '\uFEFFy']),
        meta.nested([meta.array(V.INT64, [5n]), meta.array(V.FLOAT32, [])]),
      ]),
    ],
  ]);
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

describe('GGUF writer', () => {
  it('round-trips metadata of all 13 value types, arrays of each and nested arrays', async () => {
    const path = join(dir, 'types.gguf');
    const md = everyType();
    await writeGguf(path, { metadata: md, tensors: [], source: () => new Uint8Array(0) });
    const g = await GgufFile.open(path);
    try {
      expect([...g.metadata.keys()]).toEqual([...md.keys()]);
      for (const [key, tv] of md) {
        expect(g.metadataTypes.get(key), key).toEqual(tv.desc);
        expect(g.metadata.get(key), key).toEqual(tv.value);
      }
      expect(typeof g.metadata.get('t.u64')).toBe('bigint');
      expect(g.typedMetadata()).toEqual(md);
    } finally {
      await g.close();
    }
  });

  it('writes tensors at aligned offsets, honouring general.alignment, and reads the bytes back', async () => {
    const path = join(dir, 'aligned.gguf');
    const tensors = [
      { name: 'a', dims: [3, 5], type: GgmlType.F32 },
      { name: 'b', dims: [7], type: GgmlType.F16 },
      { name: 'c', dims: [64, 2], type: GgmlType.Q8_0 },
      { name: 'd', dims: [256], type: GgmlType.Q4_K },
    ];
    const sizes = [60, 14, 136, 144];
    await writeGguf(path, {
      metadata: [['general.alignment', meta.u32(64)]],
      tensors,
      // several chunks per tensor, as a streaming producer would send them
      source: function* (info, i) {
        const bytes = pattern(info.nbytes, i);
        for (let at = 0; at < bytes.length; at += 50) yield bytes.subarray(at, at + 50);
      },
    });
    const g = await GgufFile.open(path);
    try {
      expect(g.header.alignment).toBe(64);
      expect(g.header.dataOffset % 64).toBe(0);
      expect(g.tensors.map((t) => t.nbytes)).toEqual(sizes);
      for (const [i, t] of g.tensors.entries()) {
        expect(t.offset % 64, t.name).toBe(0);
        expect(t.dims).toEqual(tensors[i]!.dims);
        expect(t.type).toBe(tensors[i]!.type);
        expect(await g.readTensor(t)).toEqual(pattern(t.nbytes, i));
      }
      const last = g.tensors[3]!;
      expect(g.header.fileSize).toBe(last.offset + 192); // 144 bytes padded to 64
    } finally {
      await g.close();
    }
  });

  it('records a non-default alignment option as general.alignment', async () => {
    const path = join(dir, 'align-opt.gguf');
    await writeGguf(path, {
      metadata: [['general.name', meta.str('x')]],
      alignment: 128,
      tensors: [{ name: 'w', dims: [4], type: GgmlType.F32 }],
      source: () => pattern(16, 1),
    });
    const g = await GgufFile.open(path);
    expect(g.metadata.get('general.alignment')).toBe(128);
    expect(g.tensors[0]!.offset % 128).toBe(0);
    expect((await stat(path)).size).toBe(g.tensors[0]!.offset + 128);
    await g.close();
  });

  it('streams: rejects out-of-order and oversized data, and removes an incomplete file', async () => {
    const path = join(dir, 'stream.gguf');
    const w = await GgufWriter.create(path, {
      metadata: [],
      tensors: [
        { name: 'x', dims: [4], type: GgmlType.F32 },
        { name: 'y', dims: [2], type: GgmlType.F32 },
      ],
    });
    expect(w.next?.name).toBe('x');
    await expect(w.write('y', new Uint8Array(8))).rejects.toThrow(/out of order: got y, expected x/);
    await w.write('x', new Uint8Array(10));
    await expect(w.write('x', new Uint8Array(10))).rejects.toThrow(/16 bytes but 20 were written/);
    await w.write('x', new Uint8Array(6));
    expect(w.next?.name).toBe('y');
    await expect(w.finish()).rejects.toBeInstanceOf(GgufError);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('refuses values that do not fit their declared type', async () => {
    const bad: [string, GgufTypedValue][] = [
      ['k', meta.u8(256)],
      ['k', meta.i32(1.5)],
      ['k', { desc: { type: GgufValueType.UINT64 }, value: 5 }],
      ['k', { desc: { type: GgufValueType.ARRAY }, value: [1] }],
      ['k', { desc: { type: GgufValueType.ARRAY, items: GgufValueType.ARRAY, inner: [] }, value: [[1]] }],
    ];
    for (const entry of bad) {
      await expect(GgufWriter.create(join(dir, 'bad.gguf'), { metadata: [entry], tensors: [] }), String(entry[1].value)).rejects.toBeInstanceOf(
        InvalidRequestError,
      );
    }
    await expect(
      GgufWriter.create(join(dir, 'bad.gguf'), { metadata: [], tensors: [{ name: 'q', dims: [33], type: GgmlType.Q4_0 }] }),
    ).rejects.toThrow(/not a multiple of Q4_0's block size 32/);
  });

  it('reads back strings that cross the library\'s 2,000,000-byte read chunks intact', async () => {
    // @huggingface/gguf alone returns the last string of this array cut at byte 2,000,000
    const path = join(dir, 'straddle.gguf');
    const filler = Array.from({ length: 1700 }, (_, i) => `${i}`.padEnd(1000, '.'));
    const long = 'x'.repeat(300_000) + 'é'.repeat(100_000) + 'end';
    const md = new Map<string, GgufTypedValue>([
      ['a', meta.array(GgufValueType.STRING, [...filler, long])],
      ['b', meta.str('y'.repeat(400_000))],
      ['c', meta.str('after')],
    ]);
    await writeGguf(path, { metadata: md, tensors: [], source: () => new Uint8Array(0) });
    const lib = await gguf(path, { allowLocalFile: true });
    expect(((lib.metadata as Record<string, unknown>).a as string[]).at(-1)!.length).toBeLessThan(long.length);
    const g = await GgufFile.open(path);
    try {
      expect((g.metadata.get('a') as string[]).at(-1)).toBe(long);
      expect(g.metadata.get('b')).toBe('y'.repeat(400_000));
      expect(g.metadata.get('c')).toBe('after');
      expect(g.typedMetadata()).toEqual(md);
    } finally {
      await g.close();
    }
  });

  it.skipIf(missingShared('vocab', 'ggml-vocab-llama-spm.gguf'))('rewrites a 700 KB vocab-only header byte for byte', async () => {
    const src = sharedPath('vocab', 'ggml-vocab-llama-spm.gguf');
    const out = join(dir, 'vocab-rewrite.gguf');
    const g = await GgufFile.open(src);
    await writeGguf(out, { metadata: g.typedMetadata(), tensors: [], source: () => new Uint8Array(0) });
    await g.close();
    expect(Buffer.compare(await readFile(out), await readFile(src))).toBe(0);
  });

  it.skipIf(missingShared('models', 'stories260K.gguf'))('rewrites stories260K.gguf byte for byte', async () => {
    const src = sharedPath('models', 'stories260K.gguf');
    const out = join(dir, 'stories-rewrite.gguf');
    const g = await GgufFile.open(src);
    try {
      await writeGguf(out, {
        metadata: g.typedMetadata(),
        tensors: g.tensors,
        source: (info) => g.readTensorChunks(g.tensor(info.name)!, 4096),
      });
    } finally {
      await g.close();
    }
    const r = await GgufFile.open(out);
    try {
      const o = await GgufFile.open(src);
      expect(r.typedMetadata()).toEqual(o.typedMetadata());
      expect(r.tensors).toEqual(o.tensors);
      for (const t of o.tensors) {
        expect(Buffer.from(await r.readTensor(r.tensor(t.name)!)).equals(await o.readTensor(t)), t.name).toBe(true);
      }
      await o.close();
    } finally {
      await r.close();
    }
    // ggml lays files out the same way, so the rewrite is identical to the original
    expect(Buffer.compare(await readFile(out), await readFile(src))).toBe(0);
  });
});
