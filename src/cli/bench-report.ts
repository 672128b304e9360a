// Output of `rocforge bench model` in llama-bench's formats (md, csv, json, jsonl), with
// llama-bench's field names wherever a field means the same, so existing tooling can read both.
import { spread } from '../bench/stats.ts';
import { testName } from '../bench/test-name.ts';

export { testName };

export interface BenchResult {
  readonly modelFilename: string;
  /** "<arch> <params> <main weight type>", like llama-bench's model_type ("llama 7B Q4_0"). */
  readonly modelType: string;
  readonly modelSize: number;
  readonly modelNParams: number;
  readonly backend: string;
  readonly numerics: string;
  readonly device: string;
  readonly nBatch: number;
  readonly nUbatch: number;
  readonly nPrompt: number;
  readonly nGen: number;
  /** Sequences decoding together (tgN@bB: B slots, one row each per step); 1 for llama-bench's tests. */
  readonly nSeq: number;
  /** Most device memory the backend held during the test (weights, KV cache, activations), bytes. */
  readonly peakDeviceBytes: number;
  /** When the test started, ISO 8601. */
  readonly testTime: string;
  /** Wall time of each repetition, nanoseconds. */
  readonly samplesNs: readonly number[];
}

export type BenchFormat = 'md' | 'csv' | 'json' | 'jsonl';

/** Tokens per second of each repetition: every sequence's tokens count (aggregate throughput). */
export function samplesTs(r: Pick<BenchResult, 'nPrompt' | 'nGen' | 'nSeq' | 'samplesNs'>): number[] {
  const tokens = (r.nPrompt + r.nGen) * r.nSeq;
  return r.samplesNs.map((ns) => (tokens * 1e9) / ns);
}

/** The fields of one result, llama-bench's names first, then rocforge's (test, n_seq, median, ...). */
export function benchRecord(r: BenchResult): Record<string, string | number | number[]> {
  const ts = samplesTs(r);
  const ns = spread(r.samplesNs);
  const t = spread(ts);
  return {
    model_filename: r.modelFilename,
    model_type: r.modelType,
    model_size: r.modelSize,
    model_n_params: r.modelNParams,
    backends: r.backend,
    numerics: r.numerics,
    device: r.device,
    n_batch: r.nBatch,
    n_ubatch: r.nUbatch,
    n_prompt: r.nPrompt,
    n_gen: r.nGen,
    test_time: r.testTime,
    avg_ns: Math.round(ns.mean),
    stddev_ns: Math.round(ns.stddev),
    avg_ts: t.mean,
    stddev_ts: t.stddev,
    samples_ns: r.samplesNs.map(Math.round),
    samples_ts: ts,
    test: testName(r),
    n_seq: r.nSeq,
    median_ts: t.median,
    min_ts: t.min,
    max_ts: t.max,
    peak_device_bytes: r.peakDeviceBytes,
  };
}

/** Sizes as llama-bench prints them, in binary units but small models readable too. */
export function formatSize(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(2)} KiB`;
}

export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  return `${(n / 1e3).toFixed(2)} K`;
}

const MD_COLUMNS: ReadonlyArray<{ name: string; width: number; right: boolean; cell: (r: BenchResult) => string }> = [
  { name: 'model', width: 30, right: false, cell: (r) => r.modelType },
  { name: 'size', width: 10, right: true, cell: (r) => formatSize(r.modelSize) },
  { name: 'params', width: 10, right: true, cell: (r) => formatParams(r.modelNParams) },
  { name: 'backend', width: 12, right: false, cell: (r) => (r.backend === 'cpu' ? 'cpu' : `${r.backend} ${r.numerics}`) },
  { name: 'test', width: 13, right: true, cell: (r) => testName(r) },
  {
    name: 't/s',
    width: 20,
    right: true,
    cell: (r) => {
      const t = spread(samplesTs(r));
      return `${t.mean.toFixed(2)} ± ${t.stddev.toFixed(2)}`;
    },
  },
  { name: 'median', width: 10, right: true, cell: (r) => spread(samplesTs(r)).median.toFixed(2) },
  {
    name: 'min–max',
    width: 19,
    right: true,
    cell: (r) => {
      const t = spread(samplesTs(r));
      return `${t.min.toFixed(1)}–${t.max.toFixed(1)}`;
    },
  },
];

function mdRow(cells: string[]): string {
  return `| ${cells.map((c, i) => (MD_COLUMNS[i]!.right ? c.padStart(MD_COLUMNS[i]!.width) : c.padEnd(MD_COLUMNS[i]!.width))).join(' | ')} |`;
}

function csvCell(v: string | number | number[]): string {
  const s = Array.isArray(v) ? v.join(', ') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes results as they finish: `header` once, `row` per result, `footer` at the end (json needs
 * the whole array, so its rows are held until then).
 */
export class BenchWriter {
  private readonly held: BenchResult[] = [];
  constructor(
    private readonly format: BenchFormat,
    private readonly out: (line: string) => void,
  ) {}

  header(): void {
    if (this.format === 'md') {
      this.out(mdRow(MD_COLUMNS.map((c) => c.name)));
      this.out(`| ${MD_COLUMNS.map((c) => (c.right ? `${'-'.repeat(c.width - 1)}:` : '-'.repeat(c.width))).join(' | ')} |`);
    }
  }

  row(r: BenchResult): void {
    const rec = benchRecord(r);
    if (this.format === 'md') this.out(mdRow(MD_COLUMNS.map((c) => c.cell(r))));
    else if (this.format === 'jsonl') this.out(JSON.stringify(rec));
    else if (this.format === 'csv') {
      if (this.held.length === 0) this.out(Object.keys(rec).join(','));
      this.out(Object.values(rec).map(csvCell).join(','));
    }
    this.held.push(r);
  }

  footer(): void {
    if (this.format === 'json') this.out(JSON.stringify(this.held.map(benchRecord), null, 2));
  }
}
