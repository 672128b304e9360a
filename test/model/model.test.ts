import { describe, expect, it } from 'vitest';
import type { KvCache } from '../../src/backends/backend.ts';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { UnsupportedModelError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { getArchitecture } from '../../src/model/arch/index.ts';
import { readHParams } from '../../src/model/hparams.ts';
import { Model } from '../../src/model/model.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import { readOracle } from './oracle-runner.ts';
import { decodeRowLogits } from '../helpers/batch-invariance.ts';

describe('architecture registry', () => {
  it('knows llama (normal rope) and qwen2 (neox rope, Q/K/V biases)', () => {
    expect(getArchitecture('llama')).toMatchObject({ rope: 'normal', qkvBias: false });
    expect(getArchitecture('qwen2')).toMatchObject({ rope: 'neox', qkvBias: true });
  });

  it('describes phi3 and gemma2 as data: fused projections, activation, norms, windows, scales', () => {
    expect(getArchitecture('phi3')).toMatchObject({ rope: 'neox', fusedQkv: true, fusedGateUp: true, windowLayers: 'all', activation: 'silu', output: 'required' });
    expect(getArchitecture('gemma2')).toMatchObject({ rope: 'neox', activation: 'gelu', postNorms: true, embedScale: true, output: 'tied', windowLayers: 'even', softcaps: true });
  });

  it('names the supported architectures when it meets another', () => {
    expect(() => getArchitecture('gpt2')).toThrow(UnsupportedModelError);
    expect(() => getArchitecture('gpt2')).toThrow(/"gpt2" is not supported; supported architectures: llama, qwen2, phi3, gemma2/);
  });
});

describe('hparams', () => {
  const meta = (entries: Record<string, number | string>) => ({
    path: 'fake.gguf',
    metadata: new Map(Object.entries(entries)),
    tensor: (name: string) => (name === 'token_embd.weight' ? { name, dims: [64, 100], type: 0, offset: 0, nbytes: 0, nElements: 6400 } : undefined),
  });
  const base = {
    'general.architecture': 'llama',
    'llama.embedding_length': 64,
    'llama.block_count': 2,
    'llama.attention.head_count': 8,
    'llama.feed_forward_length': 128,
    'llama.context_length': 512,
    'llama.attention.layer_norm_rms_epsilon': 1e-5,
  };

  it('applies llama.cpp defaults: KV heads = heads, head dim = dim/heads, rope dims = head dim, base 10000', () => {
    expect(readHParams(meta(base))).toMatchObject({ vocabSize: 100, nKvHeads: 8, headDim: 8, ropeDim: 8, freqBase: 10000, freqScale: 1 });
  });

  it('turns linear rope scaling into freqScale = 1/factor and refuses other kinds', () => {
    expect(readHParams(meta({ ...base, 'llama.rope.scaling.type': 'linear', 'llama.rope.scaling.factor': 4 })).freqScale).toBe(0.25);
    expect(() => readHParams(meta({ ...base, 'llama.rope.scaling.type': 'yarn', 'llama.rope.scaling.factor': 4 }))).toThrow(/rope scaling "yarn" is not supported/);
  });

  it('names a missing key', () => {
    const { ['llama.feed_forward_length']: _, ...rest } = base;
    expect(() => readHParams(meta(rest))).toThrow(/llama\.feed_forward_length is missing/);
  });

  it('refuses, by name, keys that would change the computation', () => {
    for (const [k, v] of [
      ['llama.attention.layer_norm_epsilon', 1e-5],
      ['llama.expert_count', 8],
      ['llama.logit_scale', 0.5],
      ['llama.attention.sliding_window', 64],
      ['llama.attn_logit_softcapping', 50],
      ['llama.rope.scaling.attn_factor', 1.2],
      ['llama.attention.value_length', 16],
    ] as const) {
      expect(() => readHParams(meta({ ...base, [k]: v })), k).toThrow(UnsupportedModelError);
      expect(() => readHParams(meta({ ...base, [k]: v })), k).toThrow(k);
    }
    // keys that do not change anything are read past
    expect(readHParams(meta({ ...base, 'llama.vocab_size': 100, 'llama.expert_count': 0, 'llama.rope.scaling.finetuned': 0 })).dim).toBe(64);
  });

  it('reads the scales, windows and soft-caps llama.cpp applies (llama: 1/sqrt(head dim) in the softmax)', () => {
    expect(readHParams(meta(base))).toMatchObject({ kqScale: Math.fround(1 / Math.sqrt(8)), queryScale: undefined, embedScale: undefined, slidingWindow: 0, attnSoftcap: 0, finalSoftcap: 0 });
    const g = (extra: Record<string, number>) =>
      readHParams(
        meta({
          ...Object.fromEntries(Object.entries(base).map(([k, v]) => [k.replace(/^llama\./, 'gemma2.'), v])),
          'general.architecture': 'gemma2',
          'gemma2.block_count': 26,
          'gemma2.attention.head_count': 4,
          'gemma2.attention.key_length': 32,
          ...extra,
        }),
      );
    // gemma2's defaults: window 4096, soft-caps 50 and 30; q scaled by 1/sqrt(head dim) at 26 layers, by 1/sqrt(dim/heads) at 46
    expect(g({})).toMatchObject({ slidingWindow: 4096, attnSoftcap: 50, finalSoftcap: 30, kqScale: 1, queryScale: Math.fround(1 / Math.sqrt(32)), embedScale: Math.fround(8) });
    expect(g({ 'gemma2.attention.sliding_window': 16, 'gemma2.final_logit_softcapping': 25 })).toMatchObject({ slidingWindow: 16, finalSoftcap: 25 });
    expect(g({ 'gemma2.block_count': 46 }).queryScale).toBe(Math.fround(1 / Math.sqrt(16)));
    expect(() => g({ 'gemma2.block_count': 18 })).toThrow(/gemma2 with 18 layers is not supported/);
    const p = (extra: Record<string, number>) =>
      readHParams(meta({ ...Object.fromEntries(Object.entries(base).map(([k, v]) => [k.replace(/^llama\./, 'phi3.'), v])), 'general.architecture': 'phi3', ...extra }));
    expect(p({ 'phi3.attention.sliding_window': 2047 })).toMatchObject({ slidingWindow: 2047, queryScale: Math.fround(1 / Math.sqrt(8)), kqScale: 1 });
    // older Phi-3 conversions without the key: llama.cpp's defaults by shape, else refused
    expect(p({ 'phi3.block_count': 32, 'phi3.context_length': 4096 }).slidingWindow).toBe(2047);
    expect(() => p({})).toThrow(/phi3\.attention\.sliding_window is missing/);
  });
});

const skip = missingShared('models', 'stories260K.gguf');

describe.skipIf(skip !== undefined)('Model on stories260K', () => {
  const load = async () => {
    const file = await GgufFile.open(sharedPath('models', 'stories260K.gguf'));
    const backend = new CpuBackend();
    const model = await Model.load(file, backend);
    await file.close();
    return { model, backend };
  };
  const argmax = (l: Float32Array, off: number, n: number) => {
    let best = 0;
    for (let i = 1; i < n; i++) if (l[off + i]! > l[off + best]!) best = i;
    return best;
  };

  it('reads its hyper-parameters from the file', async () => {
    const { model } = await load();
    expect(model.hparams).toMatchObject({ arch: 'llama', vocabSize: 512, dim: 64, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, ffnDim: 172, ropeDim: 8 });
    model.dispose();
  });

  it('continues "Once upon a time" with ", there was a little girl named Lily. She loved to play outside in the park."', async () => {
    const oracle = readOracle(sharedPath('oracle', 'stories260K.json'));
    const c = oracle.cases.find((x) => x.prompt === 'Once upon a time')!;
    expect(c.completion.startsWith(', there was a little girl named Lily. She loved to play outside in the p')).toBe(true);
    const { model, backend } = await load();
    const cache = model.createKvCache(1, 64);
    const p = c.prompt_tokens;
    let logits = await model.forward(
      { tokens: Int32Array.from(p), slots: new Int32Array(p.length), positions: Int32Array.from(p, (_, i) => i), logitRows: Int32Array.of(p.length - 1) },
      cache,
    );
    const out: number[] = [];
    for (let step = 0; step < c.tokens.length; step++) {
      const t = argmax(logits, 0, 512);
      out.push(t);
      logits = await model.forward({ tokens: Int32Array.of(t), slots: Int32Array.of(0), positions: Int32Array.of(p.length + step), logitRows: Int32Array.of(0) }, cache);
    }
    expect(out).toEqual(c.tokens);
    backend.release(cache);
    model.dispose();
    expect(backend.memoryInUse()).toBe(0);
  });

  it('gives a prompt the same logits beside another sequence, and nearly the same token by token', async () => {
    const { model, backend } = await load();
    const p = [1, 403, 407, 261, 378];
    const other = [1, 291, 376];
    const forward = (cache: KvCache, rows: number[][], pick: number[]): Promise<Float32Array> =>
      model.forward(
        { tokens: Int32Array.from(rows, (r) => r[0]!), slots: Int32Array.from(rows, (r) => r[1]!), positions: Int32Array.from(rows, (r) => r[2]!), logitRows: Int32Array.from(pick) },
        cache,
      );
    const batchCache = model.createKvCache(1, 16);
    const whole = await forward(batchCache, p.map((t, i) => [t, 0, i]), [4]);
    // Slot 1 holds the prompt, slot 0 another sequence; rows interleaved in one batch. Each output
    // of a batched op depends on its own row only, so the other sequence changes nothing.
    const mixedCache = model.createKvCache(2, 16);
    const rows = [...p.map((t, i) => [t, 1, i]), ...other.map((t, i) => [t, 0, i])].sort((a, b) => a[2]! - b[2]!);
    const mixed = await forward(mixedCache, rows, [rows.findIndex((r) => r[1] === 1 && r[2] === 4)]);
    expect(Array.from(mixed)).toEqual(Array.from(whole));
    // Token by token runs llama.cpp's single-row kernels (ggml vec_dot, not tinyBLAS), which sum in
    // another order: the logits agree to float rounding, not bit for bit.
    const stepCache = model.createKvCache(1, 16);
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < p.length; i++) last = await forward(stepCache, [[p[i]!, 0, i]], [0]);
    let maxDiff = 0;
    for (let i = 0; i < 512; i++) maxDiff = Math.max(maxDiff, Math.abs(last[i]! - whole[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
    for (const c of [batchCache, stepCache, mixedCache]) backend.release(c);
    model.dispose();
    expect(backend.memoryInUse()).toBe(0);
  });

  it('gives a decode row the same logits alone as beside other sequences decoding or prefilling', async () => {
    // llama.cpp picks its single-row kernel for a sequence's lone row; the CPU backend picks per row
    // (Backend.describeBatch), so continuous batching never changes a sequence's arithmetic.
    const { model, backend } = await load();
    const run = (extra: number[][]): Promise<Float32Array> => decodeRowLogits(model, extra);
    const alone = await run([]);
    const withDecode = await run([[1, 1, 0]]);
    const withPrefill = await run([[1, 2, 0], [403, 2, 1], [407, 2, 2]]);
    expect(Array.from(withDecode)).toEqual(Array.from(alone));
    expect(Array.from(withPrefill)).toEqual(Array.from(alone));
    model.dispose();
    expect(backend.memoryInUse()).toBe(0);
  });

  it('rejects rows outside the vocabulary, the cache or the batch', async () => {
    const { model } = await load();
    const cache = model.createKvCache(1, 4);
    const one = (tokens: number, slot: number, pos: number, row = 0) =>
      model.forward({ tokens: Int32Array.of(tokens), slots: Int32Array.of(slot), positions: Int32Array.of(pos), logitRows: Int32Array.of(row) }, cache);
    await expect(one(512, 0, 0)).rejects.toThrow(/token 512 .* vocabulary of 512/);
    await expect(one(1, 1, 0)).rejects.toThrow(/slot 1/);
    await expect(one(1, 0, 4)).rejects.toThrow(/position 4 .* context of 4/);
    await expect(one(1, 0, 0, 1)).rejects.toThrow(/logit row 1/);
    model.dispose();
  });
});
