import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run, type GgufSummary } from '../../src/cli/commands/info.ts';
import { GgufError, InvalidRequestError } from '../../src/errors.ts';
import { GgmlType } from '../../src/gguf/types.ts';
import { writeSynthModel } from '../../src/model/synth.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rocforge-info-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `rocforge info` and returns its exit code and stdout. */
async function info(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const code = await run(argv);
  vi.restoreAllMocks();
  return { code, out: lines.join('\n') };
}

describe('rocforge info', () => {
  it.skipIf(missingShared('models', 'stories260K-Q4_K_M.gguf'))('describes a model in text', async () => {
    const { code, out } = await info(sharedPath('models', 'stories260K-Q4_K_M.gguf'));
    expect(code).toBe(0);
    expect(out).toMatch(/^architecture:\s+llama$/m);
    expect(out).toMatch(/^size:\s+296\.97 KiB \(304096 bytes\), GGUF v3, alignment 32$/m);
    expect(out).toMatch(/^\s+embedding_length\s+64$/m);
    expect(out).toMatch(/^\s+block_count\s+5$/m);
    expect(out).toMatch(/^\s+attention\.layer_norm_rms_epsilon\s+0\.00001$/m);
    expect(out).toMatch(/^\s+vocab size\s+512$/m);
    expect(out).toMatch(/^\s+bos \/ eos\s+1 "<s>" \/ 2 "<\/s>"$/m);
    expect(out).toMatch(/^\s+chat template\s+no$/m);
    expect(out).toMatch(/^tensors:\s+48 \(/m);
    expect(out).toMatch(/^\s+Q5_0\s+29 tensors/m);
  });

  it.skipIf(missingShared('models', 'stories260K-Q4_K_M.gguf'))('--json gives the same facts to machines', async () => {
    const { code, out } = await info('--json', sharedPath('models', 'stories260K-Q4_K_M.gguf'));
    expect(code).toBe(0);
    const s = JSON.parse(out) as GgufSummary;
    expect(s.architecture).toBe('llama');
    expect(s.fileSize).toBe(304096);
    expect(s.hparams['attention.head_count_kv']).toBe(4);
    expect(s.tokenizer).toEqual({ model: 'llama', pre: null, vocabSize: 512, bos: { id: 1, token: '<s>' }, eos: { id: 2, token: '</s>' }, merges: 0, hasChatTemplate: false });
    expect(s.tensors.count).toBe(48);
    expect(Object.keys(s.tensors.byType).sort()).toEqual(['F16', 'F32', 'Q5_0', 'Q8_0']);
    const sum = Object.values(s.tensors.byType).reduce((a, t) => a + t.bytes, 0);
    expect(sum).toBe(s.tensors.bytes);
    expect(s.tensors.bytes).toBeLessThan(s.fileSize);
    expect(Object.values(s.tensors.byType).reduce((a, t) => a + t.tensors, 0)).toBe(48);
  });

  it.skipIf(missingShared('vocab', 'ggml-vocab-gpt-2.gguf'))('works on vocab-only files', async () => {
    const s = JSON.parse((await info('--json', sharedPath('vocab', 'ggml-vocab-gpt-2.gguf'))).out) as GgufSummary;
    expect(s.tensors).toEqual({ count: 0, parameters: 0, bytes: 0, byType: {} });
    expect(s.tokenizer.model).toBe('gpt2');
    expect(s.tokenizer.vocabSize).toBe(50257);
    expect(s.tokenizer.merges).toBe(50000);
    expect(s.tokenizer.eos).toEqual({ id: 50256, token: '<|endoftext|>' });
  });

  it('reports a synthetic qwen2 model with its chat template and tensor types', async () => {
    const path = join(dir, 'q.gguf');
    await writeSynthModel({ arch: 'qwen2', out: path, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 96, vocab: 400, type: GgmlType.Q8_0 });
    const s = JSON.parse((await info('--json', path)).out) as GgufSummary;
    expect(s.architecture).toBe('qwen2');
    expect(s.tokenizer.hasChatTemplate).toBe(true);
    expect(s.tokenizer.pre).toBe('qwen2');
    expect(s.tokenizer.eos).toEqual({ id: 399, token: '<|im_end|>' });
    // 2 blocks x 7 matrices + token_embd + output, all rows multiples of 32
    expect(s.tensors.byType.Q8_0?.tensors).toBe(16);
    expect(s.tensors.byType.F32?.tensors).toBe(2 * 5 + 1);
    expect(s.tensors.parameters).toBe(2 * 400 * 64 + 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 96 + 64 * 2 + 64 + 32 * 2) + 64);
  });

  it('rejects a corrupt file with GgufError and bad usage with InvalidRequestError', async () => {
    const bad = join(dir, 'bad.gguf');
    await writeFile(bad, Buffer.from('GGUF\x03\x00\x00\x00garbage'));
    await expect(run([bad])).rejects.toBeInstanceOf(GgufError);
    await expect(run([])).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(run(['--bogus', bad])).rejects.toBeInstanceOf(InvalidRequestError);
    expect((await info('--help')).out).toMatch(/^usage: rocforge info/);
  });
});
