// rocforge chat: an interactive chat in the terminal. Each line read is a user turn; the reply
// streams to stdout and the history is kept (oldest turns are dropped when the context fills).
import { createInterface } from 'node:readline';
import { ContextOverflowError, InvalidRequestError } from '../../errors.ts';
import type { InferenceEngine } from '../../engine/engine.ts';
import type { ChatMessage, GenerateOptions } from '../../engine/types.ts';
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
  command: 'chat',
  usage: '[-m model.gguf] [options]',
  description: `An interactive chat using the model's chat template (or a plain "User:/Assistant:" transcript when
it has none). Type a message and press Enter; the reply streams back. Works with piped stdin too.

commands: /exit (or /quit, or Ctrl-D) leaves, /reset forgets the conversation.
Ctrl-C stops a reply that is being written; at the prompt it leaves.`,
  options: {
    model: MODEL_OPTION,
    system: { type: 'string', aliases: ['-sys', '--system-prompt'], arg: 'TEXT', help: 'system message' },
    'n-predict': { type: 'string', aliases: ['-n', '--predict'], arg: 'N', number: 'int', help: 'most tokens per reply', default: '256' },
    ...BACKEND_OPTIONS,
    'ctx-size': CTX_OPTION,
    ...SAMPLING_OPTIONS,
    ...BATCH_OPTIONS,
    jinja: { type: 'boolean', help: "llama.cpp's switch for the model's chat template; rocforge always uses it, so this is ignored", defaultText: 'on', note: "rocforge always renders the model's own chat template; ignored" },
    ...LLAMA_IGNORED_OPTIONS,
    verbose: { type: 'boolean', aliases: ['-v'], help: "print each reply's speeds to stderr; show Dawn's and the drivers' own messages and the stack of unexpected errors" },
  },
});

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseCommand(SPEC, argv);
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  const sampling = samplingFrom(v);
  const maxTokens = numberFlag(v['n-predict'])!;
  if (maxTokens < 1) throw new InvalidRequestError(`--n-predict must be at least 1, got ${maxTokens}`);
  const system = v.system;

  const engine = await engineFrom(v, 'chat');
  const interactive = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive });
  const base: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
  let history: ChatMessage[] = [...base];
  let current: AbortController | undefined;
  rl.on('SIGINT', () => {
    if (current) current.abort();
    else rl.close();
  });
  if (interactive) {
    console.error(`rocforge chat: ${engine.modelName} on ${engine.backend.name}, context ${engine.contextLength}. /exit leaves, /reset forgets.`);
    rl.setPrompt('> ');
    rl.prompt();
  }
  try {
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        history = [...base];
      } else if (line.length > 0) {
        history.push({ role: 'user', content: line });
        history = fitHistory(engine, history, base.length, maxTokens);
        current = new AbortController();
        const reply = await streamReply(engine, history, { ...sampling, maxTokens, signal: current.signal }, v.verbose);
        current = undefined;
        if (reply === undefined) history.pop();
        else history.push({ role: 'assistant', content: reply });
      }
      if (interactive) rl.prompt();
    }
  } finally {
    rl.close();
    await engine.dispose();
  }
  return 0;
}

/**
 * Drops the oldest turns (keeping the system message and the last user turn) until the prompt plus
 * a full reply fits the context; the engine's own check reports a single turn that cannot fit.
 */
function fitHistory(engine: InferenceEngine, history: ChatMessage[], keep: number, maxTokens: number): ChatMessage[] {
  let h = history;
  const fits = (msgs: ChatMessage[]) => engine.tokenize(engine.renderChat(msgs), { parseSpecial: true }).length + maxTokens <= engine.contextLength;
  while (h.length - keep > 1 && !fits(h)) h = [...h.slice(0, keep), ...h.slice(keep + 1)];
  return h;
}

/** Streams one reply to stdout; returns its text, or undefined when it was stopped or failed. */
async function streamReply(engine: InferenceEngine, history: ChatMessage[], opts: GenerateOptions, verbose: boolean): Promise<string | undefined> {
  let stream;
  try {
    stream = engine.chatStreaming(history, opts);
  } catch (e) {
    if (e instanceof ContextOverflowError) {
      console.error(`rocforge chat: ${e.message}`);
      return undefined;
    }
    throw e;
  }
  try {
    for await (const c of stream) if (c.text) process.stdout.write(c.text);
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
    process.stdout.write('\n');
    console.error('(stopped)');
    return undefined;
  }
  const r = await stream.result();
  process.stdout.write('\n');
  if (verbose) console.error(formatTimings(r.timings));
  return r.text;
}
