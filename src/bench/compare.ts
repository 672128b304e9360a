// rocforge against llama.cpp, test by test: both engines' spreads and the ratio of their medians
// (the median, not the mean, so one slow repetition on either side does not move the ratio).
import { spread, type Spread } from './stats.ts';

export interface Measured {
  readonly test: string;
  readonly samplesTs: readonly number[];
}

export interface ComparisonRow {
  readonly test: string;
  readonly rocforge: Spread | null;
  readonly reference: Spread | null;
  /** rocforge's median over the reference's; null where either is missing. */
  readonly ratio: number | null;
}

/** One row per test of either side, rocforge's order first, then tests only the reference ran. */
export function compareTests(ours: readonly Measured[], reference: readonly Measured[]): ComparisonRow[] {
  const ref = new Map(reference.map((r) => [r.test, r]));
  const tests = [...new Set([...ours.map((r) => r.test), ...reference.map((r) => r.test)])];
  const mine = new Map(ours.map((r) => [r.test, r]));
  return tests.map((test) => {
    const a = mine.get(test);
    const b = ref.get(test);
    const rocforge = a && a.samplesTs.length ? spread(a.samplesTs) : null;
    const reference = b && b.samplesTs.length ? spread(b.samplesTs) : null;
    const ratio = rocforge && reference && reference.median > 0 ? rocforge.median / reference.median : null;
    return { test, rocforge, reference, ratio };
  });
}

/** t/s as a table cell: thousands grouped, one decimal below 100. */
export function formatRate(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

export function formatRatio(r: number | null): string {
  return r === null ? '—' : `${r.toFixed(2)}x`;
}

function meanSd(s: Spread | null): string {
  return s ? `${formatRate(s.mean)} ± ${formatRate(s.stddev)}` : '—';
}

/** A Markdown table: per test, both engines' mean ± sd and median t/s, and the ratio of medians. */
export function renderComparisonMd(rows: readonly ComparisonRow[], labels: { readonly rocforge: string; readonly reference: string }): string[] {
  const header = ['test', `${labels.rocforge} t/s`, 'median', `${labels.reference} t/s`, 'median', 'ratio'];
  const body = rows.map((r) => [r.test, meanSd(r.rocforge), r.rocforge ? formatRate(r.rocforge.median) : '—', meanSd(r.reference), r.reference ? formatRate(r.reference.median) : '—', formatRatio(r.ratio)]);
  return markdownTable(header, body, [false, true, true, true, true, true]);
}

/** Columns padded to their widest cell; `right` marks right-aligned (numeric) columns. */
export function markdownTable(header: readonly string[], body: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length), 3));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), sep, ...body.map(line)];
}
