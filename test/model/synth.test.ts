import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType } from '../../src/gguf/types.ts';
import {
  TokenType,
  fallbackType,
  gpt2ByteChars,
  synthBpeVocab,
  synthSpmVocab,
  synthTensorPlan,
  writeSynthModel,
  type SynthOptions,
  type SynthProgress,
} from '../../src/model/synth.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { Model } from '../../src/model/model.ts';
import { llama3RopeFreqs } from '../../src/model/synth-archs.ts';
import { dequantizeTensor } from '../../src/quant/registry.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rocforge-synth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const LLAMA_256: Omit<SynthOptions, 'out'> = { arch: 'llama', dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 768, vocab: 512, type: GgmlType.F32 };
const QWEN2_256: Omit<SynthOptions, 'out'> = { ...LLAMA_256, arch: 'qwen2', kvHeads: 2 };

async function synth(name: string, opts: Omit<SynthOptions, 'out'>, onProgress?: (p: SynthProgress) => void): Promise<GgufFile> {
  const out = join(dir, name);
  await writeSynthModel({ ...opts, out }, onProgress);
  return GgufFile.open(out);
}

function f32(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function stats(x: Float32Array): { mean: number; std: number; maxAbs: number } {
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
    m = Math.max(m, Math.abs(v));
  }
  const mean = s / x.length;
  return { mean, std: Math.sqrt(s2 / x.length - mean * mean), maxAbs: m };
}

describe('synthetic models match what llama.cpp expects', () => {
  for (const [arch, opts, shared] of [
    ['llama', LLAMA_256, 'synth-llama-256.gguf'],
    ['qwen2', QWEN2_256, 'synth-qwen2-256.gguf'],
  ] as const) {
    it.skipIf(missingShared('models', shared))(`${arch}: same tensors, shapes and hyper-parameters as the llama.cpp-made ${shared}`, async () => {
      const g = await synth(`${arch}.gguf`, opts);
      const ref = await GgufFile.open(sharedPath('models', shared));
      try {
        const shape = (f: GgufFile) => new Map(f.tensors.map((t) => [t.name, `${t.dims.join('x')}:${t.type}`]));
        expect(shape(g)).toEqual(shape(ref));
        for (const key of [...ref.metadata.keys()].filter((k) => k.startsWith(`${arch}.`) && !k.includes('rope.freq_base'))) {
          const want = ref.metadata.get(key);
          if (typeof want === 'number' && !Number.isInteger(want) && arch === 'qwen2') continue; // qwen2 uses eps 1e-6
          expect(g.metadata.get(key), key).toEqual(want);
        }
        expect(g.metadata.get('general.architecture')).toBe(arch);
        expect(g.metadata.get('general.alignment')).toBe(32);
        expect(g.metadata.get(`${arch}.rope.freq_base`)).toBe(arch === 'qwen2' ? 1_000_000 : 10_000);
        expect(g.metadata.get(`${arch}.attention.layer_norm_rms_epsilon`)).toBeCloseTo(arch === 'qwen2' ? 1e-6 : 1e-5, 12);
      } finally {
        await g.close();
        await ref.close();
      }
    });
  }

  for (const [arch, opts, shared] of [
    ['llama3', { arch: 'llama3', dim: 256, layers: 4, heads: 8, kvHeads: 2, ffn: 512, vocab: 512, type: GgmlType.F32 }, 'synth-llama3-256.gguf'],
    ['gemma2', { arch: 'gemma2', dim: 128, layers: 26, heads: 4, kvHeads: 2, ffn: 256, vocab: 512, type: GgmlType.F32, window: 16 }, 'synth-gemma2-128.gguf'],
    ['phi3', { arch: 'phi3', dim: 256, layers: 4, heads: 8, kvHeads: 8, ffn: 512, vocab: 512, type: GgmlType.F32, window: 16 }, 'synth-phi3-256.gguf'],
  ] as const) {
    it.skipIf(missingShared('new-archs', 'models', shared))(`${arch}: same tensors, shapes and hyper-parameters as the llama.cpp-made new-archs/${shared}`, async () => {
      const g = await synth(`${arch}.gguf`, opts);
      const ref = await GgufFile.open(sharedPath('new-archs', 'models', shared));
      try {
        const shape = (f: GgufFile) => new Map(f.tensors.map((t) => [t.name, `${t.dims.join('x')}:${t.type}`]));
        expect(shape(g)).toEqual(shape(ref));
        const gguf = ref.metadata.get('general.architecture') as string;
        expect(g.metadata.get('general.architecture')).toBe(gguf);
        for (const key of [...ref.metadata.keys()].filter((k) => k.startsWith(`${gguf}.`))) expect(g.metadata.get(key), key).toEqual(ref.metadata.get(key));
        expect([...g.metadata.keys()].filter((k) => k.startsWith(`${gguf}.`)).sort()).toEqual([...ref.metadata.keys()].filter((k) => k.startsWith(`${gguf}.`)).sort());
      } finally {
        await g.close();
        await ref.close();
      }
    });
  }

  it.skipIf(missingShared('new-archs', 'models', 'synth-llama3-256.gguf'))("llama3: rope_freqs is Meta's Llama 3 scaling (the shared file's: factor 8, low 1, high 4, original context 8192)", async () => {
    const ref = await GgufFile.open(sharedPath('new-archs', 'models', 'synth-llama3-256.gguf'));
    try {
      expect(Array.from(f32(await ref.readTensor(ref.tensor('rope_freqs.weight')!)))).toEqual(Array.from(llama3RopeFreqs(32, 500000, 8, 1, 4, 8192)));
    } finally {
      await ref.close();
    }
    // Llama 3.2's factor 32 by default: 1 at high frequencies, 32 at the lowest, smooth between
    const f = llama3RopeFreqs(64, 500000);
    expect(f[0]).toBe(1);
    expect(f[31]).toBe(32);
    for (let i = 1; i < 32; i++) expect(f[i]).toBeGreaterThanOrEqual(f[i - 1]!);
  });

  it('refuses shapes llama.cpp would not load: gemma2 layer counts, phi3 attention width, windows where there are none', () => {
    const base = { out: join(dir, 'bad.gguf'), dim: 128, heads: 4, ffn: 256, vocab: 300 };
    expect(() => synthTensorPlan({ ...base, arch: 'gemma2', layers: 4 })).toThrow(/gemma2 with 4 layers would not load in llama\.cpp \(it knows 26, 42, 46 layers\)/);
    expect(() => synthTensorPlan({ ...base, arch: 'phi3', layers: 2, headDim: 64 })).toThrow(/phi3 needs heads x head dim = dim/);
    expect(() => synthTensorPlan({ ...base, arch: 'llama3', layers: 2, window: 16 })).toThrow(/llama3 has no sliding window/);
    // gemma2 with its own head dim: q is heads x head dim wide, not dim
    const plan = synthTensorPlan({ ...base, arch: 'gemma2', layers: 26, heads: 2, kvHeads: 1, headDim: 96 });
    expect(plan.find((t) => t.name === 'blk.0.attn_q.weight')?.dims).toEqual([128, 192]);
    expect(plan.find((t) => t.name === 'blk.0.attn_output.weight')?.dims).toEqual([192, 128]);
    expect(plan.some((t) => t.name === 'output.weight')).toBe(false);
  });

  for (const arch of ['llama3', 'gemma2', 'phi3'] as const) {
    it(`${arch}: the written file loads and runs (quantized, greedy tokens from a prompt)`, async () => {
      const opts = { arch, dim: 64, layers: arch === 'gemma2' ? 26 : 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, type: GgmlType.Q8_0, window: arch === 'llama3' ? undefined : 4 };
      const g = await synth(`${arch}-run.gguf`, opts);
      const backend = new CpuBackend();
      try {
        const model = await Model.load(g, backend);
        const cache = model.createKvCache(1, 16);
        const logits = await model.forward({ tokens: Int32Array.of(1, 50, 60, 70, 80, 90), slots: new Int32Array(6), positions: Int32Array.of(0, 1, 2, 3, 4, 5), logitRows: Int32Array.of(5) }, cache);
        expect(logits.length).toBe(300);
        expect(logits.every((v) => Number.isFinite(v))).toBe(true);
        backend.release(cache);
        model.dispose();
        expect(backend.memoryInUse()).toBe(0);
      } finally {
        await g.close();
      }
    });
  }

  it('llama: an SPM vocab with <unk>, <s>, </s>, 256 byte tokens, then scored pieces', async () => {
    const g = await synth('llama-vocab.gguf', { ...LLAMA_256, layers: 1, vocab: 1000 });
    try {
      const md = g.metadata;
      expect(md.get('tokenizer.ggml.model')).toBe('llama');
      const tokens = md.get('tokenizer.ggml.tokens') as string[];
      const types = md.get('tokenizer.ggml.token_type') as number[];
      const scores = md.get('tokenizer.ggml.scores') as number[];
      expect(tokens.length).toBe(1000);
      expect(types.length).toBe(1000);
      expect(scores.length).toBe(1000);
      expect(tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>']);
      expect(types.slice(0, 3)).toEqual([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]);
      expect(tokens[3]).toBe('<0x00>');
      expect(tokens[3 + 0x0a]).toBe('<0x0A>');
      expect(tokens[258]).toBe('<0xFF>');
      expect(types.slice(3, 259).every((t) => t === TokenType.BYTE)).toBe(true);
      expect(types.slice(259).every((t) => t === TokenType.NORMAL)).toBe(true);
      expect(new Set(tokens).size).toBe(1000);
      expect(tokens.slice(259, 262)).toEqual(['▁', 'a', 'b']);
      expect(tokens).toContain('▁a');
      expect(tokens).toContain('▁ab');
      expect(tokens).toContain('ab');
      for (let i = 260; i < 1000; i++) expect(scores[i]).toBeLessThan(scores[i - 1]!);
      expect([md.get('tokenizer.ggml.bos_token_id'), md.get('tokenizer.ggml.eos_token_id'), md.get('tokenizer.ggml.unknown_token_id')]).toEqual([1, 2, 0]);
      expect(md.has('tokenizer.chat_template')).toBe(false);
    } finally {
      await g.close();
    }
  });

  it('qwen2: a byte-level BPE vocab whose every merge joins two tokens into a third', () => {
    const v = synthBpeVocab(5000);
    expect(v.tokens.length).toBe(5000);
    expect(new Set(v.tokens).size).toBe(5000);
    const bytes = gpt2ByteChars();
    expect(v.tokens.slice(0, 256)).toEqual(bytes);
    expect(bytes[0]).toBe('!');
    expect(bytes).toContain('Ġ'); // space
    expect(bytes).toContain('Ċ'); // newline
    expect(v.merges!.length).toBe(5000 - 256 - 3);
    const ids = new Map(v.tokens.map((t, i) => [t, i]));
    for (const [rank, m] of v.merges!.entries()) {
      const [l, r, ...rest] = m.split(' ');
      expect(rest, m).toEqual([]);
      expect(ids.has(l!) && ids.has(r!), m).toBe(true);
      // the merged token exists and comes after both parts
      expect(ids.get(l! + r!), m).toBe(256 + rank);
    }
    expect(v.tokens.slice(-3)).toEqual(['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    expect(v.tokenTypes.slice(-3)).toEqual([TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL]);
    expect(v.bos).toBe(4997);
    expect(v.eos).toBe(4999);
    expect(v.tokens).toContain('Ġabc');
    expect(v.tokens).toContain('abc');
  });

  it('qwen2: writes gpt2 model, qwen2 pre-tokenizer, merges, ChatML template and Q/K/V biases', async () => {
    const g = await synth('qwen2-vocab.gguf', { ...QWEN2_256, layers: 1, vocab: 700 });
    try {
      const md = g.metadata;
      expect(md.get('tokenizer.ggml.model')).toBe('gpt2');
      expect(md.get('tokenizer.ggml.pre')).toBe('qwen2');
      expect((md.get('tokenizer.ggml.merges') as string[]).length).toBe(700 - 259);
      expect(md.get('tokenizer.ggml.eos_token_id')).toBe(699);
      expect(md.get('tokenizer.chat_template')).toContain('<|im_start|>');
      expect(md.has('tokenizer.ggml.scores')).toBe(false);
      expect(g.tensor('blk.0.attn_q.bias')).toMatchObject({ dims: [256], type: GgmlType.F32 });
      expect(g.tensor('blk.0.attn_k.bias')).toMatchObject({ dims: [64], type: GgmlType.F32 });
      expect(g.tensor('blk.0.attn_v.bias')).toMatchObject({ dims: [64], type: GgmlType.F32 });
    } finally {
      await g.close();
    }
  });

  it('SPM vocab generator gives exactly the requested size', () => {
    expect(synthSpmVocab(259).tokens.length).toBe(259);
    expect(synthSpmVocab(32000).tokens.length).toBe(32000);
    expect(new Set(synthSpmVocab(32000).tokens).size).toBe(32000);
  });
});

describe('synthetic weights', () => {
  it('are roughly normal with std 1/sqrt(row length); norms around 1', async () => {
    const g = await synth('stats.gguf', { ...LLAMA_256, layers: 1, ffn: 512 });
    try {
      const up = stats(f32(await g.readTensor(g.tensor('blk.0.ffn_up.weight')!)));
      expect(Math.abs(up.mean)).toBeLessThan(0.002);
      expect(up.std).toBeCloseTo(1 / 16, 3);
      expect(up.maxAbs).toBeLessThanOrEqual((Math.sqrt(3) * 2) / 16 + 1e-6);
      const down = stats(f32(await g.readTensor(g.tensor('blk.0.ffn_down.weight')!)));
      expect(down.std).toBeCloseTo(1 / Math.sqrt(512), 3);
      const norm = stats(f32(await g.readTensor(g.tensor('blk.0.attn_norm.weight')!)));
      expect(norm.mean).toBeCloseTo(1, 1);
      expect(norm.std).toBeGreaterThan(0.05);
      expect(norm.std).toBeLessThan(0.15);
    } finally {
      await g.close();
    }
  });

  it('depend only on the seed', async () => {
    const opts = { ...LLAMA_256, layers: 1, vocab: 300 };
    await writeSynthModel({ ...opts, out: join(dir, 'a.gguf'), seed: 7 });
    await writeSynthModel({ ...opts, out: join(dir, 'b.gguf'), seed: 7 });
    await writeSynthModel({ ...opts, out: join(dir, 'c.gguf'), seed: 8 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => readFile(join(dir, `${n}.gguf`))));
    expect(a!.equals(b!)).toBe(true);
    expect(a!.length).toBe(c!.length);
    expect(a!.equals(c!)).toBe(false);
  });

  it('quantize the same values as F32 across row chunks (token_embd spans several)', async () => {
    // 256 x 9000 = 2.3M elements: three generation chunks
    const opts = { ...LLAMA_256, layers: 1, vocab: 9000 };
    const ref = await synth('embd-f32.gguf', opts);
    const q = await synth('embd-q8.gguf', { ...opts, type: GgmlType.Q8_0 });
    try {
      const want = f32(await ref.readTensor(ref.tensor('token_embd.weight')!));
      const t = q.tensor('token_embd.weight')!;
      expect(t.type).toBe(GgmlType.Q8_0);
      const got = dequantizeTensor(t.type, await q.readTensor(t), t.nElements);
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      // Q8_0 error is at most half a step of max|x|/127 per block
      expect(maxErr).toBeLessThan((2 * Math.sqrt(3)) / 16 / 127);
      expect(maxErr).toBeGreaterThan(0);
    } finally {
      await ref.close();
      await q.close();
    }
  });

  it('report progress up to the total number of tensor bytes', async () => {
    const seen: SynthProgress[] = [];
    const g = await synth('progress.gguf', { ...LLAMA_256, layers: 2, type: GgmlType.F16 }, (p) => seen.push(p));
    try {
      const total = g.tensors.reduce((s, t) => s + t.nbytes, 0);
      expect(seen.length).toBeGreaterThanOrEqual(g.tensors.length);
      expect(seen.every((p) => p.totalBytes === total && p.count === g.tensors.length)).toBe(true);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytesWritten).toBeGreaterThan(seen[i - 1]!.bytesWritten);
      expect(seen.at(-1)).toMatchObject({ bytesWritten: total, index: g.tensors.length - 1, tensor: 'output.weight' });
      expect(g.tensor('blk.1.ffn_up.weight')!.type).toBe(GgmlType.F16);
      expect(g.tensor('blk.1.ffn_norm.weight')!.type).toBe(GgmlType.F32);
    } finally {
      await g.close();
    }
  });
});

describe('type fallback for rows that do not fill a block', () => {
  it('follows llama-quantize, then F16', () => {
    expect(fallbackType(GgmlType.Q4_K, 256)).toBe(GgmlType.Q4_K);
    expect(fallbackType(GgmlType.Q4_K, 96)).toBe(GgmlType.Q5_0);
    expect(fallbackType(GgmlType.Q5_K, 96)).toBe(GgmlType.Q5_1);
    expect(fallbackType(GgmlType.Q6_K, 96)).toBe(GgmlType.Q8_0);
    expect(fallbackType(GgmlType.Q2_K, 96)).toBe(GgmlType.IQ4_NL);
    expect(fallbackType(GgmlType.Q3_K, 96)).toBe(GgmlType.IQ4_NL);
    expect(fallbackType(GgmlType.Q6_K, 100)).toBe(GgmlType.F16);
    expect(fallbackType(GgmlType.Q4_0, 100)).toBe(GgmlType.F16);
    expect(fallbackType(GgmlType.BF16, 7)).toBe(GgmlType.BF16);
    // a fallback this build cannot write is skipped
    expect(fallbackType(GgmlType.Q2_K, 96, (t) => t !== GgmlType.IQ4_NL)).toBe(GgmlType.F16);
  });

  it('applies per tensor: only ffn_down (rows of --ffn) falls back', () => {
    const plan = synthTensorPlan({ ...LLAMA_256, ffn: 96, type: GgmlType.Q4_K, out: 'unused' });
    const types = new Map(plan.map((t) => [t.name, t.type]));
    expect(types.get('blk.0.ffn_down.weight')).toBe(GgmlType.Q5_0);
    expect(types.get('blk.0.ffn_up.weight')).toBe(GgmlType.Q4_K);
    expect(types.get('output.weight')).toBe(GgmlType.Q4_K);
    expect(types.get('output_norm.weight')).toBe(GgmlType.F32);
  });
});

describe('synth options', () => {
  it('rejects impossible shapes with InvalidRequestError', async () => {
    const bad: Partial<SynthOptions>[] = [
      { dim: 250 }, // not a multiple of 8 heads
      { kvHeads: 3 },
      { vocab: 258 },
      { layers: 0 },
      { dim: 24, heads: 8, kvHeads: 8 }, // head dim 3 is odd
      { arch: 'gpt2' as 'llama' },
    ];
    for (const b of bad) {
      await expect(writeSynthModel({ ...LLAMA_256, ...b, out: join(dir, 'never.gguf') }), JSON.stringify(b)).rejects.toBeInstanceOf(InvalidRequestError);
    }
  });
});
