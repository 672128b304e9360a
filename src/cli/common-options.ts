// Options shared by the commands that load a model (generate, chat, serve, bench model), with
// llama.cpp's spellings as aliases, and the helpers that turn their values into engine options.
import { createBackend, type BackendChoice, type Numerics } from '../backends/index.ts';
import type { Backend } from '../backends/backend.ts';
import { showNativeMessages } from '../backends/native-stderr.ts';
import { InferenceEngine } from '../engine/engine.ts';
import type { GenerateOptions, Timings } from '../engine/types.ts';
import { InvalidRequestError } from '../errors.ts';
import { DEFAULT_MODEL_NOTICE, resolveModel } from '../server/model-source.ts';
import type { OptionSpec } from './options.ts';

export const MODEL_OPTION = {
  type: 'string',
  aliases: ['-m'],
  arg: 'PATH',
  help: 'GGUF file',
  defaultText: '$ROCFORGE_MODEL, else the built-in stories260K demo',
} as const satisfies OptionSpec;

export const BACKEND_OPTIONS = {
  backend: {
    type: 'string',
    arg: 'NAME',
    choices: ['auto', 'webgpu', 'hip', 'cpu'],
    default: 'auto',
    help: 'auto | webgpu | hip | cpu (auto: webgpu if an adapter exists, else cpu)',
  },
  numerics: {
    type: 'string',
    arg: 'MODE',
    choices: ['exact', 'fast'],
    default: 'exact',
    help: "exact | fast: GPU kernels replay llama.cpp's CPU arithmetic bit for bit, or plain f32 kernels (faster prefill; logits within ~1e-2)",
  },
} as const satisfies Record<string, OptionSpec>;

/** llama.cpp options that have no counterpart here: accepted, with a note saying why they do nothing. */
export const LLAMA_IGNORED_OPTIONS = {
  'n-gpu-layers': {
    type: 'string',
    aliases: ['-ngl', '--gpu-layers'],
    arg: 'N',
    number: 'int',
    help: "llama.cpp's GPU layer count; rocforge runs every layer on --backend, so this is ignored",
    defaultText: 'all',
    note: 'rocforge runs every layer on the backend --backend picks (webgpu, hip: all on the GPU; cpu: all on the CPU); ignored',
  },
  'flash-attn': {
    type: 'string',
    aliases: ['-fa'],
    arg: '[on|off|auto]',
    choices: ['on', 'off', 'auto'],
    implied: 'on',
    help: "llama.cpp's flash-attention switch; the GPU backends always fuse attention, so this is ignored",
    defaultText: 'on for GPUs',
    note: "the GPU backends always compute attention in one fused kernel per layer; cpu follows llama.cpp's CPU arithmetic; ignored",
  },
  threads: {
    type: 'string',
    aliases: ['-t'],
    arg: 'N',
    number: 'int',
    help: 'CPU threads; the cpu backend uses one, so this is ignored',
    defaultText: '1',
    note: 'the cpu backend runs on one JavaScript thread and the GPU backends on the GPU; ignored',
  },
} as const satisfies Record<string, OptionSpec>;

/** llama.cpp's -b/-ub: here both bound the prompt tokens of one forward step (chunked prefill). */
export const BATCH_OPTIONS = {
  'batch-size': { type: 'string', aliases: ['-b'], arg: 'N', number: 'int', help: 'prompt tokens per forward step (with -ub too: the smaller)', defaultText: '256' },
  'ubatch-size': { type: 'string', aliases: ['-ub'], arg: 'N', number: 'int', help: 'the same, as llama.cpp\'s physical batch', defaultText: '256' },
} as const satisfies Record<string, OptionSpec>;

export const CTX_OPTION = {
  type: 'string',
  aliases: ['-c'],
  arg: 'N',
  number: 'int',
  help: 'context length per sequence',
  defaultText: "the model's, at most 4096",
} as const satisfies OptionSpec;

/** --verbose on commands that do not open a backend: only the stack of unexpected errors. */
export const VERBOSE_OPTION = { type: 'boolean', aliases: ['-v'], help: 'print the stack of unexpected errors' } as const satisfies OptionSpec;

export const SAMPLING_OPTIONS = {
  temp: { type: 'string', arg: 'X', number: 'float', help: 'temperature; 0 = greedy', defaultText: '0.8' },
  'top-k': { type: 'string', arg: 'N', number: 'int', help: 'keep the N most likely tokens; 0 = off', defaultText: '40' },
  'top-p': { type: 'string', arg: 'X', number: 'float', help: 'nucleus sampling; 1 = off', defaultText: '0.95' },
  'min-p': { type: 'string', arg: 'X', number: 'float', help: "drop tokens below X times the best one's probability", defaultText: '0.05' },
  'repeat-penalty': { type: 'string', arg: 'X', number: 'float', help: 'penalize repeated tokens; 1 = off', defaultText: '1' },
  'repeat-last-n': { type: 'string', arg: 'N', number: 'int', help: 'tokens the penalties look back over; -1 = all', defaultText: '64' },
  'presence-penalty': { type: 'string', arg: 'X', number: 'float', help: 'subtract X from the logit of every token seen', defaultText: '0' },
  'frequency-penalty': { type: 'string', arg: 'X', number: 'float', help: 'subtract X per occurrence of a seen token', defaultText: '0' },
  seed: { type: 'string', aliases: ['-s'], arg: 'N', number: 'int', help: 'random seed', defaultText: 'random' },
} as const satisfies Record<string, OptionSpec>;

type Raw = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** A number option's value (its format was checked by the parser; ranges are checked by the engine). */
export function numberFlag(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** An integer option that must be at least `min`. */
export function intAtLeast(name: string, v: string | undefined, min: number): number | undefined {
  const n = numberFlag(v);
  if (n !== undefined && n < min) throw new InvalidRequestError(`--${name} must be at least ${min}, got ${n}`);
  return n;
}

export function samplingFrom(v: Raw): GenerateOptions {
  const n = (k: keyof typeof SAMPLING_OPTIONS) => numberFlag(v[k] as string | undefined);
  const o: GenerateOptions = {
    temperature: n('temp'),
    topK: n('top-k'),
    topP: n('top-p'),
    minP: n('min-p'),
    repeatPenalty: n('repeat-penalty'),
    penaltyLastN: n('repeat-last-n'),
    presencePenalty: n('presence-penalty'),
    frequencyPenalty: n('frequency-penalty'),
    seed: n('seed'),
  };
  for (const k of Object.keys(o) as Array<keyof GenerateOptions>) if (o[k] === undefined) delete o[k];
  return o;
}

/** The engine's prefill chunk from -b/-ub (undefined: the engine's default). */
export function prefillChunkFrom(v: Raw): number | undefined {
  const b = intAtLeast('batch-size', v['batch-size'] as string | undefined, 1);
  const ub = intAtLeast('ubatch-size', v['ubatch-size'] as string | undefined, 1);
  if (b === undefined) return ub;
  return ub === undefined ? b : Math.min(b, ub);
}

/** Backend choice, numerics and --verbose (native libraries' own messages) from the flags. */
export function backendFrom(v: Raw): { backend: BackendChoice; numerics: Numerics } {
  // Dawn's and the drivers' messages are dropped unless asked for (or ROCFORGE_VERBOSE=1).
  if (v.verbose === true) showNativeMessages(true);
  return { backend: v.backend as BackendChoice, numerics: v.numerics as Numerics };
}

/** Opens the backend the flags describe, so that one that cannot start fails before anything else. */
export async function openBackend(v: Raw): Promise<Backend> {
  const { backend, numerics } = backendFrom(v);
  return createBackend(backend, { numerics });
}

/** Loads the engine the flags describe (model, backend, numerics, context, batch, --verbose). */
export async function engineFrom(v: Raw, command: string): Promise<InferenceEngine> {
  const source = resolveModel(v.model as string | undefined, process.env);
  if (source.demo) console.error(`rocforge ${command}: ${DEFAULT_MODEL_NOTICE}`);
  const contextLength = intAtLeast('ctx-size', v['ctx-size'] as string | undefined, 1);
  const prefillChunk = prefillChunkFrom(v);
  return InferenceEngine.create(source.path, { ...backendFrom(v), contextLength, ...(prefillChunk !== undefined ? { prefillChunk } : {}) });
}

export function formatTimings(t: Timings): string {
  const f = (x: number) => x.toFixed(1);
  return (
    `prompt: ${t.promptTokens} tokens in ${f(t.promptMs)} ms, ${f(t.promptTokensPerSecond)} tokens/s | ` +
    `generation: ${t.generatedTokens} tokens in ${f(t.generateMs)} ms, ${f(t.tokensPerSecond)} tokens/s`
  );
}
