// rocforge generate: streams a completion of a prompt to stdout, speeds to stderr (or --json).
import { readFileSync } from 'node:fs';
import type { GenerateOptions } from '../../engine/types.ts';
import { InvalidRequestError } from '../../errors.ts';
import {
  BACKEND_OPTIONS,
  BATCH_OPTIONS,
  CTX_OPTION,
  LLAMA_IGNORED_OPTIONS,
  MODEL_OPTION,
  SAMPLING_OPTIONS,
  engineFrom,
  formatTimings,
  numberFlag,
  samplingFrom,
} from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';

export const SPEC = defineCommand({
  command: 'generate',
  usage: '[-m model.gguf] -p "prompt" [options]',
  description:
    'Streams the model\'s continuation of the prompt to stdout; prompt and generation speeds go to\nstderr at the end. Ctrl-C stops the generation.',
  options: {
    model: MODEL_OPTION,
    prompt: { type: 'string', aliases: ['-p'], arg: 'TEXT', help: 'prompt', defaultText: 'empty, i.e. start from BOS' },
    file: { type: 'string', aliases: ['-f'], arg: 'FILE', help: 'read the prompt from a file (instead of -p)', defaultText: 'none' },
    'n-predict': { type: 'string', aliases: ['-n', '--predict'], arg: 'N', number: 'int', help: 'tokens to generate; -1: until the context is full', default: '128' },
    ...BACKEND_OPTIONS,
    'ctx-size': CTX_OPTION,
    ...SAMPLING_OPTIONS,
    stop: { type: 'string', multiple: true, arg: 'TEXT', help: 'stop before this text (repeatable)' },
    json: { type: 'boolean', help: 'print one JSON object { text, tokens, tokensGenerated, finishReason, promptTokens, timings } instead of streaming' },
    ...BATCH_OPTIONS,
    ...LLAMA_IGNORED_OPTIONS,
    verbose: { type: 'boolean', aliases: ['-v'], help: "show Dawn's and the drivers' own messages and the stack of unexpected errors" },
  },
});

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseCommand(SPEC, argv);
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  const sampling = samplingFrom(v);
  let maxTokens = numberFlag(v['n-predict'])!;
  if (maxTokens < -1) throw new InvalidRequestError(`--n-predict must be -1 or more, got ${maxTokens}`);
  if (v.file !== undefined && v.prompt !== undefined) throw new InvalidRequestError('pass the prompt either with -p or with -f, not both');
  const prompt = v.file !== undefined ? readPromptFile(v.file) : (v.prompt ?? '');

  const engine = await engineFrom(v, 'generate');
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    if (maxTokens === -1) maxTokens = engine.contextLength - engine.tokenize(prompt).length;
    const opts: GenerateOptions = { ...sampling, maxTokens, stop: v.stop, signal: ac.signal };
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

function readPromptFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidRequestError(`cannot read the prompt file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): pass an existing text file to -f`);
  }
}
