// rocforge generate: streams a completion of a prompt to stdout, speeds to stderr (or --json).
import { DEFAULT_MODEL_NOTICE, resolveModel } from '../../server/model-source.ts';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Numerics } from '../../backends/index.ts';
import { InferenceEngine } from '../../engine/engine.ts';
import type { BackendChoice, GenerateOptions, Timings } from '../../engine/types.ts';
import { InvalidRequestError } from '../../errors.ts';

const HELP = `usage: rocforge generate [-m model.gguf] -p "prompt" [options]

Streams the model's continuation of the prompt to stdout; prompt and generation speeds go to
stderr at the end. Ctrl-C stops the generation.

options:
  -m, --model PATH          GGUF file (default: $ROCFORGE_MODEL, else the built-in stories260K demo)
  -p, --prompt TEXT         prompt (default: empty, i.e. start from BOS)
  -n, --n-predict N         tokens to generate (default 128; -1: until the context is full)
  --backend NAME            auto | webgpu | hip | cpu (default auto)
  --numerics MODE           exact | fast: GPU kernels replay llama.cpp's CPU arithmetic bit for
                            bit, or plain f32 kernels (faster; logits within ~1e-2) (default exact)
  -c, --ctx-size N          context length (default: the model's, at most 4096)
${SAMPLING_HELP()}
  --stop TEXT               stop before this text (repeatable)
  --json                    print one JSON object { text, tokens, tokensGenerated, finishReason,
                            promptTokens, timings } instead of streaming
  -h, --help                this help`;

/** Help lines for the sampling flags shared with `rocforge chat`. */
export function SAMPLING_HELP(): string {
  return `  --temp X                  temperature; 0 = greedy (default 0.8)
  --top-k N                 keep the N most likely tokens; 0 = off (default 40)
  --top-p X                 nucleus sampling; 1 = off (default 0.95)
  --min-p X                 drop tokens below X times the best one's probability (default 0.05)
  --repeat-penalty X        penalize repeated tokens; 1 = off (default 1)
  --repeat-last-n N         tokens the penalties look back over; -1 = all (default 64)
  --presence-penalty X      (default 0)
  --frequency-penalty X     (default 0)
  -s, --seed N              random seed (default: random)`;
}

export const SAMPLING_OPTIONS = {
  temp: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  'repeat-last-n': { type: 'string' },
  'presence-penalty': { type: 'string' },
  'frequency-penalty': { type: 'string' },
  seed: { type: 'string', short: 's' },
} as const satisfies ParseArgsConfig['options'];

export const ENGINE_OPTIONS = {
  model: { type: 'string', short: 'm' },
  backend: { type: 'string', default: 'auto' },
  numerics: { type: 'string', default: 'exact' },
  'ctx-size': { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

/** A number flag; the engine checks ranges and names the option if it is out of range. */
export function numberFlag(flag: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new InvalidRequestError(`--${flag} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`);
  }
  return n;
}

type Values = Record<string, string | boolean | string[] | undefined>;

export function samplingFrom(v: Values): GenerateOptions {
  const s = (k: string) => v[k] as string | undefined;
  const o: GenerateOptions = {
    temperature: numberFlag('temp', s('temp')),
    topK: numberFlag('top-k', s('top-k'), true),
    topP: numberFlag('top-p', s('top-p')),
    minP: numberFlag('min-p', s('min-p')),
    repeatPenalty: numberFlag('repeat-penalty', s('repeat-penalty')),
    penaltyLastN: numberFlag('repeat-last-n', s('repeat-last-n'), true),
    presencePenalty: numberFlag('presence-penalty', s('presence-penalty')),
    frequencyPenalty: numberFlag('frequency-penalty', s('frequency-penalty')),
    seed: numberFlag('seed', s('seed'), true),
  };
  for (const k of Object.keys(o) as Array<keyof GenerateOptions>) if (o[k] === undefined) delete o[k];
  return o;
}

/** Loads the engine the flags describe (model, backend, context). */
export async function engineFrom(v: Values, command: string): Promise<InferenceEngine> {
  const source = resolveModel(v.model as string | undefined, process.env);
  if (source.demo) console.error(`rocforge ${command}: ${DEFAULT_MODEL_NOTICE}`);
  const model = source.path;
  const backend = v.backend as string;
  if (!['auto', 'webgpu', 'hip', 'cpu'].includes(backend)) throw new InvalidRequestError(`--backend must be auto, webgpu, hip or cpu, got "${backend}"`);
  const numerics = numericsFlag(v.numerics as string);
  const contextLength = numberFlag('ctx-size', v['ctx-size'] as string | undefined, true);
  return InferenceEngine.create(model, { backend: backend as BackendChoice, contextLength, numerics });
}

/** Parses --numerics (exact | fast). */
export function numericsFlag(value: string): Numerics {
  if (value !== 'exact' && value !== 'fast') throw new InvalidRequestError(`--numerics must be exact or fast, got "${value}"`);
  return value;
}

/** parseArgs, turning its TypeErrors (unknown flag, missing value) into a usage message and exit code 2. */
export function parseOrUsage<T extends ParseArgsConfig['options']>(
  argv: string[],
  options: T,
  command: string,
): { values: Values } | number {
  try {
    const { values } = parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: false });
    return { values: values as Values };
  } catch (e) {
    console.error(`rocforge ${command}: ${(e as Error).message}\nrocforge ${command} --help lists the options.`);
    return 2;
  }
}

/** parseArgs reads "-n -1" as two flags; "--n-predict=-1" is what is meant. */
function joinNegativeValues(argv: string[], options: ParseArgsConfig['options']): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, o] of Object.entries(options ?? {})) {
    if (o.type !== 'string') continue;
    takesValue.set(`--${name}`, name);
    if (o.short) takesValue.set(`-${o.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = takesValue.get(argv[i]!);
    const next = argv[i + 1];
    if (name && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

export function formatTimings(t: Timings): string {
  const f = (x: number) => x.toFixed(1);
  return (
    `prompt: ${t.promptTokens} tokens in ${f(t.promptMs)} ms, ${f(t.promptTokensPerSecond)} tokens/s | ` +
    `generation: ${t.generatedTokens} tokens in ${f(t.generateMs)} ms, ${f(t.tokensPerSecond)} tokens/s`
  );
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseOrUsage(
    argv,
    {
      ...ENGINE_OPTIONS,
      ...SAMPLING_OPTIONS,
      prompt: { type: 'string', short: 'p', default: '' },
      'n-predict': { type: 'string', short: 'n' },
      stop: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
    'generate',
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const sampling = samplingFrom(v);
  let maxTokens = numberFlag('n-predict', v['n-predict'] as string | undefined, true);
  if (maxTokens !== undefined && maxTokens < -1) throw new InvalidRequestError(`--n-predict must be -1 or more, got ${maxTokens}`);
  const prompt = v.prompt as string;

  const engine = await engineFrom(v, 'generate');
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    if (maxTokens === -1) maxTokens = engine.contextLength - engine.tokenize(prompt).length;
    const opts: GenerateOptions = { ...sampling, maxTokens, stop: (v.stop as string[] | undefined) ?? [], signal: ac.signal };
    if (v.json) {
      const r = await engine.generate(prompt, opts);
      const { text, tokens, tokensGenerated, finishReason, promptTokens, timings } = r;
      process.stdout.write(`${JSON.stringify({ text, tokens, tokensGenerated, finishReason, promptTokens, timings })}\n`);
      return 0;
    }
    const stream = engine.generateStreaming(prompt, opts);
    try {
      for await (const chunk of stream) if (chunk.text) process.stdout.write(chunk.text);
    } catch (e) {
      if ((e as Error).name !== 'AbortError') throw e;
      process.stdout.write('\n');
      console.error('rocforge generate: stopped (Ctrl-C)');
      return 130;
    }
    const r = await stream.result();
    process.stdout.write('\n');
    console.error(`\n${formatTimings(r.timings)} (finish: ${r.finishReason}, backend: ${engine.backend.name})`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await engine.dispose();
  }
}
