// rocforge bench model: llama-bench's tests (ppN, tgN), options and output formats.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BenchWriter, benchRecord, testName, type BenchResult } from '../../src/cli/bench-report.ts';
import { intList, paramsLabel, run } from '../../src/cli/commands/bench-model.ts';
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
  });

  it('names tests as llama-bench does', () => {
    expect(testName({ nPrompt: 512, nGen: 0 })).toBe('pp512');
    expect(testName({ nPrompt: 0, nGen: 128 })).toBe('tg128');
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
    expect(lines[0]).toMatch(/^\| model +\| +size \| +params \| backend +\| +test \| +t\/s \|$/);
    expect(lines[1]).toMatch(/^\| -+ \| -+: \| -+: \| -+ \| -+: \| -+: \|$/);
    expect(lines[2]).toMatch(/^\| llama 1\.1B Q4_0 +\| +3\.00 GiB \| +1\.10 B \| webgpu exact +\| +pp512 \| +768\.00 ± 362\.04 \|$/);
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

  it('refuses to measure nothing', async () => {
    await expect(run(['-m', DEFAULT_MODEL_PATH, '--backend', 'cpu', '-p', '0', '-n', '0'])).rejects.toThrow(/nothing to measure/);
  });
});
