// bench/serve.ts against a test server on a fake engine with a known token rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, percentile, runServeBench, summarize } from '../../bench/serve.ts';
import { FakeEngine } from './fake-engine.ts';
import { startServer, type TestServer } from './helpers.ts';

describe('percentiles', () => {
  it('uses nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(summarize([3, 1, 2])).toEqual({ count: 3, mean: 2, p50: 2, p90: 3, p99: 3, max: 3 });
  });
});

describe('bench serve', () => {
  let server: TestServer;
  const engine = new FakeEngine({ parallel: 4, maxQueue: 8, stepMs: 8, reply: 'abcdefghijklmnopqrstuvwxyz' });
  beforeAll(async () => {
    server = await startServer(engine);
  });
  afterAll(async () => server.close());

  it('measures requests/s, tokens/s, TTFT and inter-token latency of concurrent streaming clients', async () => {
    const report = await runServeBench({ url: server.url, clients: 4, durationS: 1.5, maxTokens: 10, prompt: 'hi', endpoint: 'chat', temperature: 0 });
    console.log(formatReport(report));
    expect(report.requestsFailed).toBe(0);
    // 4 clients, 10 tokens of >= 8 ms each: at most ~4 * 1500 / 80 requests, and several per client.
    expect(report.requestsCompleted).toBeGreaterThanOrEqual(8);
    expect(report.requestsCompleted).toBeLessThanOrEqual(Math.ceil((4 * 1500) / 80) + 4);
    expect(report.generatedTokens).toBeGreaterThanOrEqual(report.requestsCompleted * 10);
    expect(report.generatedTokens).toBeLessThanOrEqual(engine.stats().generatedTokensTotal);
    expect(report.tokensPerSecond).toBeCloseTo(report.generatedTokens / report.elapsedS, 0);
    expect(report.requestsPerSecond).toBeCloseTo(report.requestsCompleted / report.elapsedS, 1);
    // A token takes at least the engine's 8 ms step, so do first tokens and the gaps between tokens.
    expect(report.ttftMs.p50).toBeGreaterThanOrEqual(7);
    expect(report.interTokenMs.p50).toBeGreaterThanOrEqual(6);
    expect(report.interTokenMs.p99).toBeGreaterThanOrEqual(report.interTokenMs.p50);
    expect(report.interTokenMs.count).toBeGreaterThanOrEqual(report.requestsCompleted * 9);
    expect(formatReport(report)).toMatch(/time to first token\s+p50 [\d.]+ ms/);
    // Cut-off requests were cancelled on the server: every slot is free again.
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.stats().slotsBusy).toBe(0);
  });

  it('counts 503s from a full queue as failures and backs off', async () => {
    const small = new FakeEngine({ parallel: 1, maxQueue: 0, stepMs: 5 });
    const s = await startServer(small);
    try {
      const report = await runServeBench({ url: s.url, clients: 3, durationS: 0.6, maxTokens: 5, prompt: 'x', endpoint: 'completions', temperature: 0 });
      expect(report.requestsCompleted).toBeGreaterThan(0);
      expect(report.failures['503']).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
