// rocforge bench model: llama-bench's tests (ppN, tgN), options and output formats.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BenchDoc } from '../../src/bench/report-doc.ts';
import { BenchWriter, benchRecord, testName, type BenchResult } from '../../src/cli/bench-report.ts';
import { intList, paramsLabel, planTests, run } from '../../src/cli/commands/bench-model.ts';
import { Model } from '../../src/model/model.ts';
import { DEFAULT_MODEL_PATH } from '../../src/server/model-source.ts';

const RESULT: BenchResult = {
  modelFilename: '/m/x.gguf',
  modelType: 'llama 1.1B Q4_0',
  modelSize: 3 * 2 ** 30,
  modelNParams: 1.1e9,
  backend: 'webgpu',
  numerics: 'exact',
  device: 'GPU, "quoted"',
  nBatch: 2048,
  nUbatch: 512,
  nPrompt: 512,
  nGen: 0,
  nSeq: 1,
  peakDeviceBytes: 5 * 2 ** 20,
  testTime: '2026-01-01T00:00:00.000Z',
  samplesNs: [1e9, 0.5e9],
};

describe('bench report', () => {
  it("t/s per sample, mean and sample standard deviation, under llama-bench's field names", () => {
    const r = benchRecord(RESULT);
    expect(r.samples_ts).toEqual([512, 1024]);
    expect(r.avg_ts).toBe(768);
    expect(r.stddev_ts).toBeCloseTo(Math.sqrt(2 * 256 ** 2), 9);
    expect(r).toMatchObject({ n_prompt: 512, n_gen: 0, avg_ns: 750_000_000, model_type: 'llama 1.1B Q4_0', backends: 'webgpu', n_ubatch: 512 });
    expect(r).toMatchObject({ test: 'pp512', n_seq: 1, median_ts: 768, min_ts: 512, max_ts: 1024, peak_device_bytes: 5 * 2 ** 20 });
  });

  it('tgN@bB counts the tokens of every sequence', () => {
    const r = benchRecord({ ...RESULT, nPrompt: 0, nGen: 128, nSeq: 8, samplesNs: [2e9, 1e9, 4e9] });
    expect(r.samples_ts).toEqual([512, 1024, 256]);
    expect(r).toMatchObject({ test: 'tg128@b8', median_ts: 512, n_seq: 8 });
  });

  it('names tests as llama-bench does', () => {
    expect(testName({ nPrompt: 512, nGen: 0 })).toBe('pp512');
    expect(testName({ nPrompt: 0, nGen: 128 })).toBe('tg128');
    expect(testName({ nPrompt: 0, nGen: 128, nSeq: 8 })).toBe('tg128@b8');
    expect(testName({ nPrompt: 0, nGen: 128, nSeq: 1 })).toBe('tg128');
    expect(planTests([512], [128], [32, 1, 8, 8]).map(testName)).toEqual(['pp512', 'tg128', 'tg128@b8', 'tg128@b32']);
    expect(paramsLabel(1.1e9)).toBe('1.1B');
    expect(paramsLabel(6.74e9)).toBe('6.7B');
    expect(paramsLabel(292_800)).toBe('293K');
    expect(intList('n-prompt', '128, 512')).toEqual([128, 512]);
    expect(() => intList('n-prompt', '128;512')).toThrow(/--n-prompt takes non-negative integers separated by commas/);
  });

  it('md: a header, a separator with right-aligned number columns, one row per test', () => {
    const lines: string[] = [];
    const w = new BenchWriter('md', (l) => lines.push(l));
    w.header();
    w.row(RESULT);
    w.footer();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\| model +\| +size \| +params \| backend +\| +test \| +t\/s \| +median \| +min–max \|$/);
    expect(lines[1]).toMatch(/^\| -+ \| -+: \| -+: \| -+ \| -+: \| -+: \| -+: \| -+: \|$/);
    expect(lines[2]).toMatch(/^\| llama 1\.1B Q4_0 +\| +3\.00 GiB \| +1\.10 B \| webgpu exact +\| +pp512 \| +768\.00 ± 362\.04 \| +768\.00 \| +512\.0–1024\.0 \|$/);
  });

  it('csv quotes what needs it; json is one array at the end; jsonl one object per line', () => {
    const csv: string[] = [];
    const c = new BenchWriter('csv', (l) => csv.push(l));
    c.header();
    c.row(RESULT);
    expect(csv[0]!.split(',').slice(0, 4)).toEqual(['model_filename', 'model_type', 'model_size', 'model_n_params']);
    expect(csv[1]).toContain(',"GPU, ""quoted""",');
    expect(csv[1]).toContain(',"1000000000, 500000000",');
    const json: string[] = [];
    const j = new BenchWriter('json', (l) => json.push(l));
    j.header();
    j.row(RESULT);
    j.row({ ...RESULT, nPrompt: 0, nGen: 16 });
    expect(json).toEqual([]);
    j.footer();
    expect((JSON.parse(json[0]!) as unknown[]).map((x) => (x as { n_gen: number }).n_gen)).toEqual([0, 16]);
    const jsonl: string[] = [];
    const l = new BenchWriter('jsonl', (x) => jsonl.push(x));
    l.row(RESULT);
    expect(JSON.parse(jsonl[0]!)).toMatchObject({ n_prompt: 512 });
  });
});

describe('rocforge bench model', () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
    vi.spyOn(console, 'error').mockImplementation((s: unknown) => void err.push(String(s)));
  });
  afterEach(() => vi.restoreAllMocks());

  it('runs pp and tg tests -r times each after one warm-up (stories260K, cpu), the prompt in -ub chunks', async () => {
    const forward = vi.spyOn(Model.prototype, 'forward');
    expect(await run(['-m', DEFAULT_MODEL_PATH, '--backend', 'cpu', '-p', '40', '-n', '0,3', '-r', '2', '-ub', '16', '-o', 'json', '-t', '8'])).toBe(0);
    const rows = JSON.parse(out.join('\n')) as Array<Record<string, unknown>>;
    const rowsPerForward = forward.mock.calls.map(([batch]) => batch.tokens.length);
    // pp40: warm-up 16, then 2 x (16 + 16 + 8); tg3: warm-up 1, then 2 x 3 single rows.
    expect(rowsPerForward).toEqual([16, 16, 16, 8, 16, 16, 8, 1, 1, 1, 1, 1, 1, 1]);
    expect(rows.map((r) => [r.n_prompt, r.n_gen])).toEqual([
      [40, 0],
      [0, 3],
    ]);
    for (const r of rows) {
      expect(r).toMatchObject({ model_type: 'llama 293K F32', backends: 'cpu', n_ubatch: 16, n_batch: 2048, model_n_params: 292_800 });
      expect(r.samples_ns).toHaveLength(2);
      expect(r.avg_ts as number).toBeGreaterThan(0);
    }
    expect(err).toContain('rocforge bench model: note: -t: the cpu backend runs on one JavaScript thread and the GPU backends on the GPU; ignored');
  });

  it('--batch decodes B slots together, one row each per step, and --json / --svg write the report and chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rocforge-bench-'));
    try {
      const forward = vi.spyOn(Model.prototype, 'forward');
      const json = join(dir, 'r.json');
      const svg = join(dir, 'c.svg');
      expect(await run(['-m', DEFAULT_MODEL_PATH, '--backend', 'cpu', '-p', '0', '-n', '2', '--batch', '3,1', '-r', '2', '--json', json, '--svg', svg])).toBe(0);
      // tg2: warm-up 1 + 2 x 2 single rows; tg2@b3: warm-up 1 + 2 x 2 steps of 3 rows, slots 0..2 at one position.
      expect(forward.mock.calls.map(([b]) => b.tokens.length)).toEqual([1, 1, 1, 1, 1, 3, 3, 3, 3, 3]);
      const step = forward.mock.calls[6]![0];
      expect([...step.slots]).toEqual([0, 1, 2]);
      expect([...step.positions]).toEqual([0, 0, 0]);
      expect([...step.logitRows]).toEqual([0, 1, 2]);
      expect(out.filter((l) => /\| +tg2@b3 \|/.test(l))).toHaveLength(1);
      const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchDoc;
      expect(doc).toMatchObject({ kind: 'rocforge-bench', backend: 'cpu', numerics: 'exact', model: { arch: 'llama', params: 292_800, type: 'F32', label: 'llama 293K F32' } });
      expect(doc.results.map((r) => r.test)).toEqual(['tg2', 'tg2@b3']);
      expect(doc.results[1]!.samplesTs).toHaveLength(2);
      expect(doc.peakDeviceBytes).toBeGreaterThan(0);
      expect(doc.llamaCpp).toBeNull();
      expect(doc.comparison.map((c) => [c.test, c.ratio])).toEqual([
        ['tg2', null],
        ['tg2@b3', null],
      ]);
      const chart = readFileSync(svg, 'utf8');
      expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(chart).toContain('llama 293K F32 · tg2@b3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a batch of 0', async () => {
    await expect(run(['-m', DEFAULT_MODEL_PATH, '--backend', 'cpu', '--batch', '0,8'])).rejects.toThrow(/--batch takes sequence counts of at least 1/);
  });

  it('--llama-bench naming a missing binary: rocforge still measures, the reason is one line, exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rocforge-bench-'));
    try {
      const json = join(dir, 'r.json');
      expect(await run(['-m', DEFAULT_MODEL_PATH, '--backend', 'cpu', '-p', '8', '-n', '0', '-r', '1', '--llama-bench', join(dir, 'nope'), '--json', json])).toBe(1);
      expect(err.filter((l) => l.includes('llama.cpp not measured'))).toEqual([expect.stringMatching(/no such file; build llama\.cpp/)]);
      const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchDoc;
      expect(doc.results.map((r) => r.test)).toEqual(['pp8']);
      expect(doc.llamaCppError).toMatch(/no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const LLAMA_BENCH = process.env.ROCFORGE_LLAMA_BENCH ?? join(homedir(), '.cache/rocforge-llama/build/bin/llama-bench');
  if (!existsSync(LLAMA_BENCH)) console.warn(`skipping the llama-bench side-by-side test: no llama-bench at ${LLAMA_BENCH} (ROCFORGE_LLAMA_BENCH names one)`);
  it.skipIf(!existsSync(LLAMA_BENCH))('--llama-bench runs llama.cpp on the same file and tests and prints one table with the ratio', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rocforge-bench-'));
    try {
      const json = join(dir, 'r.json');
      expect(await run(['-m', DEFAULT_MODEL_PATH, '--backend', 'cpu', '-p', '16', '-n', '4', '-r', '2', '--llama-bench', LLAMA_BENCH, '--json', json])).toBe(0);
      const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchDoc;
      expect(doc.llamaCpp!.args).toEqual(['-m', DEFAULT_MODEL_PATH, '-p', '16', '-n', '4', '-r', '2', '-b', '2048', '-ub', '512', '-fa', '1', '-ngl', '99', '-o', 'json']);
      expect(doc.llamaCpp!.rows.map((r) => [r.test, r.samplesTs.length])).toEqual([
        ['pp16', 2],
        ['tg4', 2],
      ]);
      for (const c of doc.comparison) {
        expect(c.ratio).toBeCloseTo(c.rocforge!.median / c.reference!.median, 9);
        expect(c.ratio!).toBeGreaterThan(0);
      }
      const table = out.slice(out.findIndex((l) => l.startsWith('llama.cpp ')) + 1);
      expect(table[0]).toMatch(/^\| test +\| +rocforge cpu t\/s \| +median \| +llama\.cpp t\/s \| +median \| +ratio \|$/);
      expect(table.slice(2).map((l) => l.split('|')[1]!.trim())).toEqual(['pp16', 'tg4']);
      expect(table[2]).toMatch(/\d\.\d\dx \|$/);
      expect(new Set(table.slice(0, 4).map((l) => l.length)).size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to measure nothing', async () => {
    await expect(run(['-m', DEFAULT_MODEL_PATH, '--backend', 'cpu', '-p', '0', '-n', '0'])).rejects.toThrow(/nothing to measure/);
  });
});
