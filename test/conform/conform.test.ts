// rocforge conform against servers in this process: rocforge's own server on cpu (same tokens), the
// same with a doctored engine (a wrong token at step 3), and a proxy that answers 500, lists fewer
// alternatives, only streams or never answers. Each must be reported per case, never crash.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../../src/backends/index.ts';
import type { Backend } from '../../src/backends/backend.ts';
import { main } from '../../src/cli/main.ts';
import { runConform } from '../../src/conform/run.ts';
import { formatTerminal, renderHtml, toJson } from '../../src/conform/report.ts';
import { InferenceEngine } from '../../src/engine/engine.ts';
import type { GenerateResult } from '../../src/engine/types.ts';
import type { ServingEngine } from '../../src/server/serving-engine.ts';
import { startServer, type TestServer } from '../server/helpers.ts';

const MODEL = new URL('../../models/stories260K.gguf', import.meta.url).pathname;
const PROMPTS = ['Once upon a time', 'The little dog'];
const STEPS = 10;

let engine: InferenceEngine;
let backend: Backend;
let honest: TestServer;

beforeAll(async () => {
  engine = await InferenceEngine.create(MODEL, { backend: 'cpu', contextLength: 128, promptCache: false });
  backend = await createBackend('cpu');
  honest = await startServer(engine, { model: { id: 'stories260K', created: 1 } });
}, 30_000);

afterAll(async () => {
  await honest?.close();
  await engine?.dispose();
  backend?.dispose();
});

/** The engine, but the token generated at `step` becomes its runner-up or the least likely listed alternative. */
function doctored(inner: ServingEngine, step: number, pick: 'second' | 'last' = 'last'): ServingEngine {
  const swap = (r: GenerateResult): GenerateResult => {
    const lps = r.logprobs?.map((lp, i) => (i === step ? { ...lp, token: lp.top[pick === 'second' ? 1 : lp.top.length - 1]![0] } : lp));
    return { ...r, logprobs: lps };
  };
  return {
    generate: async (p, o) => swap(await inner.generate(p, o)),
    generateStreaming: (p, o) => inner.generateStreaming(p, o),
    chat: (m, o) => inner.chat(m, o),
    chatStreaming: (m, o) => inner.chatStreaming(m, o),
    tokenize: (t) => inner.tokenize(t),
    detokenize: (t) => inner.detokenize(t),
    stats: () => inner.stats(),
    dispose: () => undefined,
  };
}

async function captured(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void lines.push(String(s)));
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    return { code: await main(argv), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('conform against rocforge serve (cpu)', () => {
  it('finds the same tokens and log-probs, and exits 0', async () => {
    const r = await runConform({ url: honest.url, model: MODEL, backend, prompts: PROMPTS, steps: STEPS });
    expect(r.server).toBe('openai');
    expect(r.servedModel).toBe('stories260K');
    expect(r.counts).toEqual({ same: 2, 'near-tie': 0, differ: 0, error: 0 });
    for (const c of r.cases) {
      expect(c.promptCheck).toBe('count');
      expect(c.steps).toHaveLength(STEPS);
      // The same arithmetic on both sides; the server rounds nothing but JSON's shortest form.
      expect(c.maxAbsLogprob).toBeLessThan(1e-5);
      expect(c.minOverlap).toBe(1);
    }
    const cli = await captured(['conform', '--url', honest.url, '-m', MODEL, '-p', PROMPTS[0]!, '--steps', '6']);
    expect(cli.out).toMatch(/summary: 1 same tokens \/ 0 differ after a near tie \/ 0 differ otherwise/);
    expect(cli.code).toBe(0);
  }, 30_000);

  it('--chat: one user message through the chat template on both sides gives the same tokens', async () => {
    const r = await runConform({ url: honest.url, model: MODEL, backend, prompts: PROMPTS, steps: STEPS, chat: true });
    expect(r.api).toBe('chat');
    for (const c of r.cases) {
      expect(c.endpoint).toBe('/v1/chat/completions');
      expect(c.verdict).toBe('same');
      expect(c.promptCheck).toBe('count');
      expect(c.steps.length).toBeGreaterThan(0);
      // The chat template's transcript is longer than the bare prompt.
      expect(c.promptTokens).toBeGreaterThan(6);
    }
  }, 30_000);

  it('names the step where a doctored server picks another token, and exits 1', async () => {
    const bad = await startServer(doctored(engine, 3), { model: { id: 'stories260K', created: 1 } });
    try {
      const r = await runConform({ url: bad.url, model: MODEL, backend, prompts: PROMPTS.slice(0, 1), steps: STEPS });
      const c = r.cases[0]!;
      expect(c.verdict).toBe('differ');
      expect(c.divergence?.step).toBe(3);
      expect(c.divergence?.nearTie).toBe(false);
      expect(c.steps.slice(0, 3).every((s) => s.agree)).toBe(true);
      expect(r.passed).toBe(false);
      expect(formatTerminal(r)).toMatch(/DIFFERS at step 3/);
      const cli = await captured(['conform', '--url', bad.url, '-m', MODEL, '-p', PROMPTS[0]!, '--steps', '6']);
      expect(cli.code).toBe(1);
      expect(cli.out).toMatch(/DIFFERS at step 3/);
      expect(cli.out).toMatch(/0 same tokens \/ 0 differ after a near tie \/ 1 differ otherwise/);
    } finally {
      await bad.close();
    }
  }, 30_000);

  it('calls a different token at a near tie a near tie, and exits 0', async () => {
    // stories260K after "A big": the reference's top two at step 5 are 0.011 apart.
    const tie = await startServer(doctored(engine, 5, 'second'), { model: { id: 'stories260K', created: 1 } });
    try {
      const r = await runConform({ url: tie.url, model: MODEL, backend, prompts: ['A big'], steps: STEPS });
      const c = r.cases[0]!;
      expect(c.verdict).toBe('near-tie');
      expect(c.divergence).toMatchObject({ step: 5, nearTie: true });
      expect(c.divergence!.gap).toBeLessThan(0.05);
      expect(r.passed).toBe(true);
      const cli = await captured(['conform', '--url', tie.url, '-m', MODEL, '-p', 'A big', '--steps', '8']);
      expect(cli.code).toBe(0);
      expect(cli.out).toMatch(/0 same tokens \/ 1 differ after a near tie \/ 0 differ otherwise/);
    } finally {
      await tie.close();
    }
  }, 30_000);

  it('sends --api-key; without it every case is a reported 401, not a crash', async () => {
    const locked = await startServer(engine, { model: { id: 'stories260K', created: 1 }, apiKey: 'sesame' });
    try {
      const ok = await runConform({ url: `${locked.url}/v1`, apiKey: 'sesame', model: MODEL, backend, prompts: PROMPTS.slice(0, 1), steps: 4 });
      expect(ok.counts.same).toBe(1);
      const no = await runConform({ url: locked.url, model: MODEL, backend, prompts: PROMPTS.slice(0, 1), steps: 4 });
      expect(no.cases[0]!.verdict).toBe('error');
      expect(no.cases[0]!.reason).toMatch(/HTTP 401/);
      expect(no.passed).toBe(false);
    } finally {
      await locked.close();
    }
  }, 30_000);
});

/** Forwards to the honest server, but misbehaves by prompt: 500, 3 alternatives, streams only, hangs. */
async function startMisbehaving(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const read = async (req: IncomingMessage): Promise<string> => {
    let s = '';
    for await (const c of req) s += String(c);
    return s;
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/v1/completions') {
        res.writeHead(404).end('{"error":"not here"}');
        return;
      }
      const body = JSON.parse(await read(req)) as { prompt: string; stream?: boolean };
      if (body.prompt.includes('hang')) return; // never answers: the client's timeout ends it
      if (body.prompt.includes('fail')) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"out of memory"}}');
        return;
      }
      if (body.prompt.includes('stream') && !body.stream) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"only stream=true is supported"}}');
        return;
      }
      const up = await fetch(`${target}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (body.stream) {
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'text/event-stream' }).end(await up.text());
        return;
      }
      const j = (await up.json()) as { choices: Array<{ logprobs: { top_logprobs: Array<Record<string, number>> } }> };
      if (body.prompt.includes('few')) {
        const lp = j.choices[0]!.logprobs;
        lp.top_logprobs = lp.top_logprobs.map((m) => Object.fromEntries(Object.entries(m).slice(0, 3)));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(j));
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('conform against a misbehaving server', () => {
  it('reports 500s, timeouts, fewer alternatives and streaming-only answers per case', async () => {
    const proxy = await startMisbehaving(honest.url);
    try {
      const prompts = ['Once upon a fail', 'Once upon a few', 'Once upon a stream', 'Once upon a hang'];
      const r = await runConform({ url: proxy.url, model: MODEL, backend, prompts, steps: 6, timeoutMs: 1500 });
      const [fail, few, stream, hang] = r.cases;
      expect(fail!.verdict).toBe('error');
      expect(fail!.reason).toMatch(/HTTP 500: out of memory/);
      expect(few!.verdict).toBe('same');
      expect(few!.steps.every((s) => s.listed === 3 && s.overlap === 3)).toBe(true);
      expect(stream!.verdict).toBe('same');
      expect(stream!.streamed).toBe(true);
      expect(hang!.verdict).toBe('error');
      expect(hang!.reason).toMatch(/timed out/);
      expect(r.counts).toEqual({ same: 2, 'near-tie': 0, differ: 0, error: 2 });
      expect(r.passed).toBe(true);
      const text = formatTerminal(r);
      expect(text).toMatch(/2 same tokens \/ 0 differ after a near tie \/ 0 differ otherwise \/ 2 not compared/);
      expect(text).toMatch(/fewer than 8 alternatives/);
      expect(JSON.parse(toJson(r)).cases).toHaveLength(4);
      expect(renderHtml(r)).toMatch(/<svg[^>]*per-step log-prob error/);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
