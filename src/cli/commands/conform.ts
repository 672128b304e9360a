// rocforge conform: checks another OpenAI-compatible server (llama-server, vLLM, rocforge serve)
// against rocforge's reference, prompt by prompt (src/conform). Exit code 1 when a case differs
// otherwise than after a near tie (or no case could be compared), 0 otherwise.
import { createBackend } from '../../backends/index.ts';
import { showNativeMessages } from '../../backends/native-stderr.ts';
import { formatTerminal, renderHtml, toJson } from '../../conform/report.ts';
import { runConform } from '../../conform/run.ts';
import { UsageError } from '../../errors.ts';
import { DEFAULT_MODEL_NOTICE, resolveModel } from '../../server/model-source.ts';
import { MODEL_OPTION, intAtLeast } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp, type Values as OptionValues } from '../options.ts';
import { promptsFrom, writeOut } from '../prompt-source.ts';


export const SPEC = defineCommand({
  command: 'conform',
  usage: '--url http://HOST:PORT [-m model.gguf] [--api-key K] [--served-model NAME] [--backend cpu|webgpu|hip]\n       [--chat] [--prompts FILE | -p TEXT | --fuzz N --seed S] [--steps N] [--json FILE] [--html FILE]',
  description:
    'Asks another server (llama-server, vLLM, rocforge serve, any OpenAI-compatible one) for a greedy\n' +
    "continuation of each prompt with its top log-probs, runs the same ids on rocforge's reference and\n" +
    "compares step by step: greedy agreement, the first step where the server's token differs and\n" +
    'whether the reference calls it a near tie, the largest |Δ log-prob| over the agreed steps and the\n' +
    'top-k overlap. Server errors and timeouts are reported per case.\n' +
    'Exit code 1 when a case differs otherwise than after a near tie.',
  options: {
    url: { type: 'string', arg: 'URL', required: true, help: 'the server to check (http://HOST:PORT, with or without /v1)' },
    'api-key': { type: 'string', arg: 'KEY', help: 'sent as "Authorization: Bearer KEY"' },
    'served-model': { type: 'string', arg: 'NAME', help: 'the "model" field of the requests (vLLM needs its served name)' },
    model: MODEL_OPTION,
    backend: { type: 'string', arg: 'NAME', choices: ['cpu', 'webgpu', 'hip'], default: 'cpu', help: 'the reference backend (exact numerics)' },
    chat: { type: 'boolean', help: "send each prompt as one user message to /v1/chat/completions (the reference renders the model's chat template)" },
    prompt: { type: 'string', aliases: ['-p'], multiple: true, arg: 'TEXT', help: 'a prompt (repeatable)' },
    prompts: { type: 'string', arg: 'FILE', help: 'a JSON array of prompts (or {"prompts": [...]}, or an oracle file\'s cases)' },
    fuzz: { type: 'string', arg: 'N', number: 'int', help: 'N generated prompts (any Unicode, emoji, special-token text, long runs)' },
    seed: { type: 'string', aliases: ['-s'], arg: 'N', number: 'int', help: "--fuzz's seed (printed, to replay a run)", defaultText: 'random' },
    steps: { type: 'string', aliases: ['-n'], arg: 'N', number: 'int', help: 'tokens asked of the server per prompt', default: '24' },
    timeout: { type: 'string', arg: 'S', number: 'int', help: 'seconds per request before the case is reported as timed out', default: '120' },
    json: { type: 'string', arg: 'FILE', help: 'write the whole report as JSON ("-" for stdout)' },
    html: { type: 'string', arg: 'FILE', help: 'write a self-contained HTML report (a per-step chart per case)' },
    verbose: { type: 'boolean', aliases: ['-v'], help: "show Dawn's and the drivers' own messages and the stack of unexpected errors" },
  },
  epilog:
    'Examples:\n' +
    '  rocforge conform --url http://127.0.0.1:8080 -m model.gguf --html conform.html\n' +
    '  rocforge conform --url http://gpu-box:8000/v1 --served-model my-model -m model.gguf --fuzz 16 --seed 7',
});

type Values = OptionValues<typeof SPEC.options>;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseCommand(SPEC, argv);
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  if (v.verbose) showNativeMessages(true);
  if (v.url === undefined) throw new UsageError('--url is required: pass the server to check, e.g. --url http://127.0.0.1:8080');
  if (!/^https?:\/\//.test(v.url)) throw new UsageError(`--url must start with http:// or https://, got '${v.url}'`);
  const source = resolveModel(v.model, process.env);
  if (source.demo) console.error(`rocforge conform: ${DEFAULT_MODEL_NOTICE}`);
  const steps = intAtLeast('steps', v.steps, 1)!;
  const timeout = intAtLeast('timeout', v.timeout, 1)!;
  const prompts = await promptsFrom(v, source.path, 'conform', () => 200);
  const backend = await createBackend(v.backend as 'cpu' | 'webgpu' | 'hip', { numerics: 'exact' });
  try {
    const report = await runConform({
      url: v.url,
      apiKey: v['api-key'],
      servedModel: v['served-model'],
      model: source.path,
      backend,
      prompts,
      steps,
      timeoutMs: timeout * 1000,
      chat: v.chat,
      onProgress: (line) => console.error(`rocforge conform: ${line}`),
    });
    if (v.json === '-') process.stdout.write(`${toJson(report)}\n`);
    else console.log(formatTerminal(report));
    if (v.json !== undefined && v.json !== '-') writeOut(v.json, `${toJson(report)}\n`);
    if (v.html !== undefined) writeOut(v.html, renderHtml(report));
    return report.passed ? 0 : 1;
  } finally {
    backend.dispose();
  }
}

