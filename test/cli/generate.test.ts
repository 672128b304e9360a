// `rocforge generate` as a user runs it: a child process, stdout and stderr, exit codes.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'rocforge.mjs');
const MODEL = 'models/stories260K.gguf';
const skip = missingShared(MODEL);
const LILY = ', there was a little girl named Lily. She loved to play outside in the park.';

function rocforge(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

describe.skipIf(skip)('rocforge generate', () => {
  const m = ['-m', sharedPath(MODEL), '--backend', 'cpu'];

  it('streams the greedy continuation and prints prompt and generation speeds to stderr', async () => {
    const r = await rocforge(['generate', ...m, '-p', 'Once upon a time', '-n', '32', '--temp', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(LILY)).toBe(true);
    expect(r.stderr).toMatch(/prompt: 5 tokens in [\d.]+ ms, [\d.]+ tokens\/s \| generation: 32 tokens in [\d.]+ ms, [\d.]+ tokens\/s/);
  });

  it('--json prints one object with the text, tokens, finish reason and timings', async () => {
    const r = await rocforge(['generate', ...m, '-p', 'Once upon a time', '-n', '8', '--temp', '0', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ text: ', there was a little girl', tokensGenerated: 8, finishReason: 'length', promptTokens: 5 });
    expect(j.tokens).toHaveLength(8);
    expect(j.timings).toMatchObject({ promptTokens: 5, generatedTokens: 8 });
  });

  it('passes sampling flags through: a seed reproduces, --stop cuts, -n -1 fills the context', async () => {
    const args = ['generate', ...m, '-p', 'The little dog', '-n', '20', '--temp', '1.1', '--top-k', '0', '--top-p', '0.9', '--min-p', '0.01', '--repeat-penalty', '1.1', '--json'];
    const a = JSON.parse((await rocforge([...args, '--seed', '77'])).stdout) as { tokens: number[] };
    const b = JSON.parse((await rocforge([...args, '--seed', '77'])).stdout) as { tokens: number[] };
    expect(b.tokens).toEqual(a.tokens);
    const s = await rocforge(['generate', ...m, '-p', 'Once upon a time', '-n', '40', '--temp', '0', '--stop', 'Lily', '--stop', 'xyz']);
    expect(s.stdout).toBe(', there was a little girl named \n');
    const full = JSON.parse((await rocforge(['generate', ...m, '-p', 'Once upon a time', '-n', '-1', '-c', '16', '--temp', '0', '--json'])).stdout) as { tokensGenerated: number };
    expect(full.tokensGenerated).toBe(11);
  });

  it('without -m generates from the built-in demo model and says so on stderr', async () => {
    const r = await rocforge(['generate', '--backend', 'cpu', '-p', 'Once upon a time', '-n', '4', '--temp', '0']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/built-in demo model stories260K/);
    expect(r.stdout).toMatch(/^, there was/);
  });

  it('reports bad values with exit code 1 and malformed or unknown options with exit code 2, one line each', async () => {
    const missing = await rocforge(['generate', '-m', '/nonexistent/x.gguf', '-p', 'hi']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/nonexistent/x.gguf');
    const negTemp = await rocforge(['generate', ...m, '--temp', '-1']);
    expect(negTemp.code).toBe(1);
    expect(negTemp.stderr).toMatch(/temperature must be/);
    const badTemp = await rocforge(['generate', ...m, '--temp', 'warm']);
    expect(badTemp.code).toBe(2);
    expect(badTemp.stderr).toBe("rocforge generate: --temp must be a number, got 'warm'\n");
    const badNumerics = await rocforge(['generate', ...m, '--numerics', 'loose']);
    expect(badNumerics.code).toBe(2);
    expect(badNumerics.stderr).toBe("rocforge generate: --numerics must be exact or fast, got 'loose'\n");
    const unknown = await rocforge(['generate', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^rocforge generate: unknown option '--frobnicate'; the nearest known option is /);
    const help = await rocforge(['generate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--top-k/);
    expect(help.stdout).toMatch(/--numerics MODE/);
  });
});
