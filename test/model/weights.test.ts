// Loading weights by the architecture's description: tied heads, rope_freqs kept on the host, fused
// projections split at load (bit-identical to the fused matmul), and tensors that would change the
// computation refused by name.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { UnsupportedModelError } from '../../src/errors.ts';
import type { GgufFile } from '../../src/gguf/reader.ts';
import { GgufFile as File } from '../../src/gguf/reader.ts';
import { GgmlType, bytesFor, type TensorInfo } from '../../src/gguf/types.ts';
import { getArchitecture } from '../../src/model/arch/index.ts';
import { readHParams } from '../../src/model/hparams.ts';
import { loadWeights } from '../../src/model/weights.ts';
import { quantizeTensor } from '../../src/quant/registry.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

/** A GgufFile stand-in holding the given tensors (seeded data) and metadata. */
function fakeFile(arch: string, meta: Record<string, number | string>, tensors: Array<[string, number[], GgmlType]>): GgufFile {
  const infos = new Map<string, TensorInfo>();
  for (const [name, dims, type] of tensors) {
    const n = dims.reduce((a, b) => a * b, 1);
    infos.set(name, { name, dims, type, offset: 0, nbytes: bytesFor(type, n), nElements: n });
  }
  const fake = {
    path: `fake-${arch}.gguf`,
    metadata: new Map<string, string | number>([['general.architecture', arch], ...Object.entries(meta).map(([k, v]) => [`${arch}.${k}`, v] as [string, number])]),
    tensors: [...infos.values()],
    tensor: (name: string) => infos.get(name),
    readTensor: async (t: TensorInfo) => quantizeTensor(t.type, Float32Array.from({ length: t.nElements }, (_, i) => Math.sin(i * 0.37 + t.name.length))),
  };
  return fake as unknown as GgufFile;
}

const llamaMeta = { embedding_length: 64, block_count: 1, 'attention.head_count': 4, feed_forward_length: 96, context_length: 128, 'attention.layer_norm_rms_epsilon': 1e-5 };
function llamaTensors(): Array<[string, number[], GgmlType]> {
  const F = GgmlType.F32;
  return [
    ['token_embd.weight', [64, 300], F],
    ['output_norm.weight', [64], F],
    ['blk.0.attn_norm.weight', [64], F],
    ['blk.0.attn_q.weight', [64, 64], F],
    ['blk.0.attn_k.weight', [64, 64], F],
    ['blk.0.attn_v.weight', [64, 64], F],
    ['blk.0.attn_output.weight', [64, 64], F],
    ['blk.0.ffn_norm.weight', [64], F],
    ['blk.0.ffn_gate.weight', [64, 96], F],
    ['blk.0.ffn_up.weight', [64, 96], F],
    ['blk.0.ffn_down.weight', [96, 64], F],
  ];
}

async function load(file: GgufFile) {
  const hp = readHParams(file);
  return loadWeights(file, new CpuBackend(), hp, getArchitecture(hp.arch));
}

describe('loadWeights', () => {
  it('ties the head to token_embd when output.weight is absent, and keeps rope_freqs on the host', async () => {
    const w = await load(fakeFile('llama', llamaMeta, [...llamaTensors(), ['rope_freqs.weight', [8], GgmlType.F32]]));
    expect(w.output).toBe(w.tokenEmbd);
    expect(w.ropeFreqs?.length).toBe(8);
    expect(w.all.some((x) => x.name === 'rope_freqs.weight')).toBe(false);
  });

  it('refuses, by name, tensors the architecture does not use', async () => {
    for (const [arch, extra] of [
      ['llama', 'blk.0.attn_q_norm.weight'],
      ['llama', 'blk.0.ffn_up.bias'],
      ['qwen2', 'rope_freqs.weight'],
    ] as const) {
      const tensors = llamaTensors();
      if (arch === 'qwen2') tensors.push(['blk.0.attn_q.bias', [64], GgmlType.F32], ['blk.0.attn_k.bias', [64], GgmlType.F32], ['blk.0.attn_v.bias', [64], GgmlType.F32]);
      tensors.push([extra, [extra === 'rope_freqs.weight' ? 8 : extra.endsWith('bias') ? 96 : 16], GgmlType.F32]);
      const p = load(fakeFile(arch, llamaMeta, tensors));
      await expect(p, extra).rejects.toThrow(UnsupportedModelError);
      await expect(load(fakeFile(arch, llamaMeta, tensors)), extra).rejects.toThrow(`tensor ${extra} is not used by rocforge's ${arch}`);
    }
  });

  it("refuses a fused Q4_0 split whose part would take another llama.cpp kernel than the whole (rows % 8)", async () => {
    // phi3, dim 96, 16 heads of 6, 2 KV heads: attn_qkv has 96 + 12 + 12 = 120 rows (a multiple of 8), its k part 12
    const Q = GgmlType.Q4_0;
    const meta = { ...llamaMeta, embedding_length: 96, 'attention.head_count': 16, 'attention.head_count_kv': 2, 'attention.sliding_window': 8, feed_forward_length: 64 };
    const tensors: Array<[string, number[], GgmlType]> = [
      ['token_embd.weight', [96, 300], Q],
      ['output_norm.weight', [96], GgmlType.F32],
      ['output.weight', [96, 300], Q],
      ['blk.0.attn_norm.weight', [96], GgmlType.F32],
      ['blk.0.attn_qkv.weight', [96, 120], Q],
      ['blk.0.attn_output.weight', [96, 96], Q],
      ['blk.0.ffn_norm.weight', [96], GgmlType.F32],
      ['blk.0.ffn_up.weight', [96, 128], Q],
      ['blk.0.ffn_down.weight', [64, 96], Q],
    ];
    await expect(load(fakeFile('phi3', meta, tensors))).rejects.toThrow(/blk\.0\.attn_qkv\.weight is Q4_0 with 120 rows, and its blk\.0\.attn_k\.weight part of 12 rows/);
  });
});

describe.skipIf(missingShared('new-archs', 'models') !== undefined)('phi3 fused projections split at load', () => {
  it.each(['synth-phi3-256-Q4_K_M.gguf', 'synth-phi3-256-Q4_0.gguf'])('%s: the parts compute exactly the fused matmul row ranges (q, k, v; gate, up)', async (model) => {
    const file = await File.open(sharedPath('new-archs', 'models', model));
    try {
      const b = new CpuBackend();
      const hp = readHParams(file);
      const w = await loadWeights(file, b, hp, getArchitecture('phi3'));
      const l = w.layers[0]!;
      expect([l.wq.rows, l.wk.rows, l.wv.rows, l.ffnGate.rows, l.ffnUp.rows]).toEqual([256, 256, 256, 512, 512]);
      for (const [fused, parts] of [
        ['blk.0.attn_qkv.weight', [l.wq, l.wk, l.wv]],
        ['blk.0.ffn_up.weight', [l.ffnGate, l.ffnUp]],
      ] as const) {
        const info = file.tensor(fused)!;
        const whole = await b.uploadWeight(fused, info.type, info.dims[1]!, info.dims[0]!, await file.readTensor(info));
        for (const rows of [1, 3]) {
          const x = b.createTensor(rows, 256);
          b.writeTensor(x, Float32Array.from({ length: rows * 256 }, (_, i) => Math.cos(i * 0.11)));
          const out = b.createTensor(rows, whole.rows);
          b.matmul(whole, x, out);
          const all = await b.read(out);
          let lo = 0;
          for (const p of parts) {
            const po = b.createTensor(rows, p.rows);
            b.matmul(p, x, po);
            const got = await b.read(po);
            for (let r = 0; r < rows; r++) expect(Array.from(got.subarray(r * p.rows, (r + 1) * p.rows))).toEqual(Array.from(all.subarray(r * whole.rows + lo, r * whole.rows + lo + p.rows)));
            lo += p.rows;
          }
        }
      }
    } finally {
      await file.close();
    }
  });
});
