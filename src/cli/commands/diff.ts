// rocforge diff: runs the same token sequences on several backends and names the first op and layer
// where they part (src/diff); with --oracle, one backend against llama.cpp's recorded outputs.
// Exit code 1 when a bound is exceeded (or an oracle case is wrong), 0 otherwise.
import type { BackendName } from '../../backends/backend.ts';
import { createBackend } from '../../backends/index.ts';
import { compareBackends, requiredFromEnv } from '../../diff/compare.ts';
import { formatOracleResult, readOracle, runOracle, verdictOf } from '../../diff/oracle.ts';
import { formatTerminal, toJson } from '../../diff/report.ts';
import { renderHtml } from '../../diff/report-html.ts';
import type { Numerics } from '../../diff/thresholds.ts';
import { InvalidRequestError, UsageError } from '../../errors.ts';
import { showNativeMessages } from '../../backends/native-stderr.ts';
import { DEFAULT_MODEL_NOTICE, resolveModel } from '../../server/model-source.ts';
import { MODEL_OPTION, intAtLeast } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp, type Values as OptionValues } from '../options.ts';
import { promptsFrom, writeOut } from '../prompt-source.ts';

const DEFAULT_BACKENDS = 'cpu,webgpu,hip';

export const SPEC = defineCommand({
  command: 'diff',
  usage: '-m model.gguf [--backends cpu,webgpu[,hip]] [--numerics exact|fast]\n       [--prompts FILE | -p TEXT | --fuzz N --seed S] [--steps N] [--json FILE] [--html FILE] [--oracle FILE]',
  description:
    "Runs the same prompts on each backend (prefill, then greedy steps fed with the first backend's\n" +
    'tokens, so the sequences stay aligned), reads back the output of every op of every layer and\n' +
    'compares each backend with the first: NMSE and max |error| per op and layer; per step logits\n' +
    'NMSE, top-k overlap, greedy agreement and the top-2 gap. Names the first op past its bound.\n' +
    "With --oracle FILE, one backend against llama.cpp's recorded tokens and top-8 log-probs.\n" +
    'Exit code 1 when a bound is exceeded or an oracle case is wrong.',
  options: {
    model: MODEL_OPTION,
    backends: {
      type: 'string',
      arg: 'LIST',
      help: 'comma-separated backends, the first is the reference; one that cannot open here is skipped with its reason',
      defaultText: `${DEFAULT_BACKENDS}; cpu with --oracle`,
    },
    numerics: { type: 'string', arg: 'MODE', choices: ['exact', 'fast'], default: 'exact', help: 'exact | fast numerics of the GPU backends' },
    prompt: { type: 'string', aliases: ['-p'], multiple: true, arg: 'TEXT', help: 'a prompt (repeatable)' },
    prompts: { type: 'string', arg: 'FILE', help: 'a JSON array of prompts (or {"prompts": [...]}, or an oracle file\'s cases)' },
    fuzz: { type: 'string', arg: 'N', number: 'int', help: 'N generated prompts: any Unicode, emoji, right-to-left, whitespace, special-token text, long runs, up to --ctx-size tokens' },
    seed: { type: 'string', aliases: ['-s'], arg: 'N', number: 'int', help: "--fuzz's seed (printed, to replay a run)", defaultText: 'random' },
    'ctx-size': { type: 'string', aliases: ['-c'], arg: 'N', number: 'int', help: 'context of --fuzz prompts: prompt + steps fit in it', default: '256' },
    steps: { type: 'string', aliases: ['-n'], arg: 'N', number: 'int', help: 'greedy steps per prompt (the logits after the prompt are the first)', default: '24' },
    'ubatch-size': { type: 'string', aliases: ['-ub'], arg: 'N', number: 'int', help: 'prompt rows per forward pass, as llama.cpp\'s', default: '512' },
    'logits-only': { type: 'boolean', help: 'compare the logits only (faster; names no op)' },
    json: { type: 'string', arg: 'FILE', help: 'write the whole report as JSON ("-" for stdout)' },
    html: { type: 'string', arg: 'FILE', help: 'write a self-contained HTML report (per-layer error chart, worst tensors)' },
    oracle: { type: 'string', arg: 'FILE', help: "compare one backend with llama.cpp's outputs in FILE (the format of ../shared/oracle)" },
    verbose: { type: 'boolean', aliases: ['-v'], help: "show Dawn's and the drivers' own messages and the stack of unexpected errors" },
  },
  epilog:
    'Examples:\n' +
    '  rocforge diff -m model.gguf --backends cpu,webgpu --html report.html\n' +
    '  rocforge diff -m model.gguf --numerics fast --fuzz 16 --seed 7 --steps 8\n' +
    '  rocforge diff -m model.gguf --backends webgpu --oracle ../shared/oracle/long/model.json',
});

type Values = OptionValues<typeof SPEC.options>;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseCommand(SPEC, argv);
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  if (v.verbose) showNativeMessages(true);
  const source = resolveModel(v.model, process.env);
  if (source.demo) console.error(`rocforge diff: ${DEFAULT_MODEL_NOTICE}`);
  const numerics = v.numerics as Numerics;
  const steps = intAtLeast('steps', v.steps, 1)!;
  const ubatch = intAtLeast('ubatch-size', v['ubatch-size'], 1)!;
  if (v.oracle !== undefined) return runOracleMode(v, source.path, numerics);

  const backends = backendList(v.backends ?? DEFAULT_BACKENDS);
  const prompts = await diffPrompts(v, source.path, steps);
  const report = await compareBackends({
    model: source.path,
    backends,
    numerics,
    prompts: prompts.texts,
    steps,
    ubatch,
    maxPromptTokens: prompts.maxTokens,
    taps: !v['logits-only'],
    require: requiredFromEnv(process.env),
    onProgress: (line) => console.error(`rocforge diff: ${line}`),
  });
  if (v.json === '-') process.stdout.write(`${toJson(report)}\n`);
  else console.log(formatTerminal(report));
  if (v.json !== undefined && v.json !== '-') writeOut(v.json, `${toJson(report)}\n`);
  if (v.html !== undefined) writeOut(v.html, renderHtml(report));
  return report.passed ? 0 : 1;
}

async function runOracleMode(v: Values, model: string, numerics: Numerics): Promise<number> {
  if (v.prompts !== undefined || v.prompt.length > 0 || v.fuzz !== undefined) throw new UsageError('--oracle runs the oracle\'s own prompts: drop --prompts, -p and --fuzz');
  if (v.html !== undefined) throw new UsageError('--html reports a comparison of backends; with --oracle use --json');
  const names = backendList(v.backends ?? 'cpu');
  if (names.length !== 1) throw new UsageError(`--oracle compares one backend with llama.cpp: pass --backends NAME, got ${names.join(',')}`);
  const oraclePath = v.oracle!;
  const oracle = readOracle(oraclePath);
  const backend = await createBackend(names[0]!, { numerics });
  try {
    const r = await runOracle(model, oracle, backend);
    const out = { model, oracle: oraclePath, backend: names[0], numerics, ...r, cases: r.cases.map((c) => ({ ...c, verdict: verdictOf(c) })) };
    if (v.json === '-') process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else console.log(formatOracleResult(model, oraclePath, backend, r));
    if (v.json !== undefined && v.json !== '-') writeOut(v.json, `${JSON.stringify(out, null, 2)}\n`);
    return r.cases.some((c) => verdictOf(c) === 'wrong') ? 1 : 0;
  } finally {
    backend.dispose();
  }
}

function backendList(s: string): BackendName[] {
  const names = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const n of names) {
    if (n !== 'cpu' && n !== 'webgpu' && n !== 'hip') throw new UsageError(`--backends: unknown backend '${n}': choose from cpu, webgpu, hip`);
  }
  if (names.length === 0) throw new UsageError('--backends needs at least one backend name');
  return names as BackendName[];
}

async function diffPrompts(v: Values, model: string, steps: number): Promise<{ texts: string[]; maxTokens?: number }> {
  let maxTokens: number | undefined;
  const texts = await promptsFrom(v, model, 'diff', () => {
    const ctx = intAtLeast('ctx-size', v['ctx-size'], 2)!;
    maxTokens = ctx - steps + 1;
    if (maxTokens < 1) throw new InvalidRequestError(`--ctx-size ${ctx} leaves no room for a prompt before ${steps} steps: raise it or lower --steps`);
    return maxTokens;
  });
  return { texts, maxTokens };
}
