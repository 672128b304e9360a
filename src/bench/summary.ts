// `rocforge bench summary`: many `rocforge bench --json` documents (one per backend and numerics)
// and `rocforge bench serve --json` reports merged into one Markdown table per kind, with ratios
// to llama.cpp / llama-server, and one chart. Pure functions: reading the files is the command's.
import { formatRate, formatRatio, markdownTable } from './compare.ts';
import { BENCH_DOC_KIND, engineLabel, type BenchDoc } from './report-doc.ts';
import { spread, type Spread } from './stats.ts';
import type { Bar, Chart, ChartGroup } from './svg.ts';

/** The fields of a `bench serve` report the summary reads. */
export interface ServeReportLike {
  readonly label?: string;
  readonly url: string;
  readonly clients: number;
  readonly maxTokens: number;
  readonly requests?: number;
  readonly requestsCompleted: number;
  readonly requestsFailed: number;
  readonly generatedTokens: number;
  readonly tokensPerSecond: number;
  readonly elapsedS: number;
  readonly ttftMs: { readonly p50: number; readonly p99: number };
  readonly interTokenMs: { readonly p50: number; readonly p99: number };
}

export type SummaryInput = { readonly kind: 'bench'; readonly doc: BenchDoc } | { readonly kind: 'serve'; readonly report: ServeReportLike };

/** Which of the two report kinds a parsed JSON file is, or null for neither. */
export function classify(json: unknown): SummaryInput | null {
  if (typeof json !== 'object' || json === null) return null;
  const o = json as Record<string, unknown>;
  if (o.kind === BENCH_DOC_KIND && Array.isArray(o.results)) return { kind: 'bench', doc: json as BenchDoc };
  if (typeof o.tokensPerSecond === 'number' && typeof o.interTokenMs === 'object') return { kind: 'serve', report: json as ServeReportLike };
  return null;
}

const LLAMA = 'llama.cpp';

interface Cell {
  readonly s: Spread;
}

/** Rows (model, test) by engine; llama.cpp's figures from the first document that ran it. */
function collect(docs: readonly BenchDoc[]): { engines: string[]; rows: Map<string, { model: string; test: string; cells: Map<string, Cell> }> } {
  const engines: string[] = [];
  const rows = new Map<string, { model: string; test: string; cells: Map<string, Cell> }>();
  const row = (model: string, test: string) => {
    const key = `${model}\u0000${test}`;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { model, test, cells: new Map() }));
    return r;
  };
  for (const doc of docs) {
    const engine = engineLabel(doc.backend, doc.numerics);
    if (!engines.includes(engine)) engines.push(engine);
    for (const t of doc.results) if (t.samplesTs.length) row(doc.model.label, t.test).cells.set(engine, { s: spread(t.samplesTs) });
    for (const t of doc.llamaCpp?.rows ?? []) {
      const r = row(doc.model.label, t.test);
      if (!r.cells.has(LLAMA) && t.samplesTs.length) r.cells.set(LLAMA, { s: spread(t.samplesTs) });
    }
  }
  const models = [...new Set([...rows.values()].map((r) => r.model))];
  const sorted = [...rows.entries()].sort(([, x], [, y]) => models.indexOf(x.model) - models.indexOf(y.model) || testOrder(x.test) - testOrder(y.test));
  return { engines, rows: new Map(sorted) };
}

/** llama-bench's order: prompt tests, then generation, each by length, batched after batch 1. */
export function testOrder(test: string): number {
  const m = /^(pp|tg)(\d+)(?:@b(\d+))?$/.exec(test);
  if (!m) return Number.MAX_SAFE_INTEGER;
  return (m[1] === 'pp' ? 0 : 1e12) + Number(m[2]) * 1e4 + Number(m[3] ?? 1);
}

function serveLabel(r: ServeReportLike): string {
  return r.label ?? r.url;
}

function isReferenceServer(r: ServeReportLike): boolean {
  return /llama/i.test(serveLabel(r));
}

/** summary.md's lines: the machine, the speed table, the serving table, peak memory. */
export function renderSummaryMd(inputs: readonly SummaryInput[], title = 'rocforge bench summary'): string[] {
  const docs = inputs.flatMap((i) => (i.kind === 'bench' ? [i.doc] : []));
  const serves = inputs.flatMap((i) => (i.kind === 'serve' ? [i.report] : []));
  const out: string[] = [`# ${title}`, ''];
  const first = docs[0];
  if (first) {
    out.push(`Device: ${[...new Set(docs.map((d) => d.device))].join('; ')}${first.host.driver ? `; ${first.host.driver}` : ''}; host ${first.host.cpu}, node ${first.host.node}.`);
    const ref = docs.find((d) => d.llamaCpp?.info)?.llamaCpp?.info;
    if (ref) out.push(`llama.cpp: build ${ref.buildCommit || '?'} (${ref.backends}${ref.gpuInfo ? `, ${ref.gpuInfo}` : ''}), -fa 1 -ngl ${ref.nGpuLayers}.`);
    out.push('');
  }
  if (docs.length) {
    const { engines, rows } = collect(docs);
    const reps = [...new Set(docs.map((d) => d.settings.repetitions))].join('/');
    out.push(`## Prefill and decode: t/s, median of ${reps} runs after a warm-up (ratio to llama.cpp)`, '');
    out.push('`ppN`: N prompt tokens; `tgN`: N tokens decoded one at a time; `tgN@bB`: B sequences decoding together, t/s over all B x N tokens.', '');
    const hasRef = [...rows.values()].some((r) => r.cells.has(LLAMA));
    const cols = hasRef ? [LLAMA, ...engines] : engines;
    const body = [...rows.values()].map((r) => {
      const ref = r.cells.get(LLAMA)?.s.median;
      return [
        r.model,
        r.test,
        ...cols.map((e) => {
          const c = r.cells.get(e);
          if (!c) return '—';
          const v = formatRate(c.s.median);
          return e === LLAMA || ref === undefined ? v : `${v} (${formatRatio(c.s.median / ref)})`;
        }),
      ];
    });
    out.push(...markdownTable(['model', 'test', ...cols], body, [false, false, ...cols.map(() => true)]), '');
    const failed = docs.filter((d) => d.llamaCppError);
    for (const d of failed) out.push(`llama.cpp did not run for ${engineLabel(d.backend, d.numerics)} on ${d.model.label}: ${d.llamaCppError}`);
    if (failed.length) out.push('');
    out.push('Peak device memory held by rocforge (weights, KV cache, activations):', '');
    const mem = docs.map((d) => [d.model.label, engineLabel(d.backend, d.numerics), `${(d.peakDeviceBytes / 2 ** 20).toFixed(0)} MiB`]);
    out.push(...markdownTable(['model', 'engine', 'peak'], mem, [false, false, true]), '');
  }
  if (serves.length) {
    const ref = serves.find(isReferenceServer);
    const shapes = [...new Set(serves.map((s) => `${s.clients} concurrent streams${s.requests !== undefined ? `, ${s.requests} requests` : ''}, max_tokens ${s.maxTokens}`))];
    out.push(`## Serving: ${shapes.join('; ')}`, '');
    const body = serves.map((s) => [
      serveLabel(s),
      formatRate(s.tokensPerSecond),
      ref && !isReferenceServer(s) && ref.tokensPerSecond > 0 ? formatRatio(s.tokensPerSecond / ref.tokensPerSecond) : '—',
      String(s.ttftMs.p50),
      String(s.ttftMs.p99),
      String(s.interTokenMs.p50),
      String(s.interTokenMs.p99),
      `${s.requestsCompleted}/${s.requestsFailed}`,
      String(s.generatedTokens),
      s.elapsedS.toFixed(2),
    ]);
    const header = ['server', 'generated t/s', 'ratio', 'TTFT p50 ms', 'TTFT p99 ms', 'ITL p50 ms', 'ITL p99 ms', 'ok/failed', 'tokens', 'seconds'];
    out.push(...markdownTable(header, body, [false, ...header.slice(1).map(() => true)]), '');
  }
  return out;
}

/** One chart for everything: a panel per (model, test) and one for serving. */
export function summaryChart(inputs: readonly SummaryInput[], title = 'rocforge vs llama.cpp'): Chart {
  const docs = inputs.flatMap((i) => (i.kind === 'bench' ? [i.doc] : []));
  const serves = inputs.flatMap((i) => (i.kind === 'serve' ? [i.report] : []));
  const { engines, rows } = collect(docs);
  const groups: ChartGroup[] = [...rows.values()].map((r) => ({
    title: `${r.model} · ${r.test}`,
    bars: [LLAMA, ...engines].flatMap((e): Bar[] => {
      const c = r.cells.get(e);
      return c ? [{ label: e, value: c.s.median, min: c.s.min, max: c.s.max, ...(e === LLAMA ? { reference: true } : {}) }] : [];
    }),
  }));
  if (serves.length) {
    const ordered = [...serves.filter(isReferenceServer), ...serves.filter((s) => !isReferenceServer(s))];
    groups.push({
      title: `serving · ${serves[0]!.clients} streams x ${serves[0]!.maxTokens} tokens, aggregate generated t/s`,
      bars: ordered.map((s) => ({ label: serveLabel(s), value: s.tokensPerSecond, ...(isReferenceServer(s) ? { reference: true } : {}) })),
    });
  }
  const device = docs[0]?.device;
  return { title, ...(device ? { subtitle: `${device}${docs[0]!.host.driver ? `, ${docs[0]!.host.driver}` : ''}; median t/s, whiskers min–max` } : {}), unit: 't/s', groups };
}
