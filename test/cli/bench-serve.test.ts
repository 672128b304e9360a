// rocforge bench serve as the serving comparison uses it: a fixed number of concurrent streams of
// a fixed length (--requests, --ignore-eos), against rocforge's server and, where a llama.cpp
// build is present, against llama-server itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServeBench } from '../../bench/serve.ts';
import { DEFAULT_MODEL_PATH } from '../../src/server/model-source.ts';
import { FakeEngine } from '../server/fake-engine.ts';
import { startServer, type TestServer } from '../server/helpers.ts';

describe('bench serve --requests', () => {
  let server: TestServer;
  const engine = new FakeEngine({ parallel: 8, maxQueue: 8, stepMs: 5, reply: 'abcdefghijklmnopqrstuvwxyz' });
  beforeAll(async () => {
    server = await startServer(engine);
  });
  afterAll(async () => server.close());

  it('runs exactly R streams with N clients and ends with the last one, not at the time limit', async () => {
    const t0 = performance.now();
    const r = await runServeBench({ url: server.url, clients: 4, durationS: 30, maxTokens: 12, prompt: 'hi', endpoint: 'completions', temperature: 0, requests: 8, label: 'fake' });
    const wallS = (performance.now() - t0) / 1000;
    expect(r).toMatchObject({ label: 'fake', requests: 8, requestsCompleted: 8, requestsCutOff: 0, requestsFailed: 0, generatedTokens: 8 * 12 });
    // Two rounds of 4 streams of 12 tokens at >= 5 ms each: about 0.12 s, far from the 30 s limit.
    expect(r.elapsedS).toBeGreaterThanOrEqual(0.1);
    expect(r.elapsedS).toBeLessThanOrEqual(wallS + 0.01);
    // elapsedS is reported to the millisecond, so 96 / elapsedS carries up to 0.0005 s of rounding:
    // about 0.25% of a 0.2 s run (one token/s at 460 t/s), hence a relative bound, not a fixed one.
    expect(Math.abs(r.tokensPerSecond - 96 / r.elapsedS)).toBeLessThanOrEqual((96 / r.elapsedS) * (0.0006 / r.elapsedS) + 0.001);
    expect(r.ttftMs.count).toBe(8);
    expect(r.interTokenMs.count).toBe(8 * 11);
    expect(r.interTokenMs.p99).toBeGreaterThanOrEqual(r.interTokenMs.p50);
  });
});

describe('bench serve request body', () => {
  let http: Server;
  let url: string;
  const bodies: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    // A minimal OpenAI-style stream: two tokens, usage, [DONE].
    http = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(raw) as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const t of ['a', 'b']) res.write(`data: ${JSON.stringify({ choices: [{ text: t, finish_reason: null }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ choices: [{ text: '', finish_reason: 'length' }], usage: { completion_tokens: 2 } })}\n\n`);
        res.end('data: [DONE]\n\n');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  it('--ignore-eos sends ignore_eos: true (llama-server then generates max_tokens), and nothing otherwise', async () => {
    await runServeBench({ url, clients: 1, durationS: 5, maxTokens: 2, prompt: 'x', endpoint: 'completions', temperature: 0, requests: 1, ignoreEos: true });
    await runServeBench({ url, clients: 1, durationS: 5, maxTokens: 2, prompt: 'x', endpoint: 'completions', temperature: 0, requests: 1 });
    expect(bodies.map((b) => b.ignore_eos)).toEqual([true, undefined]);
    expect(bodies[0]).toMatchObject({ max_tokens: 2, stream: true, stream_options: { include_usage: true }, prompt: 'x' });
  });
});

const LLAMA_SERVER = process.env.ROCFORGE_LLAMA_SERVER ?? join(homedir(), '.cache/rocforge-llama/build/bin/llama-server');
if (!existsSync(LLAMA_SERVER)) console.warn(`skipping bench serve against llama-server: no llama-server at ${LLAMA_SERVER} (ROCFORGE_LLAMA_SERVER names one)`);

describe.skipIf(!existsSync(LLAMA_SERVER))('bench serve against llama-server (CPU build, stories260K)', () => {
  let proc: ChildProcess;
  let url: string;
  beforeAll(async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    url = `http://127.0.0.1:${port}`;
    proc = spawn(LLAMA_SERVER, ['-m', DEFAULT_MODEL_PATH, '-np', '4', '-cb', '-fa', '-ngl', '99', '-c', '1024', '--port', String(port)], { stdio: 'ignore' });
    const t0 = Date.now();
    for (;;) {
      try {
        if ((await fetch(`${url}/health`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (proc.exitCode !== null || Date.now() - t0 > 20_000) throw new Error(`llama-server did not become healthy (exit ${proc.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);
  afterAll(() => {
    proc.kill('SIGTERM');
  });

  it('reads its /v1/completions stream: every generated token (from usage), TTFT and inter-token latency per stream', async () => {
    const r = await runServeBench({ url, clients: 4, durationS: 60, maxTokens: 16, prompt: 'Once upon a time', endpoint: 'completions', temperature: 0.8, requests: 4, ignoreEos: true, label: 'llama-server' });
    expect(r).toMatchObject({ requestsCompleted: 4, requestsFailed: 0, generatedTokens: 64 });
    expect(r.ttftMs.count).toBe(4);
    // Tokens whose text llama-server holds back (an incomplete UTF-8 sequence) arrive with a later one.
    expect(r.interTokenMs.count).toBeGreaterThan(0);
    expect(r.interTokenMs.count).toBeLessThanOrEqual(4 * 15);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
  }, 60_000);
});
