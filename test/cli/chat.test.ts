// `rocforge chat` driven through piped stdin: replies must be what the engine gives for the same
// conversation, history included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../src/engine/engine.ts';
import type { ChatMessage } from '../../src/engine/types.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'rocforge.mjs');
const MODEL = 'models/stories260K.gguf';

function rocforge(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
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
const skip = missingShared(MODEL);

describe.skipIf(skip)('rocforge chat', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.create(sharedPath(MODEL), { backend: 'cpu' });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  const opts = { temperature: 0, maxTokens: 30 };

  it('keeps the history across turns, supports /reset, and stops reading at /exit', async () => {
    const q1 = 'Tell me a story about Lily.';
    const q2 = 'What did she do next?';
    const h: ChatMessage[] = [{ role: 'system', content: 'You tell short stories.' }, { role: 'user', content: q1 }];
    const a1 = (await engine.chat(h, opts)).text;
    h.push({ role: 'assistant', content: a1 }, { role: 'user', content: q2 });
    const a2 = (await engine.chat(h, opts)).text;
    expect(a2).not.toBe(a1);

    const input = `${q1}\n${q2}\n/reset\n\n${q1}\n/exit\nThis line is never read.\n`;
    const r = await rocforge(
      ['chat', '-m', sharedPath(MODEL), '--backend', 'cpu', '--temp', '0', '-n', '30', '--system', 'You tell short stories.'],
      input,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${a1}\n${a2}\n${a1}\n`);
  });

  it('ends at end of input without /exit, and rejects bad flags', async () => {
    const only = await rocforge(['chat', '-m', sharedPath(MODEL), '--backend', 'cpu', '--temp', '0', '-n', '30'], 'Hello!\n');
    expect(only.code).toBe(0);
    const expected = (await engine.chat([{ role: 'user', content: 'Hello!' }], opts)).text;
    expect(only.stdout).toBe(`${expected}\n`);
    const bad = await rocforge(['chat', '-m', sharedPath(MODEL), '-n', '0'], '');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--n-predict must be at least 1/);
  });
});
