// `rocforge diff` through the CLI's main: exit codes (0 pass, 1 a bound exceeded or a wrong oracle
// case, 2 usage), the files it writes, and --oracle. "hip" is mocked here as a CPU backend with a
// planted rope bug, so that the failing path runs on any machine.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.ts';
import { main } from '../../src/cli/main.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import { brokenRope } from './broken-backends.ts';

vi.mock('../../src/backends/index.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/backends/index.ts')>();
  return {
    ...real,
    createBackend: async (name: string, opts?: { numerics?: 'exact' | 'fast' }) =>
      name === 'hip' ? brokenRope(new CpuBackend()) : name === 'webgpu' ? new CpuBackend() : real.createBackend(name as 'cpu', opts),
  };
});

const skip = missingShared('oracle', 'stories260K.json');
const model = sharedPath('models', 'stories260K.gguf');
let out: string[];
let err: string[];
let stdout: string[];

beforeEach(() => {
  out = [];
  err = [];
  stdout = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (stdout.push(String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe.skipIf(skip !== undefined)('rocforge diff', () => {
  it('exit 0 when the backends agree, and the JSON and HTML files are written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rocforge-diff-'));
    // "webgpu" is a second CPU engine under this test's mock.
    const code = await main(['diff', '-m', model, '--backends', 'cpu,webgpu', '-p', 'Once upon a time', '--steps', '3', '--json', join(dir, 'r.json'), '--html', join(dir, 'r.html')]);
    expect(code, err.join('\n')).toBe(0);
    expect(out.join('\n')).toMatch(/webgpu vs cpu: pass[\s\S]*divergence starts: nowhere[\s\S]*summary: 1 pair compared, 0 over a threshold: PASS/);
    const j = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { passed: boolean; cases: Array<{ tokens: number[] }> };
    expect(j.passed).toBe(true);
    expect(j.cases[0]!.tokens).toHaveLength(3);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('<svg');
  });

  it('exit 1 naming the broken op when a backend breaks a bound', async () => {
    const code = await main(['diff', '-m', model, '--backends', 'cpu,hip', '-p', 'Once upon a time', '--steps', '2']);
    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(/hip vs cpu: FAIL[\s\S]*first failing: rope_q \(rope\) in layer 0/);
  });

  it('--fuzz prints its seed and replays the same prompts from it; --json - prints the report', async () => {
    const args = ['diff', '-m', model, '--backends', 'cpu,webgpu', '--fuzz', '3', '--seed', '42', '--steps', '2', '--logits-only', '-c', '40', '--json', '-'];
    expect(await main(args)).toBe(0);
    expect(err.join('\n')).toContain('fuzz: 3 prompts from seed 42 (replay with --fuzz 3 --seed 42)');
    const first = JSON.parse(stdout.join('')) as { cases: Array<{ prompt: string; promptTokens: number }> };
    stdout.length = 0;
    expect(await main(args)).toBe(0);
    const again = JSON.parse(stdout.join('')) as typeof first;
    expect(again.cases).toEqual(first.cases);
    expect(first.cases.every((c) => c.promptTokens <= 40 - 2 + 1)).toBe(true);
  });

  it('--oracle: every case of the recorded oracle is exact on the CPU reference (exit 0)', async () => {
    const code = await main(['diff', '-m', model, '--oracle', sharedPath('oracle', 'stories260K.json')]);
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/summary: 12 exact, 0 near-tie, 0 wrong of 12 cases; \d+\/\d+ tokens; largest \|Δlogprob\| \S+/);
  });

  it('--oracle: a wrong case (llama.cpp "chose" another token by a wide margin) exits 1', async () => {
    const oracle = JSON.parse(readFileSync(sharedPath('oracle', 'stories260K.json'), 'utf8')) as {
      cases: Array<{ tokens: number[]; steps: Array<{ token: number; logprob: number; top: Array<[number, number]> }> }>;
    };
    const c = oracle.cases[0]!;
    const other = c.tokens[0] === 300 ? 301 : 300;
    c.tokens[0] = other;
    c.steps[0] = { token: other, logprob: -0.01, top: [[other, -0.01], ...c.steps[0]!.top.slice(0, 7).map(([id, lp]): [number, number] => [id, lp - 5])] };
    const file = join(mkdtempSync(join(tmpdir(), 'rocforge-oracle-')), 'doctored.json');
    writeFileSync(file, JSON.stringify(oracle));
    expect(await main(['diff', '-m', model, '--oracle', file])).toBe(1);
    expect(out.join('\n')).toMatch(/case  0 wrong {4}0\/1 tokens[\s\S]*summary: 11 exact, 0 near-tie, 1 wrong of 12 cases/);
  });

  it('usage mistakes exit 2 with one line', async () => {
    expect(await main(['diff', '-m', model, '--prompts', 'x.json', '-p', 'a'])).toBe(2);
    expect(await main(['diff', '-m', model, '--backends', 'cpu,cuda'])).toBe(2);
    expect(await main(['diff', '-m', model, '--backends', 'cpu,webgpu', '--oracle', 'x.json'])).toBe(2);
    expect(await main(['diff', '-m', model, '--seed', '3'])).toBe(2);
    expect(err).toEqual([
      'rocforge diff: pass prompts one way: --prompts FILE, -p TEXT or --fuzz N',
      "rocforge diff: --backends: unknown backend 'cuda': choose from cpu, webgpu, hip",
      'rocforge diff: --oracle compares one backend with llama.cpp: pass --backends NAME, got cpu,webgpu',
      'rocforge diff: --seed goes with --fuzz N',
    ]);
  });
});
