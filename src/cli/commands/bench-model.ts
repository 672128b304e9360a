// rocforge bench model: prompt processing (pp) and text generation (tg) speed of a GGUF model, the
// way llama-bench measures it (same options, tests and output formats), so the numbers compare;
// batched decode (tgN@bB), medians, a JSON document, an SVG chart and llama.cpp side by side.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Backend, KvCache } from '../../backends/backend.ts';
import { renderComparisonMd } from '../../bench/compare.ts';
import { hostInfo } from '../../bench/host-info.ts';
import { runReference, type ReferenceRun } from '../../bench/llama-bench.ts';
import { buildDoc, docChart, engineLabel, type BenchDoc, type ModelFacts, type TestResult } from '../../bench/report-doc.ts';
import { renderBarChart } from '../../bench/svg.ts';
import { InvalidRequestError } from '../../errors.ts';
import { GgufFile } from '../../gguf/reader.ts';
import { Model } from '../../model/model.ts';
import { resolveModel } from '../../server/model-source.ts';
import { BenchWriter, benchRecord, formatSize, samplesTs, testName, type BenchFormat, type BenchResult } from '../bench-report.ts';
import { BACKEND_OPTIONS, LLAMA_IGNORED_OPTIONS, MODEL_OPTION, intAtLeast, openBackend } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';
import { summarize } from './info.ts';
export const SPEC = defineCommand({
  command: 'bench model',
  usage: '[-m model.gguf] [-p N,...] [-n N,...] [-r N] [--batch B,...] [-o md|csv|json|jsonl] [--json FILE] [--svg FILE] [--llama-bench PATH] [options]',
  description: `Measures prompt processing (test ppN: N prompt tokens in batches of -ub) and text generation
(test tgN: N tokens one at a time, from an empty context) like llama-bench, with random tokens and
no sampling. --batch B adds tgN@bB: B sequences in B slots decoding together, one row each per
forward step; its t/s counts all B x N tokens (aggregate throughput). Each test runs once untimed
to warm up, then -r times; t/s is the mean ± standard deviation over the repetitions, with their
median and min–max. The table goes to stdout, progress to stderr. --llama-bench PATH runs that
llama-bench on the same file and tests (-fa 1 -ngl 99; tgN@bB through llama-batched-bench where it
sits next to it) and prints both engines in one table with the ratio of medians.
(rocforge bench serve load-tests a running server; rocforge bench summary merges --json files.)`,
  options: {
    model: MODEL_OPTION,
    'n-prompt': { type: 'string', aliases: ['-p'], arg: 'N[,N...]', help: 'prompt lengths to test; 0 = none', default: '512' },
    'n-gen': { type: 'string', aliases: ['-n'], arg: 'N[,N...]', help: 'generation lengths to test; 0 = none', default: '128' },
    repetitions: { type: 'string', aliases: ['-r'], arg: 'N', number: 'int', help: 'timed runs of each test', default: '5' },
    batch: { type: 'string', arg: 'B[,B...]', help: 'sequences decoding together in the tg tests (tgN@bB for B > 1)', default: '1' },
    output: { type: 'string', aliases: ['-o'], arg: 'FORMAT', choices: ['md', 'csv', 'json', 'jsonl'], help: 'md | csv | json | jsonl', default: 'md' },
    json: { type: 'string', arg: 'FILE', help: 'write the whole report (machine, model, tests, llama.cpp, ratios) as JSON to FILE' },
    svg: { type: 'string', arg: 'FILE', help: 'write a bar chart (median t/s per test, llama.cpp beside where it ran) to FILE' },
    'llama-bench': { type: 'string', arg: 'PATH', help: "llama.cpp's llama-bench binary to run on the same file and tests, for a side-by-side table" },
    ...BACKEND_OPTIONS,
    'batch-size': { type: 'string', aliases: ['-b'], arg: 'N', number: 'int', help: 'logical batch: with -ub, the smaller is the prompt tokens per forward', default: '2048' },
    'ubatch-size': { type: 'string', aliases: ['-ub'], arg: 'N', number: 'int', help: 'prompt tokens per forward step', default: '512' },
    ...LLAMA_IGNORED_OPTIONS,
    verbose: { type: 'boolean', aliases: ['-v'], help: "show Dawn's and the drivers' own messages and the stack of unexpected errors" },
  },
});

/** "512,1024" -> [512, 1024]; each a non-negative integer. */
export function intList(name: string, v: string): number[] {
  const parts = v.split(',').map((p) => p.trim());
  for (const p of parts) if (!/^\d+$/.test(p)) throw new InvalidRequestError(`--${name} takes non-negative integers separated by commas, got '${v}'`);
  return parts.map(Number);
}

/** The tests in llama-bench's order: every ppN, then every tgN at each batch (1 first). */
export function planTests(prompts: readonly number[], gens: readonly number[], batches: readonly number[]): Array<{ nPrompt: number; nGen: number; nSeq: number }> {
  const seqs = [...new Set(batches)].sort((a, b) => a - b);
  return [...prompts.map((p) => ({ nPrompt: p, nGen: 0, nSeq: 1 })), ...gens.flatMap((g) => seqs.map((b) => ({ nPrompt: 0, nGen: g, nSeq: b })))];
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseCommand(SPEC, argv);
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  const prompts = intList('n-prompt', v['n-prompt']).filter((n) => n > 0);
  const gens = intList('n-gen', v['n-gen']).filter((n) => n > 0);
  const batches = intList('batch', v.batch);
  if (batches.some((b) => b < 1)) throw new InvalidRequestError(`--batch takes sequence counts of at least 1, got '${v.batch}'`);
  if (prompts.length + gens.length === 0) throw new InvalidRequestError('nothing to measure: give -p or -n a length above 0');
  const reps = intAtLeast('repetitions', v.repetitions, 1)!;
  const nBatch = intAtLeast('batch-size', v['batch-size'], 1)!;
  const nUbatch = intAtLeast('ubatch-size', v['ubatch-size'], 1)!;
  const tests = planTests(prompts, gens, batches);

  const path = resolveModel(v.model, process.env).path;
  const writer = new BenchWriter(v.output as BenchFormat, (line) => console.log(line));
  const measured = await measure({ path, options: v, tests, reps, nBatch, nUbatch, writer });

  let reference: ReferenceRun | null = null;
  let referenceError: string | undefined;
  if (v['llama-bench'] !== undefined) {
    try {
      reference = await runReference(v['llama-bench'], { model: path, prompts, gens, batches, repetitions: reps, nBatch, nUbatch }, (l) => console.error(`rocforge bench: ${l}`));
    } catch (e) {
      referenceError = (e as Error).message;
      console.error(`rocforge bench: llama.cpp not measured: ${referenceError}`);
    }
  }
  const doc = buildDoc({
    time: measured.startTime,
    host: hostInfo(),
    backend: measured.backend,
    numerics: measured.numerics,
    device: measured.device,
    model: measured.model,
    settings: { repetitions: reps, warmup: 'one untimed run per test (ppN: one -ub chunk; tgN@bB: one step of B rows)', nBatch, nUbatch },
    peakDeviceBytes: Math.max(0, ...measured.results.map((r) => r.peakDeviceBytes)),
    results: measured.results.map((r): TestResult => ({ test: testName(r), samplesTs: samplesTs(r), record: benchRecord(r) })),
    llamaCpp: reference,
    ...(referenceError !== undefined ? { llamaCppError: referenceError } : {}),
  });
  if (reference && v.output === 'md') {
    const ref = reference.info;
    console.log('');
    console.log(`llama.cpp${ref ? ` ${ref.buildCommit} (${ref.backends}${ref.gpuInfo ? `, ${ref.gpuInfo}` : ''})` : ''} against ${engineLabel(doc.backend, doc.numerics)}, ratio of medians:`);
    for (const line of renderComparisonMd(doc.comparison, { rocforge: engineLabel(doc.backend, doc.numerics), reference: 'llama.cpp' })) console.log(line);
  }
  console.error(`rocforge bench: peak device memory ${formatSize(doc.peakDeviceBytes)}${doc.host.driver ? `; ${doc.host.driver}` : ''}`);
  if (v.json !== undefined) writeFileSync(v.json, JSON.stringify(doc, null, 2) + '\n');
  if (v.svg !== undefined) writeFileSync(v.svg, renderBarChart(docChart(doc)));
  return referenceError === undefined ? 0 : 1;
}

interface Measurement {
  readonly startTime: string;
  readonly backend: string;
  readonly numerics: string;
  readonly device: string;
  readonly model: ModelFacts;
  readonly results: BenchResult[];
}

/** Loads the model, runs every test (rows to the writer as they finish) and releases the device. */
async function measure(o: {
  path: string;
  options: Parameters<typeof openBackend>[0];
  tests: ReadonlyArray<{ nPrompt: number; nGen: number; nSeq: number }>;
  reps: number;
  nBatch: number;
  nUbatch: number;
  writer: BenchWriter;
}): Promise<Measurement> {
  const startTime = new Date().toISOString();
  const file = await GgufFile.open(o.path);
  const info = summarize(file);
  let backend: Backend | undefined;
  let model: Model | undefined;
  const caches = new Map<number, KvCache>();
  try {
    backend = await openBackend(o.options);
    model = await Model.load(file, backend);
    const b = backend;
    const mainType = Object.entries(info.tensors.byType).sort((x, y) => y[1].bytes - x[1].bytes)[0]?.[0] ?? '?';
    const facts: ModelFacts = {
      file: o.path,
      name: info.name ?? basename(o.path),
      arch: model.hparams.arch,
      params: info.tensors.parameters,
      sizeBytes: info.tensors.bytes,
      type: mainType,
      label: `${model.hparams.arch} ${paramsLabel(info.tensors.parameters)} ${mainType}`,
    };
    const numerics = b.name === 'cpu' ? 'exact' : String(o.options.numerics);
    const base = {
      modelFilename: o.path,
      modelType: facts.label,
      modelSize: facts.sizeBytes,
      modelNParams: facts.params,
      backend: b.name,
      numerics,
      device: b.deviceDescription,
      nBatch: o.nBatch,
      nUbatch: o.nUbatch,
    };
    console.error(`rocforge bench: ${basename(o.path)} on ${b.name} (${b.deviceDescription}), ${o.reps} repetitions`);
    o.writer.header();
    const results: BenchResult[] = [];
    for (const t of o.tests) {
      // One cache per sequence count, so that the batch-1 tests run on a one-slot cache as before;
      // the batched ones hold only what their decode tests reach (B slots of a 512-cell context add up).
      let cache = caches.get(t.nSeq);
      const ctx = Math.max(...o.tests.filter((x) => x.nSeq === t.nSeq).map((x) => x.nPrompt + x.nGen), 1);
      if (!cache) caches.set(t.nSeq, (cache = model.createKvCache(t.nSeq, ctx)));
      const bench = new Runner(model, cache, Math.min(o.nBatch, o.nUbatch), () => b.memoryInUse());
      if (t.nPrompt > 0) await bench.prompt(Math.min(t.nPrompt, bench.chunk));
      else await bench.generate(1, t.nSeq);
      const testTime = new Date().toISOString();
      const samplesNs: number[] = [];
      for (let r = 0; r < o.reps; r++) {
        const t0 = process.hrtime.bigint();
        if (t.nPrompt > 0) await bench.prompt(t.nPrompt);
        else await bench.generate(t.nGen, t.nSeq);
        samplesNs.push(Number(process.hrtime.bigint() - t0));
      }
      const result: BenchResult = { ...base, ...t, testTime, samplesNs, peakDeviceBytes: bench.peakBytes };
      o.writer.row(result);
      results.push(result);
    }
    o.writer.footer();
    return { startTime, backend: b.name, numerics, device: b.deviceDescription, model: facts, results };
  } finally {
    await file.close();
    for (const c of caches.values()) backend?.release(c);
    model?.dispose();
    backend?.dispose();
  }
}

/** A model size as llama.cpp names them: 7B, 1.1B, 260K. */
export function paramsLabel(n: number): string {
  const [div, unit] = n >= 1e9 ? [1e9, 'B'] : n >= 1e6 ? [1e6, 'M'] : [1e3, 'K'];
  const x = n / div;
  return `${x >= 10 ? Math.round(x) : Number(x.toFixed(1))}${unit}`;
}

/** The tests, from position 0 (earlier runs' cells are overwritten, as after a clear). */
class Runner {
  private seed = 12345;
  /** Most device memory the backend held after any forward of this runner (bytes). */
  peakBytes: number;
  constructor(
    private readonly model: Model,
    private readonly cache: KvCache,
    readonly chunk: number,
    private readonly memoryInUse: () => number,
  ) {
    this.peakBytes = memoryInUse();
  }

  private token(): number {
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed % this.model.hparams.vocabSize;
  }

  private note(): void {
    this.peakBytes = Math.max(this.peakBytes, this.memoryInUse());
  }

  /** n prompt tokens on slot 0 in forwards of at most `chunk` rows, each asking for its last row's logits. */
  async prompt(n: number): Promise<void> {
    for (let start = 0; start < n; start += this.chunk) {
      const rows = Math.min(this.chunk, n - start);
      await this.model.forward(
        {
          tokens: Int32Array.from({ length: rows }, () => this.token()),
          slots: new Int32Array(rows),
          positions: Int32Array.from({ length: rows }, (_, i) => start + i),
          logitRows: Int32Array.of(rows - 1),
        },
        this.cache,
      );
      this.note();
    }
  }

  /** n decode steps of `seqs` rows (slots 0..seqs-1, all at position i), each waiting for every row's logits, as decoding does. */
  async generate(n: number, seqs: number): Promise<void> {
    const slots = Int32Array.from({ length: seqs }, (_, s) => s);
    for (let i = 0; i < n; i++) {
      await this.model.forward({ tokens: Int32Array.from(slots, () => this.token()), slots, positions: new Int32Array(seqs).fill(i), logitRows: slots }, this.cache);
      this.note();
    }
  }
}
