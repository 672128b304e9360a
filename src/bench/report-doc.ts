// The JSON document `rocforge bench --json FILE` writes: the machine, the model, every test in
// llama-bench's fields, llama.cpp's figures where it ran and the comparison; `rocforge bench
// summary` reads these back (with `bench serve` reports) into one table and chart.
import { compareTests, type ComparisonRow } from './compare.ts';
import type { HostInfo } from './host-info.ts';
import type { ReferenceRun } from './llama-bench.ts';
import type { Chart, ChartGroup } from './svg.ts';

export const BENCH_DOC_KIND = 'rocforge-bench';

export interface ModelFacts {
  readonly file: string;
  readonly name: string;
  readonly arch: string;
  readonly params: number;
  readonly sizeBytes: number;
  /** The weight type holding most bytes (Q4_0, F32, ...). */
  readonly type: string;
  /** "<arch> <params> <type>", like llama-bench's model_type. */
  readonly label: string;
}

export interface TestResult {
  readonly test: string;
  readonly samplesTs: readonly number[];
  /** llama-bench's fields and rocforge's (bench-report.ts benchRecord). */
  readonly record: Readonly<Record<string, unknown>>;
}

export interface BenchDoc {
  readonly kind: typeof BENCH_DOC_KIND;
  readonly time: string;
  readonly host: HostInfo;
  readonly backend: string;
  readonly numerics: string;
  readonly device: string;
  readonly model: ModelFacts;
  readonly settings: { readonly repetitions: number; readonly warmup: string; readonly nBatch: number; readonly nUbatch: number };
  readonly peakDeviceBytes: number;
  readonly results: readonly TestResult[];
  /** llama.cpp's run on the same file (--llama-bench), or null; why it failed, where it did. */
  readonly llamaCpp: ReferenceRun | null;
  readonly llamaCppError?: string;
  readonly comparison: readonly ComparisonRow[];
}

/** "webgpu fast", "hip exact", "cpu". */
export function engineLabel(backend: string, numerics: string): string {
  return backend === 'cpu' ? 'rocforge cpu' : `rocforge ${backend} ${numerics}`;
}

export function buildDoc(d: Omit<BenchDoc, 'kind' | 'comparison'>): BenchDoc {
  return { kind: BENCH_DOC_KIND, ...d, comparison: compareTests(d.results, d.llamaCpp?.rows ?? []) };
}

/** The chart of one bench run: a panel per test, rocforge's bar and llama.cpp's where it ran. */
export function docChart(doc: BenchDoc): Chart {
  const ours = engineLabel(doc.backend, doc.numerics);
  const groups: ChartGroup[] = doc.comparison.map((row) => ({
    title: `${doc.model.label} · ${row.test}`,
    bars: [
      ...(row.rocforge ? [{ label: ours, value: row.rocforge.median, min: row.rocforge.min, max: row.rocforge.max }] : []),
      ...(row.reference ? [{ label: 'llama.cpp', value: row.reference.median, min: row.reference.min, max: row.reference.max, reference: true }] : []),
    ],
  }));
  return {
    title: `rocforge bench: ${doc.model.label}`,
    subtitle: `${doc.device}${doc.host.driver ? `, ${doc.host.driver}` : ''}; median t/s of ${doc.settings.repetitions} runs, whiskers min–max`,
    unit: 't/s',
    groups,
  };
}
