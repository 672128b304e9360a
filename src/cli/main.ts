// rocforge command-line entry: dispatches to one module per command in ./commands/. Every failure
// is one line on stderr: usage mistakes exit 2, other errors 1 (with the stack only under --verbose).
import { RocforgeError, UsageError } from '../errors.ts';
import { nearest } from './options.ts';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { describe: string; load: () => Promise<Command> }> = {
  info: { describe: 'show a GGUF file: architecture, hyper-parameters, tensors', load: async () => (await import('./commands/info.ts')).run },
  synth: { describe: 'write a random-weight llama/qwen2/llama3/gemma2/phi3 GGUF of any shape and type', load: async () => (await import('./commands/synth.ts')).run },
  tokenize: { describe: 'print the token ids of a text', load: async () => (await import('./commands/tokenize.ts')).run },
  detokenize: { describe: 'print the text of token ids', load: async () => (await import('./commands/detokenize.ts')).run },
  generate: { describe: 'generate text from a prompt', load: async () => (await import('./commands/generate.ts')).run },
  chat: { describe: 'interactive chat in the terminal', load: async () => (await import('./commands/chat.ts')).run },
  serve: { describe: 'OpenAI-compatible HTTP server (llama-server\'s options work too)', load: async () => (await import('./commands/serve.ts')).run },
  diff: { describe: 'compare backends op by op (or one backend with llama.cpp: --oracle)', load: async () => (await import('./commands/diff.ts')).run },
  conform: { describe: 'check another OpenAI-compatible server (llama-server, vLLM) against the reference', load: async () => (await import('./commands/conform.ts')).run },
  bench: { describe: 'prefill/decode speed like llama-bench (-p -n -r -o); bench serve: HTTP load', load: async () => (await import('./commands/bench.ts')).run },
};

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(11)} ${v.describe}`);
  return `usage: rocforge <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nrocforge <command> --help shows a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return cmd ? 0 : 1;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    console.error(`rocforge: unknown command '${cmd}'; the nearest is '${nearest(cmd, COMMAND_NAMES)}' (rocforge --help lists the commands)`);
    return 2;
  }
  let run: Command;
  try {
    run = await entry.load();
  } catch (e) {
    console.error(`rocforge: command '${cmd}' is not available in this build (${(e as Error).message})`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`rocforge ${cmd}: ${oneLine(e.message)}`);
      return 2;
    }
    if (e instanceof RocforgeError) {
      console.error(`rocforge ${cmd}: ${oneLine(e.message)}`);
      return 1;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    // --verbose is scanned raw: the failure may have happened before (or inside) option parsing.
    if (rest.includes('--verbose') || rest.includes('-v')) console.error(`rocforge ${cmd}: ${err.stack ?? err.message}`);
    else console.error(`rocforge ${cmd}: ${oneLine(err.message)} (run with --verbose for the stack)`);
    return 1;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
