// rocforge chat: an interactive chat in the terminal. Each line read is a user turn; the reply
// streams to stdout and the history is kept (oldest turns are dropped when the context fills).
import { createInterface } from 'node:readline';
import { ContextOverflowError, InvalidRequestError } from '../../errors.ts';
import type { InferenceEngine } from '../../engine/engine.ts';
import type { ChatMessage, GenerateOptions } from '../../engine/types.ts';
import { ENGINE_OPTIONS, SAMPLING_HELP, SAMPLING_OPTIONS, engineFrom, formatTimings, numberFlag, parseOrUsage, samplingFrom } from './generate.ts';

const HELP = `usage: rocforge chat [-m model.gguf] [options]

An interactive chat using the model's chat template (or a plain "User:/Assistant:" transcript when
it has none). Type a message and press Enter; the reply streams back. Works with piped stdin too.

commands: /exit (or /quit, or Ctrl-D) leaves, /reset forgets the conversation.
Ctrl-C stops a reply that is being written; at the prompt it leaves.

options:
  -m, --model PATH          GGUF file (default: $ROCFORGE_MODEL, else the built-in stories260K demo)
  --system TEXT             system message
  -n, --n-predict N         most tokens per reply (default 256)
  --backend NAME            auto | webgpu | hip | cpu (default auto)
  --numerics MODE           exact | fast GPU arithmetic (default exact; see rocforge generate --help)
  -c, --ctx-size N          context length (default: the model's, at most 4096)
${SAMPLING_HELP()}
  --verbose                 print each reply's speeds to stderr
  -h, --help                this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseOrUsage(
    argv,
    {
      ...ENGINE_OPTIONS,
      ...SAMPLING_OPTIONS,
      system: { type: 'string' },
      'n-predict': { type: 'string', short: 'n', default: '256' },
      verbose: { type: 'boolean', default: false },
    },
    'chat',
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const sampling = samplingFrom(v);
  const maxTokens = numberFlag('n-predict', v['n-predict'] as string, true)!;
  if (maxTokens < 1) throw new InvalidRequestError(`--n-predict must be at least 1, got ${maxTokens}`);
  const system = v.system as string | undefined;

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
        const reply = await streamReply(engine, history, { ...sampling, maxTokens, signal: current.signal }, v.verbose === true);
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
