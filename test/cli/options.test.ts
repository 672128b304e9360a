// The one option parser every rocforge command uses: what each command accepts (llama.cpp's names
// among them), how a mistake is reported (one line, exit 2, the nearest known option), and --help.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SPEC as CHAT } from '../../src/cli/commands/chat.ts';
import { SPEC as DETOKENIZE } from '../../src/cli/commands/detokenize.ts';
import { SPEC as CONFORM } from '../../src/cli/commands/conform.ts';
import { SPEC as DIFF } from '../../src/cli/commands/diff.ts';
import { SPEC as GENERATE } from '../../src/cli/commands/generate.ts';
import { SPEC as INFO } from '../../src/cli/commands/info.ts';
import { SPEC as SERVE } from '../../src/cli/commands/serve.ts';
import { SPEC as SYNTH } from '../../src/cli/commands/synth.ts';
import { SPEC as TOKENIZE } from '../../src/cli/commands/tokenize.ts';
import { SPEC as BENCH_MODEL } from '../../src/cli/commands/bench-model.ts';
import { SERVE_SPEC as BENCH_SERVE } from '../../src/cli/commands/bench.ts';
import { COMMAND_NAMES, main } from '../../src/cli/main.ts';
import { backendFrom } from '../../src/cli/common-options.ts';
import { nativeMessagesShown, showNativeMessages } from '../../src/backends/native-stderr.ts';
import { editDistance, nearest, parseOptions, renderHelp, spellingsOf, type CommandSpec, type OptionSpec, type OptionTable } from '../../src/cli/options.ts';
import { UsageError } from '../../src/errors.ts';

const SPECS: ReadonlyArray<CommandSpec<OptionTable>> = [INFO, SYNTH, TOKENIZE, DETOKENIZE, GENERATE, CHAT, SERVE, DIFF, CONFORM, BENCH_MODEL, BENCH_SERVE];

/** A value the option accepts: one of its choices, a number, or a word. */
function sample(o: OptionSpec): string | undefined {
  if (o.type === 'boolean') return undefined;
  if (o.choices) return o.choices.at(-1);
  return o.number ? '7' : 'x';
}

function usageError(spec: CommandSpec<OptionTable>, argv: string[]): string {
  try {
    parseOptions(spec, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`rocforge ${spec.command} ${argv.join(' ')} parsed without error`);
}

describe('every command has an option table', () => {
  it('covers every command of the CLI (bench as bench model and bench serve)', () => {
    const covered = new Set(SPECS.map((s) => s.command.split(' ')[0]));
    expect([...covered].sort()).toEqual([...COMMAND_NAMES].sort());
  });
});

describe("llama.cpp's option names", () => {
  const has = (spec: CommandSpec<OptionTable>, ...names: string[]) => {
    const known = spellingsOf(spec);
    for (const n of names) expect(known.has(n), `rocforge ${spec.command} ${n}`).toBe(true);
  };

  it('serve takes llama-server\'s: -m -c -np --host --port --api-key --alias -t -ngl -fa -b -ub --jinja -v', () => {
    has(SERVE, '-m', '--model', '-c', '--ctx-size', '-np', '--parallel', '--host', '--port', '--api-key', '-a', '--alias');
    has(SERVE, '-t', '--threads', '-ngl', '--n-gpu-layers', '--gpu-layers', '-fa', '--flash-attn', '-b', '--batch-size', '-ub', '--ubatch-size', '--jinja', '-v', '--verbose');
  });

  it("generate and chat take llama-cli's: -m -c -n -p -s --temp --top-k --top-p --min-p --repeat-penalty -t -ngl -fa -b -ub", () => {
    for (const spec of [GENERATE, CHAT]) {
      has(spec, '-m', '-c', '-n', '--n-predict', '-s', '--seed', '--temp', '--top-k', '--top-p', '--min-p', '--repeat-penalty', '--repeat-last-n');
      has(spec, '--presence-penalty', '--frequency-penalty', '-t', '-ngl', '-fa', '-b', '-ub');
    }
    has(GENERATE, '-p', '--prompt', '-f', '--file');
    has(CHAT, '-sys', '--system-prompt');
  });

  it("bench takes llama-bench's: -m -p -n -r -o -b -ub -ngl -fa -t", () => {
    has(BENCH_MODEL, '-m', '-p', '--n-prompt', '-n', '--n-gen', '-r', '--repetitions', '-o', '--output', '-b', '-ub', '-ngl', '-fa', '-t');
    expect(parseOptions(BENCH_MODEL, ['-p', '128,512', '-n', '0', '-r', '3', '-o', 'json']).values).toMatchObject({
      'n-prompt': '128,512',
      'n-gen': '0',
      repetitions: '3',
      output: 'json',
    });
  });

  it('each alias, in every command, gives the same parsed options as the long name', () => {
    let checked = 0;
    for (const spec of SPECS) {
      for (const [key, o] of Object.entries(spec.options)) {
        const v = sample(o);
        const long = parseOptions(spec, v === undefined ? [`--${key}`] : [`--${key}`, v]);
        for (const alias of o.aliases ?? []) {
          const aliased = parseOptions(spec, v === undefined ? [alias] : [alias, v]);
          expect(aliased.values, `rocforge ${spec.command} ${alias}`).toEqual(long.values);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('serve -c 512 -np 2 -ngl 99 --alias x parses (no stack trace, as before) with a note for -ngl', () => {
    const p = parseOptions(SERVE, ['-c', '512', '-np', '2', '-ngl', '99', '--alias', 'x', '-ub', '64']);
    expect(p.values).toMatchObject({ 'ctx-size': '512', parallel: '2', 'n-gpu-layers': '99', alias: 'x', 'ubatch-size': '64', port: '8080' });
    expect(p.notes).toEqual([expect.stringMatching(/^-ngl: rocforge runs every layer on the backend --backend picks .*; ignored$/)]);
  });

  it('-fa alone means on and does not swallow the next option; -fa off takes its value', () => {
    expect(parseOptions(SERVE, ['-fa', '-np', '3']).values).toMatchObject({ 'flash-attn': 'on', parallel: '3' });
    expect(parseOptions(SERVE, ['-fa', 'off']).values['flash-attn']).toBe('off');
    expect(parseOptions(SERVE, ['--flash-attn=auto']).values['flash-attn']).toBe('auto');
  });
});

describe('--verbose', () => {
  afterEach(() => showNativeMessages(false));

  it("on a command that opens a backend, lets Dawn's and the drivers' own messages through", () => {
    showNativeMessages(false);
    backendFrom(parseOptions(GENERATE, ['--backend', 'cpu']).values);
    expect(nativeMessagesShown()).toBe(false);
    backendFrom(parseOptions(SERVE, ['-v']).values);
    expect(nativeMessagesShown()).toBe(true);
  });
});

describe('values', () => {
  it('defaults fill what is not given; booleans are false; repeatable options collect', () => {
    const p = parseOptions(GENERATE, ['--stop', 'a', '--stop', 'b']);
    expect(p.values).toMatchObject({ backend: 'auto', numerics: 'exact', 'n-predict': '128', json: false, help: false, stop: ['a', 'b'], model: undefined });
  });

  it('negative numbers are values: -n -1, --seed=-5, --temp -0.5', () => {
    expect(parseOptions(GENERATE, ['-n', '-1', '--seed=-5', '--temp', '-0.5']).values).toMatchObject({ 'n-predict': '-1', seed: '-5', temp: '-0.5' });
  });

  it('-- ends the options: what follows is text', () => {
    expect(parseOptions(TOKENIZE, ['-m', 'v.gguf', '--', '--not-an-option', '-x']).positionals).toEqual(['--not-an-option', '-x']);
  });
});

describe('mistakes: one line naming the option, and the nearest known one for an unknown option', () => {
  it('a typo of any option of any command names that option', () => {
    for (const spec of SPECS) {
      for (const key of Object.keys(spec.options)) {
        const typo = `--${key}${key.at(-1)}`;
        expect(usageError(spec, [typo]), `rocforge ${spec.command} ${typo}`).toContain(`unknown option '${typo}'; the nearest known option is --${key} (`);
      }
    }
  });

  it('an unknown llama.cpp-style short option names a known one too', () => {
    expect(usageError(SERVE, ['-npp', '2'])).toMatch(/^unknown option '-npp'; the nearest known option is -np \(--parallel\) \(rocforge serve --help lists the options\)$/);
  });

  it('a missing value, a value on a switch, a malformed number or a wrong choice', () => {
    expect(usageError(SERVE, ['-np'])).toMatch(/^option -np \(--parallel\) needs a value \(N\)/);
    expect(usageError(SERVE, ['-m', '--port', '1'])).toMatch(/^option -m \(--model\) needs a value \(PATH\)/);
    expect(usageError(GENERATE, ['--json=yes'])).toMatch(/^option --json takes no value/);
    expect(usageError(SERVE, ['-np', 'two'])).toBe("-np (--parallel) must be an integer, got 'two'");
    expect(usageError(GENERATE, ['--temp', '0.8x'])).toBe("--temp must be a number, got '0.8x'");
    expect(usageError(SERVE, ['--backend', 'cuda'])).toBe("--backend must be auto, webgpu, hip or cpu, got 'cuda'");
    expect(usageError(BENCH_MODEL, ['-o', 'sql'])).toBe("-o (--output) must be md, csv, json or jsonl, got 'sql'");
  });

  it('an argument a command does not take', () => {
    expect(usageError(SERVE, ['model.gguf'])).toMatch(/^unexpected argument 'model.gguf': rocforge serve takes options only/);
  });

  it('nearest is by edit distance over the spellings', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(nearest('--ctx-sise', ['--port', '--ctx-size', '-c'])).toBe('--ctx-size');
    expect(nearest('-ngll', ['-ngl', '--n-gpu-layers'])).toBe('-ngl');
  });
});

describe('--help', () => {
  it('lists every option of every command, every spelling, each with its default (or "required")', () => {
    for (const spec of SPECS) {
      const help = renderHelp(spec);
      const lines = help.split('\n');
      for (const [key, o] of Object.entries(spec.options)) {
        const start = lines.findIndex((l) => new RegExp(`^  (-\\S+, )*--${key}\\b`).test(l));
        expect(start, `rocforge ${spec.command} --help lists --${key}`).toBeGreaterThan(0);
        for (const a of o.aliases ?? []) expect(lines[start], `${a} beside --${key}`).toContain(a);
        let end = start + 1;
        while (end < lines.length && lines[end]!.startsWith('    ')) end++;
        expect(lines.slice(start, end).join(' '), `rocforge ${spec.command} --${key}`).toMatch(/\((default [^)]+|required)\)$/);
      }
    }
  });

  it('shows the literal defaults the parser fills in', () => {
    const help = renderHelp(SERVE);
    expect(help).toMatch(/-np, --parallel N +concurrent sequences, one KV-cache slot each \(default 4\)/);
    expect(help).toMatch(/--host HOST .*\(default 127\.0\.0\.1\)/);
    expect(renderHelp(BENCH_MODEL)).toMatch(/-r, --repetitions N +timed runs of each test \(default 5\)/);
  });
});

describe('main: every command answers an unknown option with one line and exit code 2', () => {
  let err: string[];
  let out: string[];
  beforeEach(() => {
    err = [];
    out = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());

  const cases = [...COMMAND_NAMES, 'bench model', 'bench serve'];
  it.each(cases)('rocforge %s --bogus', async (command) => {
    const cmd = command.split(' ');
    expect(await main([...cmd, '--bogus'])).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).not.toContain('\n');
    expect(err[0]).toMatch(new RegExp(`^rocforge ${cmd[0]}: unknown option '--bogus'; the nearest known option is -?-[a-z]`));
    expect(out).toEqual([]);
  });

  it.each(cases)('rocforge %s --help exits 0 with the usage on stdout', async (command) => {
    expect(await main([...command.split(' '), '--help'])).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`^usage: rocforge ${command}`));
    expect(err).toEqual([]);
  });

  it('an unknown command or benchmark names the nearest one', async () => {
    expect(await main(['serv'])).toBe(2);
    expect(await main(['bench', 'srve'])).toBe(2);
    expect(err).toEqual([
      "rocforge: unknown command 'serv'; the nearest is 'serve' (rocforge --help lists the commands)",
      "rocforge bench: unknown benchmark 'srve'; the nearest is 'serve' (rocforge bench --help)",
    ]);
  });
});
