// The pieces of rocforge bench's side-by-side report as pure functions: statistics, llama-bench's
// and llama-batched-bench's output, the comparison table, the SVG chart and bench summary.
import { describe, expect, it } from 'vitest';
import { compareTests, formatRate, markdownTable, renderComparisonMd } from '../../src/bench/compare.ts';
import { gpuDriver } from '../../src/bench/host-info.ts';
import { batchedBenchArgs, llamaBenchArgs, parseBatchedBenchJsonl, parseLlamaBenchJson } from '../../src/bench/llama-bench.ts';
import { buildDoc, type BenchDoc } from '../../src/bench/report-doc.ts';
import { median, spread } from '../../src/bench/stats.ts';
import { classify, renderSummaryMd, summaryChart, testOrder, type ServeReportLike } from '../../src/bench/summary.ts';
import { escapeXml, renderBarChart } from '../../src/bench/svg.ts';
import { ReferenceToolError } from '../../src/errors.ts';

const LLAMA_JSON = `ggml_cuda_init: found 1 CUDA devices:
[
  {
    "build_commit": "c392e50", "backends": "CUDA", "gpu_info": "NVIDIA H200", "cpu_info": "Intel Xeon",
    "model_type": "llama 1B Q4_0", "n_gpu_layers": 99, "flash_attn": true,
    "n_prompt": 512, "n_gen": 0, "avg_ts": 41000.5, "stddev_ts": 10, "samples_ts": [ 40990, 41000.5, 41011 ]
  },
  { "build_commit": "c392e50", "n_prompt": 0, "n_gen": 128, "avg_ts": 650, "stddev_ts": 5, "samples_ts": [ 640, 656, 654 ] }
]
`;

describe('statistics', () => {
  it('median of odd and even counts; spread keeps llama-bench mean and sample sd', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
    expect(spread([1, 2, 6])).toEqual({ mean: 3, stddev: Math.sqrt(7), median: 2, min: 1, max: 6 });
    expect(spread([5]).stddev).toBe(0);
  });
});

describe("llama.cpp's output", () => {
  it("reads llama-bench's -o json, skipping log lines before the array", () => {
    const { info, rows } = parseLlamaBenchJson(LLAMA_JSON);
    expect(rows).toEqual([
      { test: 'pp512', nPrompt: 512, nGen: 0, nSeq: 1, samplesTs: [40990, 41000.5, 41011] },
      { test: 'tg128', nPrompt: 0, nGen: 128, nSeq: 1, samplesTs: [640, 656, 654] },
    ]);
    expect(info).toMatchObject({ buildCommit: 'c392e50', backends: 'CUDA', gpuInfo: 'NVIDIA H200', flashAttn: true, nGpuLayers: 99 });
  });

  it('falls back to avg_ts without samples, and says what is wrong with other output', () => {
    expect(parseLlamaBenchJson('[{"n_prompt":0,"n_gen":16,"avg_ts":7}]').rows[0]!.samplesTs).toEqual([7]);
    expect(() => parseLlamaBenchJson('| model | size |')).toThrow(ReferenceToolError);
    expect(() => parseLlamaBenchJson('| model | size |')).toThrow(/not JSON .*run it with -o json/);
    expect(() => parseLlamaBenchJson('{"n_prompt":1}')).toThrow(/not an array/);
    expect(() => parseLlamaBenchJson('[{"n_prompt":1,"avg_ts":2}]')).toThrow(/test 0: field 'n_gen' is missing/);
  });

  it("reads llama-batched-bench's jsonl into tgN@bB rows (speed_tg), skipping its logs", () => {
    const text = [
      'main: n_kv_max = 4128',
      '{"n_kv_max": 4128, "pp": 1, "tg": 128, "pl": 8, "n_kv": 1032, "t_pp": 0.01, "speed_pp": 800.0, "t_tg": 0.5, "speed_tg": 2048.0, "t": 0.51, "speed": 2023.5}',
      '{"n_kv_max": 4128, "pp": 1, "tg": 128, "pl": 32, "n_kv": 4128, "t_pp": 0.01, "speed_pp": 3200.0, "t_tg": 1.0, "speed_tg": 4096.0, "t": 1.01, "speed": 4087.1}',
      'llama_perf_context_print: load time = 1 ms',
    ].join('\n');
    expect(parseBatchedBenchJsonl(text)).toEqual([
      { test: 'tg128@b8', nPrompt: 0, nGen: 128, nSeq: 8, samplesTs: [2048] },
      { test: 'tg128@b32', nPrompt: 0, nGen: 128, nSeq: 32, samplesTs: [4096] },
    ]);
    expect(() => parseBatchedBenchJsonl('{"speed_tg": 1, "pl": 2}')).toThrow(/field 'tg' is missing/);
  });

  it('asks both tools for the same tests: -fa 1 -ngl 99, the batches to llama-batched-bench with room for every sequence', () => {
    const t = { model: '/m.gguf', prompts: [512], gens: [128], batches: [1, 8, 32], repetitions: 3, nBatch: 2048, nUbatch: 512 };
    expect(llamaBenchArgs(t)).toEqual(['-m', '/m.gguf', '-p', '512', '-n', '128', '-r', '3', '-b', '2048', '-ub', '512', '-fa', '1', '-ngl', '99', '-o', 'json']);
    expect(batchedBenchArgs(t)).toEqual(['-m', '/m.gguf', '-c', String(32 * 129), '-b', '2048', '-ub', '512', '-npp', '1', '-ntg', '128', '-npl', '8,32', '-fa', '-ngl', '99', '--output-format', 'jsonl']);
    expect(llamaBenchArgs({ ...t, prompts: [], batches: [8] })).toContain('0');
    expect(llamaBenchArgs({ ...t, batches: [8] }).slice(4, 6)).toEqual(['-n', '0']);
    expect(batchedBenchArgs({ ...t, batches: [1] })).toBeNull();
  });
});

describe('comparison', () => {
  const ours = [
    { test: 'pp512', samplesTs: [6000, 6400, 6200] },
    { test: 'tg128', samplesTs: [120, 130, 127] },
    { test: 'tg128@b8', samplesTs: [800] },
  ];
  const ref = parseLlamaBenchJson(LLAMA_JSON).rows;

  it('pairs tests by name; the ratio is of medians; a test one side lacks has no ratio', () => {
    const rows = compareTests(ours, ref);
    expect(rows.map((r) => r.test)).toEqual(['pp512', 'tg128', 'tg128@b8']);
    expect(rows[0]!.ratio).toBeCloseTo(6200 / 41000.5, 12);
    expect(rows[1]!.ratio).toBeCloseTo(127 / 654, 12);
    expect(rows[2]).toMatchObject({ reference: null, ratio: null });
    expect(compareTests([], ref).map((r) => [r.test, r.rocforge])).toEqual([
      ['pp512', null],
      ['tg128', null],
    ]);
  });

  it('renders one Markdown table with both engines and the ratio column', () => {
    const lines = renderComparisonMd(compareTests(ours, ref), { rocforge: 'rocforge webgpu fast', reference: 'llama.cpp' });
    expect(lines[0]).toMatch(/^\| test +\| rocforge webgpu fast t\/s \| median \| llama\.cpp t\/s \| +median \| ratio \|$/);
    expect(lines[1]).toMatch(/^\| -+ \| -+: \| -+: \| -+: \| -+: \| -+: \|$/);
    expect(lines[2]).toMatch(/^\| pp512 +\| +6,200 ± 200 \| +6,200 \| +41,001 ± 10\.5 \| +41,001 \| 0\.15x \|$/);
    expect(lines[3]).toMatch(/\| 0\.19x \|$/);
    expect(lines[4]).toMatch(/^\| tg128@b8 +\| +800 ± 0\.0 \| +800 \| +— \| +— \| +— \|$/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(formatRate(12.345)).toBe('12.3');
    expect(markdownTable(['a'], [['x']], [true])).toEqual(['|   a |', '| --: |', '|   x |']);
  });
});

describe('SVG chart', () => {
  it('is one self-contained document; bars scale within their panel; labels are escaped; ratios to the reference', () => {
    const svg = renderBarChart({
      title: 'A <b> & "c"',
      unit: 't/s',
      groups: [
        { title: 'pp512', bars: [{ label: 'llama.cpp', value: 40000, reference: true }, { label: 'rocforge', value: 10000, min: 9000, max: 11000 }] },
        { title: 'tg128', bars: [{ label: 'rocforge', value: 100 }] },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).not.toMatch(/href=|<script|<image/);
    expect(svg).toContain('A &lt;b&gt; &amp; &quot;c&quot;');
    const widths = [...svg.matchAll(/<rect x="\d+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    // Each panel's longest bar spans the bar area; the others in proportion.
    expect(widths).toEqual([470, 117.5, 470]);
    expect(svg).toContain('10,000 t/s  0.25x');
    expect(svg).toMatch(/<path d="M[\d.]+ [\d.]+H[\d.]+/);
    // The reference bar is grey; the same engine keeps its colour across panels.
    const fills = [...svg.matchAll(/<rect x="\d+"[^>]* fill="(#[0-9a-f]+)"/g)].map((m) => m[1]);
    expect(fills[0]).toBe('#868e96');
    expect(fills[1]).toBe(fills[2]);
    expect(escapeXml('<&>')).toBe('&lt;&amp;&gt;');
  });
});

function doc(backend: string, numerics: string, tg: number[], llama: boolean): BenchDoc {
  const ref = llama ? { binary: '/b/llama-bench', args: [], ...parseLlamaBenchJson(LLAMA_JSON) } : null;
  return buildDoc({
    time: '2026-11-30T00:00:00Z',
    host: { hostname: 'h', cpu: 'Xeon', driver: 'NVIDIA driver 580.65.06', node: 'v20' },
    backend,
    numerics,
    device: 'NVIDIA H200',
    model: { file: '/tmp/s.gguf', name: 's', arch: 'llama', params: 1.1e9, sizeBytes: 6e8, type: 'Q4_0', label: 'llama 1.1B Q4_0' },
    settings: { repetitions: 3, warmup: 'one', nBatch: 2048, nUbatch: 512 },
    peakDeviceBytes: 700 * 2 ** 20,
    results: [{ test: 'tg128', samplesTs: tg, record: {} }],
    llamaCpp: ref,
  });
}

const SERVE = (label: string, tps: number): ServeReportLike => ({
  label,
  url: 'http://x',
  clients: 32,
  maxTokens: 128,
  requests: 32,
  requestsCompleted: 32,
  requestsFailed: 0,
  generatedTokens: 4096,
  tokensPerSecond: tps,
  elapsedS: 4096 / tps,
  ttftMs: { p50: 20, p99: 40 },
  interTokenMs: { p50: 10, p99: 30 },
});

describe('bench summary', () => {
  const inputs = [doc('webgpu', 'fast', [300, 320, 310], true), doc('hip', 'exact', [400], false), SERVE('rocforge hip fast', 3000), SERVE('llama-server', 2000)]
    .map((x) => classify(JSON.parse(JSON.stringify(x))))
    .map((x) => x!);

  it("orders tests as llama-bench does: pp, then tg by length, batched after batch 1", () => {
    const tests = ['tg128@b32', 'tg128', 'pp512', 'tg64', 'tg128@b8', 'pp128', 'odd'];
    expect(tests.sort((a, b) => testOrder(a) - testOrder(b))).toEqual(['pp128', 'pp512', 'tg64', 'tg128', 'tg128@b8', 'tg128@b32', 'odd']);
  });

  it('tells the two report kinds apart', () => {
    expect(inputs.map((i) => i.kind)).toEqual(['bench', 'bench', 'serve', 'serve']);
    expect(classify({ some: 'json' })).toBeNull();
    expect(classify([1])).toBeNull();
  });

  it("one row per (model, test), llama.cpp's figure from the run that had it, every engine's ratio to it; serving against llama-server", () => {
    const md = renderSummaryMd(inputs, 'T');
    expect(md[0]).toBe('# T');
    expect(md.filter((l) => /^\| llama 1\.1B Q4_0 \| (pp|tg)/.test(l)).map((l) => l.split('|')[2]!.trim())).toEqual(['pp512', 'tg128']);
    expect(md).toContain('Device: NVIDIA H200; NVIDIA driver 580.65.06; host Xeon, node v20.');
    const row = md.find((l) => l.startsWith('| llama 1.1B Q4_0 | tg128'))!;
    expect(row.split('|').map((c) => c.trim())).toEqual(['', 'llama 1.1B Q4_0', 'tg128', '654', '310 (0.47x)', '400 (0.61x)', '']);
    expect(md.find((l) => l.startsWith('| model'))).toMatch(/\| llama\.cpp \| rocforge webgpu fast \| rocforge hip exact \|$/);
    expect(md).toContain('## Serving: 32 concurrent streams, 32 requests, max_tokens 128');
    const serve = md.find((l) => l.startsWith('| rocforge hip fast'))!;
    expect(serve.split('|').map((c) => c.trim()).slice(1, 8)).toEqual(['rocforge hip fast', '3,000', '1.50x', '20', '40', '10', '30']);
    expect(md.find((l) => l.startsWith('| llama-server'))!.split('|')[3]!.trim()).toBe('—');
  });

  it('charts every (model, test) with llama.cpp first, and serving in one more panel', () => {
    const chart = summaryChart(inputs);
    expect(chart.groups.map((g) => g.title)).toEqual(['llama 1.1B Q4_0 · pp512', 'llama 1.1B Q4_0 · tg128', 'serving · 32 streams x 128 tokens, aggregate generated t/s']);
    expect(chart.groups[1]!.bars.map((b) => [b.label, b.value, b.reference ?? false])).toEqual([
      ['llama.cpp', 654, true],
      ['rocforge webgpu fast', 310, false],
      ['rocforge hip exact', 400, false],
    ]);
    expect(chart.groups[2]!.bars.map((b) => b.label)).toEqual(['llama-server', 'rocforge hip fast']);
  });
});

describe('host facts', () => {
  it("reads the GPU driver's version from /proc and /sys", () => {
    const files = (m: Record<string, string>) => (p: string) => m[p] ?? null;
    expect(gpuDriver(files({ '/proc/driver/nvidia/version': 'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build' }))).toBe('NVIDIA driver 580.65.06');
    expect(gpuDriver(files({ '/proc/driver/nvidia/version': 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar 5' }))).toBe('NVIDIA driver 550.54.15');
    expect(gpuDriver(files({ '/sys/module/amdgpu/version': '6.8.5' }))).toBe('amdgpu 6.8.5');
    expect(gpuDriver(files({}), () => null)).toBe('');
    expect(gpuDriver(files({}), () => '580.65.06')).toBe('NVIDIA driver 580.65.06');
  });
});
