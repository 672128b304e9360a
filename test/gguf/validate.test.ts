// Every way a GGUF file can lie, each raising a GgufError that names the file and the problem.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgufError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType, GgufValueType } from '../../src/gguf/types.ts';
import { meta, writeGguf, type GgufTensorSpec } from '../../src/gguf/writer.ts';

let dir: string;
let good: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rocforge-validate-'));
  const tensors: GgufTensorSpec[] = [
    { name: 'alpha', dims: [8, 2], type: GgmlType.F32 },
    { name: 'beta', dims: [1, 1, 1, 1], type: GgmlType.F32 },
    { name: 'gamma', dims: [32], type: GgmlType.Q8_0 },
  ];
  const path = join(dir, 'good.gguf');
  await writeGguf(path, {
    metadata: [
      ['general.architecture', meta.str('llama')],
      ['general.alignment', meta.u32(64)],
      ['tokenizer.ggml.tokens', meta.array(GgufValueType.STRING, ['<unk>', 'a', 'b'])],
      ['general.alignmenu', meta.u64(64n)],
    ],
    tensors,
    source: (info) => new Uint8Array(info.nbytes).fill(7),
  });
  good = await readFile(path);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Offset just after the first occurrence of `marker` (a key or tensor name) in the header. */
function after(buf: Buffer, marker: string): number {
  const at = buf.indexOf(Buffer.from(marker));
  if (at < 0) throw new Error(`marker ${marker} not found`);
  return at + marker.length;
}

let n = 0;
async function load(buf: Buffer): Promise<GgufFile> {
  const path = join(dir, `case-${n++}.gguf`);
  await writeFile(path, buf);
  return GgufFile.open(path);
}

async function expectBad(buf: Buffer, problem: RegExp): Promise<GgufError> {
  const err = await load(buf).then(
    (g) => {
      void g.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GgufError);
  const e = err as GgufError;
  expect(e.message).toMatch(problem);
  expect(e.file).toMatch(/case-\d+\.gguf$/);
  expect(e.message.startsWith(e.file)).toBe(true);
  return e;
}

function patched(f: (b: Buffer) => void): Buffer {
  const b = Buffer.from(good);
  f(b);
  return b;
}

describe('GGUF validation', () => {
  it('accepts the unmodified file', async () => {
    const g = await load(good);
    expect(g.tensors.map((t) => t.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(g.header.alignment).toBe(64);
    await g.close();
  });

  it('checks the magic and the version (2 and 3 only)', async () => {
    await expectBad(patched((b) => b.write('GGML', 0)), /not a GGUF file \(starts with "GGML"/);
    await expectBad(patched((b) => b.writeUInt32LE(1, 4)), /version 1 is not supported/);
    await expectBad(patched((b) => b.writeUInt32LE(4, 4)), /unsupported GGUF version 4/);
    const v2 = await load(patched((b) => b.writeUInt32LE(2, 4)));
    expect(v2.header.version).toBe(2);
    await v2.close();
    await expectBad(good.subarray(0, 3), /too short/);
  });

  it('checks counts against the bytes that remain', async () => {
    await expectBad(patched((b) => b.writeBigUInt64LE(1n << 40n, 8)), /tensor count 1099511627776/);
    await expectBad(patched((b) => b.writeBigUInt64LE(99_999n, 16)), /metadata key count 99999 needs at least/);
    await expectBad(patched((b) => b.writeBigUInt64LE(1n << 62n, 16)), /metadata key count \d+ exceeds the limit/);
  });

  it('checks string and array lengths against the file size', async () => {
    // length of the value of general.architecture
    await expectBad(patched((b) => b.writeBigUInt64LE(1n << 33n, after(b, 'general.architecture') + 4)), /length of string general.architecture/);
    const arr = (b: Buffer) => after(b, 'tokenizer.ggml.tokens') + 4 + 4;
    await expectBad(patched((b) => b.writeBigUInt64LE(900_000n, arr(b))), /element count of array tokenizer.ggml.tokens 900000 needs at least 7200000 bytes/);
    await expectBad(patched((b) => b.writeBigUInt64LE(2n ** 63n, arr(b))), /exceeds the limit/);
    // a string inside the array claiming more bytes than remain
    await expectBad(patched((b) => b.writeBigUInt64LE(5000n, arr(b) + 8)), /length of string tokenizer.ggml.tokens\[0\] 5000/);
  });

  it('checks value types', async () => {
    await expectBad(patched((b) => b.writeUInt32LE(13, after(b, 'general.architecture'))), /unknown value type 13/);
    await expectBad(patched((b) => b.writeUInt32LE(99, after(b, 'tokenizer.ggml.tokens') + 4)), /unknown element type 99/);
  });

  it('rejects arrays nested more than 4 deep, without reading them', async () => {
    const h = Buffer.alloc(200);
    let o = h.write('GGUF');
    o = h.writeUInt32LE(3, o);
    o = h.writeBigUInt64LE(0n, o);
    o = h.writeBigUInt64LE(1n, o);
    o = h.writeBigUInt64LE(1n, o);
    o += h.write('n', o);
    o = h.writeUInt32LE(GgufValueType.ARRAY, o);
    for (let d = 0; d < 5; d++) {
      o = h.writeUInt32LE(GgufValueType.ARRAY, o);
      o = h.writeBigUInt64LE(1n, o);
    }
    await expectBad(h, /nests arrays more than 4 deep/);
  });

  it('checks general.alignment: a UINT32 power of two', async () => {
    await expectBad(patched((b) => b.writeUInt32LE(48, after(b, 'general.alignment') + 4)), /general.alignment 48 is not a power of two/);
    await expectBad(patched((b) => b.writeUInt32LE(0, after(b, 'general.alignment') + 4)), /general.alignment 0 is not a power of two/);
    // rename the UINT64 key onto general.alignment (and the real one away)
    const wrongType = patched((b) => {
      b.write('general.alignmenX', after(b, 'general.alignment') - 17);
      b.write('general.alignment', after(b, 'general.alignmenu') - 17);
    });
    await expectBad(wrongType, /general.alignment must be a UINT32, found UINT64/);
  });

  it('checks tensor infos: type, dimensions, element count, block size', async () => {
    const typeAt = (b: Buffer) => after(b, 'alpha') + 4 + 16;
    await expectBad(patched((b) => b.writeUInt32LE(31, typeAt(b))), /tensor alpha: unknown tensor type 31/);
    await expectBad(patched((b) => b.writeUInt32LE(5, after(b, 'alpha'))), /tensor alpha has 5 dimensions/);
    await expectBad(patched((b) => b.writeUInt32LE(0, after(b, 'alpha'))), /tensor alpha has 0 dimensions/);
    const dimsOverflow = patched((b) => {
      for (let d = 0; d < 4; d++) b.writeBigUInt64LE(1n << 32n, after(b, 'beta') + 4 + 8 * d);
    });
    await expectBad(dimsOverflow, /tensor beta: shape \[4294967296, 4294967296, 4294967296, 4294967296\] has \d+ elements, more than can be addressed/);
    await expectBad(patched((b) => b.writeBigUInt64LE(1n << 40n, after(b, 'beta') + 4)), /dimension 0 is 1099511627776/);
    await expectBad(patched((b) => b.writeBigUInt64LE(48n, after(b, 'gamma') + 4)), /row length 48 is not a multiple of Q8_0's block size 32/);
    await expectBad(patched((b) => b.write('alpha', after(b, 'gamma') - 5)), /duplicate tensor name "alpha"/);
  });

  it('checks tensor offsets: aligned, inside the file, not overlapping', async () => {
    // alpha is at relative 0 (64 bytes), beta at 64, gamma at 128
    const offAt = (b: Buffer, name: string, nDims: number) => after(b, name) + 4 + 8 * nDims + 4;
    await expectBad(patched((b) => b.writeBigUInt64LE(96n, offAt(b, 'beta', 4))), /tensor beta offset 96 is not a multiple of the alignment 64/);
    await expectBad(patched((b) => b.writeBigUInt64LE(0n, offAt(b, 'beta', 4))), /tensors (alpha and beta|beta and alpha) overlap/);
    await expectBad(patched((b) => b.writeBigUInt64LE(1n << 50n, offAt(b, 'gamma', 1))), /tensor gamma .* past the end of the \d+-byte file/);
    await expectBad(good.subarray(0, good.length - 64), /tensor gamma \(34 bytes at data offset 128\) ends at byte \d+, past the end/);
  });

  it('raises GgufError for a truncation at every header position', async () => {
    const g = await load(good);
    const headerEnd = g.header.dataOffset;
    await g.close();
    for (let cut = 0; cut < headerEnd; cut += 7) {
      const err = await load(good.subarray(0, cut)).then(
        async (f) => {
          await f.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err, `cut at ${cut}`).toBeInstanceOf(GgufError);
    }
  });

  it('rejects a tiny file that declares huge nested arrays quickly, without allocating', async () => {
    // the @huggingface/gguf library alone spends seconds and ~130 MB on this 64-byte file
    const d = Buffer.alloc(64);
    d.write('GGUF');
    d.writeUInt32LE(3, 4);
    d.writeBigUInt64LE(0n, 8);
    d.writeBigUInt64LE(1n, 16);
    d.writeBigUInt64LE(1n, 24);
    d.write('a', 32);
    d.writeUInt32LE(GgufValueType.ARRAY, 33);
    d.writeUInt32LE(GgufValueType.ARRAY, 37);
    d.writeBigUInt64LE(1_000_000n, 41);
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    await expectBad(d, /element count of array a 1000000 needs at least 12000000 bytes/);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(process.memoryUsage().rss - before).toBeLessThan(32 << 20);
  });
});
