import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/commands/synth.ts';
import { InvalidRequestError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { GgmlType } from '../../src/gguf/types.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rocforge-synth-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function synth(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  try {
    const code = await run(argv);
    return { code, out: out.join('\n'), err: err.join('') };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('rocforge synth', () => {
  it('writes the model the flags describe, with progress on stderr', async () => {
    const path = join(dir, 'm.gguf');
    const r = await synth('--arch', 'llama', '--dim', '128', '--layers', '3', '--heads', '8', '--kv-heads', '2', '--ffn', '384',
      '--vocab', '600', '--type', 'q4_0', '--ctx', '512', '--seed', '42', '-o', path);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote .*m\.gguf: llama, [\d.]+M parameters, 30 tensors \(23 Q4_0, 7 F32\)/);
    expect(r.err).toMatch(/100\.0%/);
    const g = await GgufFile.open(path);
    try {
      expect(g.metadata.get('llama.context_length')).toBe(512);
      expect(g.metadata.get('llama.block_count')).toBe(3);
      expect(g.metadata.get('llama.attention.head_count_kv')).toBe(2);
      expect(g.metadata.get('llama.rope.dimension_count')).toBe(16);
      expect(g.metadata.get('general.name')).toBe('synth-llama-128');
      expect(g.tensor('blk.2.attn_k.weight')).toMatchObject({ dims: [128, 32], type: GgmlType.Q4_0 });
      expect(g.tensor('output.weight')).toMatchObject({ dims: [128, 600], type: GgmlType.Q4_0 });
      expect((await stat(path)).size).toBe(g.header.fileSize);
    } finally {
      await g.close();
    }
  });

  it('writes gemma2 with its own head dimension and window, and phi3 with fused projections', async () => {
    const g2 = join(dir, 'g2.gguf');
    expect((await synth('--arch', 'gemma2', '--dim', '96', '--layers', '26', '--heads', '2', '--kv-heads', '1', '--head-dim', '64', '--ffn', '128', '--vocab', '300', '--window', '32', '-q', '-o', g2)).code).toBe(0);
    const g = await GgufFile.open(g2);
    try {
      expect(g.metadata.get('general.architecture')).toBe('gemma2');
      expect(g.metadata.get('gemma2.attention.key_length')).toBe(64);
      expect(g.metadata.get('gemma2.attention.sliding_window')).toBe(32);
      expect(g.tensor('blk.25.attn_q.weight')).toMatchObject({ dims: [96, 128] });
      expect(g.tensor('blk.0.post_ffw_norm.weight')).toMatchObject({ dims: [96] });
      expect(g.tensor('output.weight')).toBeUndefined();
    } finally {
      await g.close();
    }
    const p3 = join(dir, 'p3.gguf');
    expect((await synth('--arch', 'phi3', '--dim', '64', '--layers', '1', '--heads', '4', '--kv-heads', '2', '--ffn', '96', '--vocab', '300', '-q', '-o', p3)).code).toBe(0);
    const p = await GgufFile.open(p3);
    try {
      expect(p.metadata.get('phi3.attention.sliding_window')).toBe(2047);
      expect(p.tensor('blk.0.attn_qkv.weight')).toMatchObject({ dims: [64, 64 + 2 * 32] });
      expect(p.tensor('blk.0.ffn_up.weight')).toMatchObject({ dims: [64, 192] });
    } finally {
      await p.close();
    }
  });

  it('--quiet prints no progress; --no-chat-template drops the template', async () => {
    const path = join(dir, 'q.gguf');
    const r = await synth('--arch', 'qwen2', '--dim', '64', '--layers', '1', '--heads', '4', '--ffn', '128', '--vocab', '300',
      '--no-chat-template', '-q', '--name', 'tiny', '-o', path);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const g = await GgufFile.open(path);
    expect(g.metadata.has('tokenizer.chat_template')).toBe(false);
    expect(g.metadata.get('general.name')).toBe('tiny');
    expect(g.tensor('blk.0.ffn_up.weight')?.type).toBe(GgmlType.F16); // the default type
    await g.close();
  });

  it('explains bad flags with InvalidRequestError', async () => {
    const base = ['--arch', 'llama', '--dim', '64', '--layers', '1', '--heads', '4', '--ffn', '128', '--vocab', '300', '-o', join(dir, 'x.gguf')];
    await expect(run(base.filter((a) => a !== '--dim' && a !== '64'))).rejects.toThrow(/--dim is required/);
    await expect(run([...base, '--type', 'Q9_9'])).rejects.toThrow(/unknown --type Q9_9; one of: F32, F16/);
    await expect(run([...base, '--heads', 'four'])).rejects.toThrow(/--heads must be an integer/);
    await expect(run([...base, '--kv-heads', '3'])).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(run([...base.slice(0, -2)])).rejects.toThrow(/-o\/--out is required/);
    await expect(run(['--arch', 'mamba'])).rejects.toThrow(/--arch must be llama, qwen2, llama3, gemma2 or phi3/);
    expect((await synth('--help')).out).toMatch(/--kv-heads N/);
  });
});
