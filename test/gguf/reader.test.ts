import { open } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType, GgufValueType } from '../../src/gguf/types.ts';
import { missingShared, sharedModels, sharedPath } from '../helpers/shared.ts';

const STORIES = ['models', 'stories260K.gguf'] as const;
const SPM_VOCAB = ['vocab', 'ggml-vocab-llama-spm.gguf'] as const;

async function rawBytes(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

describe('GgufFile on stories260K', () => {
  it.skipIf(missingShared(...STORIES))('reads header, metadata with types, and tensor infos', async () => {
    const g = await GgufFile.open(sharedPath(...STORIES));
    try {
      expect(g.header.version).toBe(3);
      expect(g.header.alignment).toBe(32);
      expect(g.header.dataOffset).toBe(14176);
      expect(g.metadata.get('general.architecture')).toBe('llama');
      expect(g.metadata.get('llama.embedding_length')).toBe(64);
      expect(g.metadata.get('llama.block_count')).toBe(5);
      expect(g.metadata.get('llama.attention.head_count_kv')).toBe(4);
      expect(g.metadata.get('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
      expect(g.metadata.get('tokenizer.ggml.padding_token_id')).toBe(4294967295);
      // the library's pseudo-keys for header fields are not metadata
      expect(g.metadata.has('version')).toBe(false);
      expect(g.metadata.has('tensor_count')).toBe(false);
      expect(g.metadata.size).toBe(19);
      const tokens = g.metadata.get('tokenizer.ggml.tokens') as string[];
      expect(tokens.length).toBe(512);
      expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
      expect(g.metadataTypes.get('tokenizer.ggml.tokens')).toEqual({ type: GgufValueType.ARRAY, items: GgufValueType.STRING });
      expect(g.metadataTypes.get('tokenizer.ggml.token_type')).toEqual({ type: GgufValueType.ARRAY, items: GgufValueType.INT32 });
      expect(g.metadataTypes.get('llama.block_count')).toEqual({ type: GgufValueType.UINT32 });

      expect(g.tensors.length).toBe(48);
      const embd = g.tensor('token_embd.weight')!;
      expect(embd).toEqual({ name: 'token_embd.weight', dims: [64, 512], type: GgmlType.F32, offset: 14176, nbytes: 131072, nElements: 32768 });
      expect(g.tensor('blk.4.ffn_down.weight')?.dims).toEqual([172, 64]);
      expect(g.tensor('no.such.tensor')).toBeUndefined();
    } finally {
      await g.close();
    }
  });

  it.skipIf(missingShared(...STORIES))('reads tensor bytes by offset, whole, by range and in chunks', async () => {
    const path = sharedPath(...STORIES);
    const g = await GgufFile.open(path);
    try {
      const t = g.tensor('blk.2.ffn_up.weight')!;
      const whole = await g.readTensor(t);
      expect(whole.length).toBe(64 * 172 * 4);
      expect(Buffer.from(whole).equals(await rawBytes(path, t.offset, t.nbytes))).toBe(true);
      const f32 = new Float32Array(whole.buffer, whole.byteOffset, t.nElements);
      // real trained weights: finite, not all zero, small
      expect(f32.every(Number.isFinite)).toBe(true);
      expect(Math.max(...f32.map(Math.abs))).toBeGreaterThan(0.01);
      expect(Math.max(...f32.map(Math.abs))).toBeLessThan(10);

      expect(Buffer.from(await g.readTensorRange(t, 100, 40)).equals(Buffer.from(whole.subarray(100, 140)))).toBe(true);
      const parts: Uint8Array[] = [];
      for await (const c of g.readTensorChunks(t, 1000)) parts.push(c);
      expect(parts.length).toBe(Math.ceil(t.nbytes / 1000));
      expect(Buffer.concat(parts).equals(whole)).toBe(true);
      await expect(g.readTensorRange(t, t.nbytes - 4, 8)).rejects.toBeInstanceOf(RangeError);
    } finally {
      await g.close();
    }
  });
});

describe('GgufFile on other files', () => {
  it.skipIf(missingShared(...SPM_VOCAB))('opens a vocab-only file (no tensors, no trailing padding)', async () => {
    const g = await GgufFile.open(sharedPath(...SPM_VOCAB));
    try {
      expect(g.tensors).toEqual([]);
      expect(g.header.dataOffset).toBeGreaterThan(g.header.fileSize);
      expect((g.metadata.get('tokenizer.ggml.tokens') as string[]).length).toBe(32000);
      expect(g.metadata.get('tokenizer.ggml.add_bos_token')).toBe(true);
    } finally {
      await g.close();
    }
  });

  it.skipIf(missingShared('models'))('opens every shared model, with every tensor inside the file', async () => {
    const models = sharedModels();
    expect(models.length).toBeGreaterThan(0);
    for (const m of models) {
      const g = await GgufFile.open(sharedPath('models', m));
      try {
        expect(g.tensors.length, m).toBeGreaterThan(0);
        for (const t of g.tensors) {
          expect(t.offset % g.header.alignment).toBe(0);
          expect(t.offset + t.nbytes).toBeLessThanOrEqual(g.header.fileSize);
        }
        const arch = g.metadata.get('general.architecture');
        expect(['llama', 'qwen2']).toContain(arch);
      } finally {
        await g.close();
      }
    }
  });

  it('reports a missing path or a directory as ModelNotFoundError', async () => {
    await expect(GgufFile.open('/nonexistent/model.gguf')).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(GgufFile.open('/tmp')).rejects.toThrow(/is not a file/);
  });
});
