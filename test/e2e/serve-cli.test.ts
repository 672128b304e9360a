// `rocforge serve` as a user runs it: no -m on a fresh machine serves the demo model, says so, and
// shuts down cleanly on SIGINT; a second start reuses the cached model.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

async function startServe(args: string[], env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [join(ROOT, 'src/cli/rocforge.mjs'), 'serve', ...args], {
    env: { ...process.env, ROCFORGE_MODEL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const t0 = Date.now();
  for (;;) {
    const m = /listening on (http:\/\/[^\s]+)/.exec(out);
    if (m) return { child, url: m[1]!, output: () => out, exit };
    if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`serve did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitHealthy(url: string): Promise<void> {
  const t0 = Date.now();
  while ((await fetch(`${url}/health`)).status !== 200) {
    if (Date.now() - t0 > 60_000) throw new Error('the model did not load within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('rocforge serve without -m', () => {
  it('writes, serves and then reuses the demo model, saying its output is meaningless', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'rocforge-cache-'));
    const first = await startServe(['--backend', 'cpu', '--port', '0', '--parallel', '2'], { XDG_CACHE_HOME: cache });
    try {
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/); // loopback by default
      await waitHealthy(first.url);
      expect(first.output()).toContain('RANDOM weights, so its output is meaningless');
      expect(first.output()).toContain('demo (written now)');
      const models = (await (await fetch(`${first.url}/v1/models`)).json()) as Json;
      expect(models.data[0].notice).toContain('meaningless');
      expect(models.data[0].meta).toMatchObject({ demo: true, backend: 'cpu', loaded: true });
      const res = await fetch(`${first.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8 }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Json;
      // Random weights may end the reply at once; the shape and the accounting are what matter here.
      expect(['stop', 'length']).toContain(body.choices[0].finish_reason);
      expect(body.usage.prompt_tokens).toBeGreaterThan(0);
      expect(body.usage.completion_tokens).toBeLessThanOrEqual(8);
    } finally {
      first.child.kill('SIGINT');
    }
    expect(await first.exit).toBe(0);
    expect(first.output()).toContain('SIGINT, shutting down');

    const second = await startServe(['--backend', 'cpu', '--port', '0', '--api-key', 'k'], { XDG_CACHE_HOME: cache });
    try {
      expect(second.output()).toContain('demo (cached)');
      await waitHealthy(second.url);
      expect((await fetch(`${second.url}/v1/models`)).status).toBe(401);
      expect((await fetch(`${second.url}/v1/models`, { headers: { authorization: 'Bearer k' } })).status).toBe(200);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exit).toBe(0);
  });
});

describe('rocforge serve on a taken port', () => {
  it('exits 1 at once with a message saying so, before loading the model', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, [join(ROOT, 'src/cli/rocforge.mjs'), 'serve', '-m', join(ROOT, 'package.json'), '--port', String(port)], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      // package.json is not a model: reaching the port check first proves the order.
      expect(r.stderr).not.toContain('GGUF');
    } finally {
      holder.close();
    }
  });
});
