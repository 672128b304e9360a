// rocforge bench model: prompt processing (pp) and text generation (tg) speed of a GGUF model, the
// way llama-bench measures it (same options, tests and output formats), so the numbers compare.
import { basename } from 'node:path';
import type { Backend, KvCache } from '../../backends/backend.ts';
import { InvalidRequestError } from '../../errors.ts';
import { GgufFile } from '../../gguf/reader.ts';
import { Model } from '../../model/model.ts';
import { resolveModel } from '../../server/model-source.ts';
import { BenchWriter, type BenchFormat, type BenchResult } from '../bench-report.ts';
import { BACKEND_OPTIONS, LLAMA_IGNORED_OPTIONS, MODEL_OPTION, intAtLeast, openBackend } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';
import { summarize } from './info.ts';

export const SPEC = defineCommand({
  command: 'bench model',
  usage: '[-m model.gguf] [-p N,...] [-n N,...] [-r N] [-o md|csv|json|jsonl] [options]',
  description: `Measures prompt processing (test ppN: N prompt tokens in batches of -ub) and text generation
(test tgN: N tokens one at a time, from an empty context) like llama-bench, with random tokens and
no sampling. Each test runs once untimed to warm up, then -r times; t/s is the mean ± standard
deviation over the repetitions. The table goes to stdout, progress to stderr.
(rocforge bench serve load-tests a running server instead.)`,
  options: {
    model: MODEL_OPTION,
    'n-prompt': { type: 'string', aliases: ['-p'], arg: 'N[,N...]', help: 'prompt lengths to test; 0 = none', default: '512' },
    'n-gen': { type: 'string', aliases: ['-n'], arg: 'N[,N...]', help: 'generation lengths to test; 0 = none', default: '128' },
    repetitions: { type: 'string', aliases: ['-r'], arg: 'N', number: 'int', help: 'timed runs of each test', default: '5' },
    output: { type: 'string', aliases: ['-o'], arg: 'FORMAT', choices: ['md', 'csv', 'json', 'jsonl'], help: 'md | csv | json | jsonl', default: 'md' },
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

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseCommand(SPEC, argv);
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  const prompts = intList('n-prompt', v['n-prompt']).filter((n) => n > 0);
  const gens = intList('n-gen', v['n-gen']).filter((n) => n > 0);
  if (prompts.length + gens.length === 0) throw new InvalidRequestError('nothing to measure: give -p or -n a length above 0');
  const reps = intAtLeast('repetitions', v.repetitions, 1)!;
  const nBatch = intAtLeast('batch-size', v['batch-size'], 1)!;
  const nUbatch = intAtLeast('ubatch-size', v['ubatch-size'], 1)!;
  const chunk = Math.min(nBatch, nUbatch);

  const path = resolveModel(v.model, process.env).path;
  const file = await GgufFile.open(path);
  const info = summarize(file);
  let backend: Backend | undefined;
  let model: Model | undefined;
  let cache: KvCache | undefined;
  try {
    backend = await openBackend(v);
    model = await Model.load(file, backend);
    cache = model.createKvCache(1, Math.max(...prompts, ...gens, 1));
    const mainType = Object.entries(info.tensors.byType).sort((a, b) => b[1].bytes - a[1].bytes)[0]?.[0] ?? '?';
    const base = {
      modelFilename: path,
      modelType: `${model.hparams.arch} ${paramsLabel(info.tensors.parameters)} ${mainType}`,
      modelSize: info.tensors.bytes,
      modelNParams: info.tensors.parameters,
      backend: backend.name,
      numerics: backend.name === 'cpu' ? 'exact' : v.numerics,
      device: backend.deviceDescription,
      nBatch,
      nUbatch,
    };
    console.error(`rocforge bench: ${basename(path)} on ${backend.name} (${backend.deviceDescription}), ${reps} repetitions`);
    const writer = new BenchWriter(v.output as BenchFormat, (line) => console.log(line));
    writer.header();
    const bench = new Runner(model, cache, chunk);
    for (const [nPrompt, nGen] of [...prompts.map((p) => [p, 0] as const), ...gens.map((g) => [0, g] as const)]) {
      const test = (): Promise<void> => (nPrompt > 0 ? bench.prompt(nPrompt) : bench.generate(nGen));
      if (nPrompt > 0) await bench.prompt(Math.min(nPrompt, chunk));
      else await bench.generate(1);
      const testTime = new Date().toISOString();
      const samplesNs: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = process.hrtime.bigint();
        await test();
        samplesNs.push(Number(process.hrtime.bigint() - t0));
      }
      writer.row({ ...base, nPrompt, nGen, testTime, samplesNs } satisfies BenchResult);
    }
    writer.footer();
    return 0;
  } finally {
    await file.close();
    if (cache) backend?.release(cache);
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

/** The two tests, on slot 0 from position 0 (earlier runs' cells are overwritten, as after a clear). */
class Runner {
  private seed = 12345;
  constructor(
    private readonly model: Model,
    private readonly cache: KvCache,
    private readonly chunk: number,
  ) {}

  private token(): number {
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed % this.model.hparams.vocabSize;
  }

  /** n prompt tokens in forwards of at most `chunk` rows, each asking for its last row's logits. */
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
    }
  }

  /** n single-token forwards, each waiting for its logits, as decoding does. */
  async generate(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await this.model.forward({ tokens: Int32Array.of(this.token()), slots: Int32Array.of(0), positions: Int32Array.of(i), logitRows: Int32Array.of(0) }, this.cache);
    }
  }
}
