// Load benchmark for a running rocforge (or any OpenAI-compatible) server: N concurrent streaming
// clients for a bounded time (or until a fixed number of requests is done: --requests); reports requests/s, generated tokens/s, and p50/p99 time-to-first-token
// and inter-token latency, as JSON (stdout) and a human table (stderr).
//   npx tsx bench/serve.ts --url http://127.0.0.1:8080 --clients 16 --duration 30
//   rocforge bench serve --url http://127.0.0.1:8080 --clients 16 --duration 30
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readSse } from '../src/server/sse-reader.ts';

export interface ServeBenchOptions {
  url: string;
  clients: number;
  durationS: number;
  maxTokens: number;
  prompt: string;
  endpoint: 'chat' | 'completions';
  temperature: number;
  model?: string;
  apiKey?: string;
  /** Stop after this many requests (the run ends when the last finishes; durationS is then a time limit). */
  requests?: number;
  /** Ask the server to generate max_tokens even past end-of-sequence (llama-server's ignore_eos). */
  ignoreEos?: boolean;
  /** Names the server in reports ("llama-server", "rocforge hip fast"). */
  label?: string;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ServeBenchReport {
  label?: string;
  url: string;
  endpoint: string;
  clients: number;
  durationS: number;
  maxTokens: number;
  /** The fixed request count asked for, if any. */
  requests?: number;
  elapsedS: number;
  requestsCompleted: number;
  /** Requests cut off by the end of the run (their tokens still count). */
  requestsCutOff: number;
  requestsFailed: number;
  /** HTTP status (or "network") -> count. */
  failures: Record<string, number>;
  requestsPerSecond: number;
  generatedTokens: number;
  tokensPerSecond: number;
  ttftMs: LatencySummary;
  interTokenMs: LatencySummary;
  /** Per-request decode rate after the first token (tokens/s, mean over completed requests). */
  perRequestTokensPerSecond: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    count: s.length,
    mean: r(s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0),
    p50: r(percentile(s, 50)),
    p90: r(percentile(s, 90)),
    p99: r(percentile(s, 99)),
    max: r(s.length ? s[s.length - 1]! : 0),
  };
}

interface Tally {
  completed: number;
  cutOff: number;
  failed: number;
  failures: Record<string, number>;
  tokens: number;
  ttft: number[];
  itl: number[];
  decodeRates: number[];
}

function requestBody(o: ServeBenchOptions): object {
  const common = {
    max_tokens: o.maxTokens,
    temperature: o.temperature,
    stream: true,
    stream_options: { include_usage: true },
    ...(o.ignoreEos ? { ignore_eos: true } : {}),
    ...(o.model ? { model: o.model } : {}),
  };
  return o.endpoint === 'chat' ? { ...common, messages: [{ role: 'user', content: o.prompt }] } : { ...common, prompt: o.prompt };
}

type Chunk = { choices?: Array<{ delta?: { content?: string }; text?: string; finish_reason?: string | null }>; usage?: { completion_tokens?: number } | null; error?: unknown };

async function oneRequest(o: ServeBenchOptions, deadline: AbortSignal, tally: Tally): Promise<void> {
  const path = o.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(new URL(path, o.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
      body: JSON.stringify(requestBody(o)),
      signal: deadline,
    });
  } catch (e) {
    if (deadline.aborted) return;
    tally.failed++;
    tally.failures.network = (tally.failures.network ?? 0) + 1;
    throw e;
  }
  if (res.status !== 200 || !res.body) {
    tally.failed++;
    tally.failures[String(res.status)] = (tally.failures[String(res.status)] ?? 0) + 1;
    await res.text().catch(() => '');
    // Back off as the server asks (queue full), without hammering it.
    const retry = Number(res.headers.get('retry-after') ?? '0');
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, retry * 1000 * 0.2))));
    return;
  }
  let first: number | undefined;
  let last = 0;
  let chunks = 0;
  let usageTokens: number | undefined;
  try {
    for await (const ev of readSse(res.body)) {
      if (ev.data === '[DONE]') break;
      const c = JSON.parse(ev.data) as Chunk;
      if (c.error) throw new Error(`stream error: ${JSON.stringify(c.error)}`);
      if (c.usage?.completion_tokens !== undefined) usageTokens = c.usage.completion_tokens;
      const choice = c.choices?.[0];
      const text = choice?.delta?.content ?? choice?.text ?? '';
      if (text === '') continue;
      chunks++;
      if (first === undefined) {
        first = ev.at;
        tally.ttft.push(ev.at - t0);
      } else {
        tally.itl.push(ev.at - last);
      }
      last = ev.at;
    }
  } catch (e) {
    if (deadline.aborted) {
      tally.cutOff++;
      tally.tokens += chunks;
      return;
    }
    tally.failed++;
    tally.failures.stream = (tally.failures.stream ?? 0) + 1;
    return void e;
  }
  const tokens = usageTokens ?? chunks;
  tally.completed++;
  tally.tokens += tokens;
  if (first !== undefined && tokens > 1 && last > first) tally.decodeRates.push(((tokens - 1) * 1000) / (last - first));
}

export async function runServeBench(o: ServeBenchOptions): Promise<ServeBenchReport> {
  const tally: Tally = { completed: 0, cutOff: 0, failed: 0, failures: {}, tokens: 0, ttft: [], itl: [], decodeRates: [] };
  const deadline = new AbortController();
  const start = performance.now();
  const timer = setTimeout(() => deadline.abort(), o.durationS * 1000);
  let networkFailures = 0;
  let started = 0;
  let lastDone = start;
  const client = async (): Promise<void> => {
    while (!deadline.signal.aborted && (o.requests === undefined || started < o.requests)) {
      started++;
      try {
        await oneRequest(o, deadline.signal, tally);
        lastDone = performance.now();
      } catch (e) {
        // A server that is down fails fast; stop rather than spin.
        if (++networkFailures > 5 * o.clients) {
          deadline.abort();
          throw new Error(`cannot reach ${o.url}: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: o.clients }, client));
  } finally {
    clearTimeout(timer);
  }
  // A fixed request count ends with its last request; a timed run at its deadline.
  const end = o.requests !== undefined && !deadline.signal.aborted ? lastDone : performance.now();
  const elapsedS = Math.min((end - start) / 1000, o.durationS + 1e-9) || 1e-9;
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    ...(o.label !== undefined ? { label: o.label } : {}),
    url: o.url,
    endpoint: o.endpoint,
    clients: o.clients,
    durationS: o.durationS,
    maxTokens: o.maxTokens,
    ...(o.requests !== undefined ? { requests: o.requests } : {}),
    elapsedS: r3(elapsedS),
    requestsCompleted: tally.completed,
    requestsCutOff: tally.cutOff,
    requestsFailed: tally.failed,
    failures: tally.failures,
    requestsPerSecond: r3(tally.completed / elapsedS),
    generatedTokens: tally.tokens,
    tokensPerSecond: r3(tally.tokens / elapsedS),
    ttftMs: summarize(tally.ttft),
    interTokenMs: summarize(tally.itl),
    perRequestTokensPerSecond: r3(tally.decodeRates.length ? tally.decodeRates.reduce((a, b) => a + b, 0) / tally.decodeRates.length : 0),
  };
}

export function formatReport(r: ServeBenchReport): string {
  const rows: Array<[string, string]> = [
    ['server', `${r.label ? `${r.label}: ` : ''}${r.url} (${r.endpoint}, max_tokens ${r.maxTokens})`],
    r.requests !== undefined
      ? ['clients x requests', `${r.clients} clients, ${r.requests} requests (ran ${r.elapsedS} s, limit ${r.durationS} s)`]
      : ['clients x duration', `${r.clients} x ${r.durationS} s (ran ${r.elapsedS} s)`],
    ['requests', `${r.requestsCompleted} completed, ${r.requestsCutOff} cut off at the end, ${r.requestsFailed} failed${r.requestsFailed ? ' ' + JSON.stringify(r.failures) : ''}`],
    ['requests/s', r.requestsPerSecond.toFixed(2)],
    ['generated tokens/s', `${r.tokensPerSecond.toFixed(1)} (${r.generatedTokens} tokens)`],
    ['per-request decode tok/s', r.perRequestTokensPerSecond.toFixed(1)],
  ];
  const lat = (name: string, s: LatencySummary): [string, string] => [name, `p50 ${s.p50} ms  p90 ${s.p90} ms  p99 ${s.p99} ms  max ${s.max} ms  (n=${s.count})`];
  rows.push(lat('time to first token', r.ttftMs), lat('inter-token latency', r.interTokenMs));
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

const HELP = `usage: rocforge bench serve --url URL [--clients N] [--duration S] [options]
       npx tsx bench/serve.ts --url URL [...]

Drives N concurrent streaming clients against a running OpenAI-compatible server for S seconds (or
until R requests are done: --requests R, S then a time limit) and reports requests/s, generated tokens/s, and p50/p99 time-to-first-token and inter-token latency.
JSON goes to stdout (or --json FILE), the table to stderr.

options:
  --url URL           server base URL (default http://127.0.0.1:8080)
  --clients N         concurrent clients (default 8)
  --duration S        seconds to run (default 10); with --requests, a time limit
  --requests R        stop after R requests (e.g. --clients 32 --requests 32: 32 concurrent streams)
  --ignore-eos        send ignore_eos: true (llama-server generates max_tokens past end-of-sequence)
  --label TEXT        name of the server in the report
  --max-tokens N      max_tokens per request (default 64)
  --prompt TEXT       prompt / user message (default "Once upon a time")
  --endpoint E        chat | completions (default chat)
  --temperature T     sampling temperature (default 0.8)
  --model ID          model id to send (default: none)
  --api-key KEY       bearer key (default $ROCFORGE_API_KEY)
  --json FILE         also write the JSON report to FILE
  -h, --help          this help`;

function posInt(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${v}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      clients: { type: 'string', default: '8' },
      duration: { type: 'string', default: '10' },
      'max-tokens': { type: 'string', default: '64' },
      prompt: { type: 'string', default: 'Once upon a time' },
      endpoint: { type: 'string', default: 'chat' },
      temperature: { type: 'string', default: '0.8' },
      model: { type: 'string' },
      'api-key': { type: 'string' },
      json: { type: 'string' },
      requests: { type: 'string' },
      'ignore-eos': { type: 'boolean', default: false },
      label: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.endpoint !== 'chat' && values.endpoint !== 'completions') throw new Error(`--endpoint must be chat or completions, got "${values.endpoint}"`);
  const opts: ServeBenchOptions = {
    url: values.url,
    clients: Math.floor(posInt('clients', values.clients)),
    durationS: posInt('duration', values.duration, 0.1),
    maxTokens: Math.floor(posInt('max-tokens', values['max-tokens'])),
    prompt: values.prompt,
    endpoint: values.endpoint,
    temperature: posInt('temperature', values.temperature, 0),
    model: values.model,
    apiKey: values['api-key'] ?? process.env.ROCFORGE_API_KEY,
    ...(values.requests !== undefined ? { requests: Math.floor(posInt('requests', values.requests)) } : {}),
    ignoreEos: values['ignore-eos'],
    ...(values.label !== undefined ? { label: values.label } : {}),
  };
  const until = opts.requests !== undefined ? `${opts.requests} requests (at most ${opts.durationS} s)` : `${opts.durationS} s`;
  console.error(`bench serve: ${opts.clients} streaming clients against ${opts.url} for ${until}...`);
  const report = await runServeBench(opts);
  console.error(formatReport(report));
  const json = JSON.stringify(report, null, 2);
  if (values.json) writeFileSync(values.json, json + '\n');
  console.log(json);
  return report.requestsCompleted > 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error(`bench serve: ${(e as Error).message}`);
      process.exitCode = 1;
    },
  );
}
