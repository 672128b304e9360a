// rocforge bench [model|serve|summary]: benchmarks. `bench model` (the default, as llama-bench: -m,
// -p, -n, -r, -o) measures prefill and decode speed; `bench serve` load-tests a running server
// (bench/serve.ts); `bench summary` merges their JSON reports into one table and chart.
import { UsageError } from '../../errors.ts';
import { defineCommand, nearest, parseCommand, renderHelp } from '../options.ts';
import { VERBOSE_OPTION } from '../common-options.ts';

type Run = (argv: string[]) => Promise<number>;

/** bench/serve.ts's options, so that its mistakes get the same one-line errors as every command. */
export const SERVE_SPEC = defineCommand({
  command: 'bench serve',
  usage: '--url URL [--clients N] [--duration S] [options]',
  description: `Drives N concurrent streaming clients against a running OpenAI-compatible server for S seconds (or
until R requests are done: --requests R, S then a time limit) and reports requests/s, generated tokens/s, and p50/p99 time-to-first-token and inter-token latency.
JSON goes to stdout (or --json FILE), the table to stderr.`,
  options: {
    url: { type: 'string', arg: 'URL', help: 'server base URL', default: 'http://127.0.0.1:8080' },
    clients: { type: 'string', arg: 'N', number: 'int', help: 'concurrent clients', default: '8' },
    duration: { type: 'string', arg: 'S', number: 'float', help: 'seconds to run; with --requests, a time limit', default: '10' },
    requests: { type: 'string', arg: 'R', number: 'int', help: 'stop after R requests (--clients 32 --requests 32: 32 concurrent streams)' },
    'ignore-eos': { type: 'boolean', help: "send ignore_eos: true (llama-server then generates max_tokens past end-of-sequence)" },
    label: { type: 'string', arg: 'TEXT', help: 'name of the server in the report' },
    'max-tokens': { type: 'string', arg: 'N', number: 'int', help: 'max_tokens per request', default: '64' },
    prompt: { type: 'string', arg: 'TEXT', help: 'prompt / user message', default: 'Once upon a time' },
    endpoint: { type: 'string', arg: 'E', choices: ['chat', 'completions'], help: 'chat | completions', default: 'chat' },
    temperature: { type: 'string', arg: 'T', number: 'float', help: 'sampling temperature', default: '0.8' },
    model: { type: 'string', arg: 'ID', help: 'model id to send' },
    'api-key': { type: 'string', arg: 'KEY', help: 'bearer key', defaultText: '$ROCFORGE_API_KEY' },
    json: { type: 'string', arg: 'FILE', help: 'also write the JSON report to FILE' },
    verbose: VERBOSE_OPTION,
  },
});

const BENCHES: Record<string, { load: () => Promise<Run> }> = {
  model: { load: async () => (await import('./bench-model.ts')).run },
  serve: { load: async () => runServeBench },
  summary: { load: async () => (await import('./bench-summary.ts')).run },
};

async function runServeBench(argv: string[]): Promise<number> {
  const { values } = parseCommand(SERVE_SPEC, argv);
  if (values.help) {
    console.log(renderHelp(SERVE_SPEC));
    return 0;
  }
  // Checked above; bench/serve.ts parses the same names itself (it also runs on its own via tsx).
  const { main } = await import('../../../bench/serve.ts');
  return main(argv.filter((a) => a !== '--verbose' && a !== '-v'));
}

export async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  // Like llama-bench, options alone run the model benchmark: rocforge bench -m x.gguf -p 512.
  if (first === undefined || first.startsWith('-')) return (await BENCHES.model!.load())(argv);
  const bench = BENCHES[first];
  if (!bench) throw new UsageError(`unknown benchmark '${first}'; the nearest is '${nearest(first, Object.keys(BENCHES))}' (rocforge bench --help)`);
  return (await bench.load())(rest);
}
