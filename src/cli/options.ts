// One option parser for every rocforge command. Each command declares a table of options; the same
// table gives the accepted spellings (llama.cpp's among them, e.g. -np, -ngl, which node:util's
// parseArgs cannot read as short options), the one-line usage errors (naming the nearest known
// option) and the --help text (every option with its default).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** Other spellings, dashes included: '-m', '-np', '--gpu-layers'. The key is the --long name. */
  readonly aliases?: readonly string[];
  /** The value's name in --help: PATH, N, TEXT. */
  readonly arg?: string;
  /** What the option does; lines after the first are continuation lines. */
  readonly help: string;
  readonly default?: string;
  /** How --help shows the default when it is not a literal value (or there is none). */
  readonly defaultText?: string;
  /** Shown as "(required)" in --help; the command checks it (its message says what to pass). */
  readonly required?: boolean;
  readonly multiple?: boolean;
  /** The only accepted values. */
  readonly choices?: readonly string[];
  /** With choices: the value when the option is given bare (llama.cpp's `-fa` alone means on). */
  readonly implied?: string;
  /** The value must parse as this kind of number (ranges are the command's to check). */
  readonly number?: 'int' | 'float';
  /** Accepted for llama.cpp users but without effect: this note is printed when it is given. */
  readonly note?: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec<O extends OptionTable> {
  /** As typed after `rocforge`: 'serve', 'bench model'. */
  readonly command: string;
  /** The usage line after `rocforge <command> `. */
  readonly usage: string;
  /** Paragraphs between the usage line and the options. */
  readonly description?: string;
  readonly options: O;
  /** Set when the command takes positional arguments (their name in the usage line). */
  readonly positionals?: string;
  /** Text after the option list (examples, notes). */
  readonly epilog?: string;
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S extends { readonly multiple: true }
    ? string[]
    : S extends { readonly default: string }
      ? string
      : string | undefined;

export type Values<O extends OptionTable> = { -readonly [K in keyof O]: ValueOf<O[K]> } & { help: boolean };

export interface Parsed<O extends OptionTable> {
  values: Values<O>;
  positionals: string[];
  /** One line per given option that has a note (llama.cpp options rocforge ignores). */
  notes: string[];
}

const HELP_OPTION: OptionSpec = { type: 'boolean', aliases: ['-h'], help: 'show this help' };

/** Declares a command; `const` keeps the option table's literal types for Values. */
export function defineCommand<const O extends OptionTable>(spec: CommandSpec<O>): CommandSpec<O> {
  for (const [key, o] of Object.entries(spec.options)) {
    if (key === 'help') throw new Error(`${spec.command}: --help is added to every command; do not declare it`);
    if (o.implied !== undefined && !o.choices?.includes(o.implied)) throw new Error(`${spec.command}: --${key}: implied value must be one of its choices`);
  }
  spellingsOf(spec); // throws on a spelling used twice
  return spec;
}

function allOptions(spec: CommandSpec<OptionTable>): [string, OptionSpec][] {
  return [...Object.entries(spec.options), ['help', HELP_OPTION]];
}

/** Every accepted spelling, dashes included, mapped to its option's key. */
export function spellingsOf(spec: CommandSpec<OptionTable>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, o] of allOptions(spec)) {
    for (const s of [`--${key}`, ...(o.aliases ?? [])]) {
      if (!/^--?[a-z][a-z0-9-]*$/i.test(s)) throw new Error(`${spec.command}: bad spelling ${s}`);
      if (m.has(s)) throw new Error(`${spec.command}: ${s} is declared twice`);
      m.set(s, key);
    }
  }
  return m;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known spelling closest to `given` (dashes ignored, case-insensitive); ties go to the earlier one. */
export function nearest(given: string, known: Iterable<string>): string {
  const bare = (s: string) => s.replace(/^-+/, '').toLowerCase();
  let best = '';
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(bare(given), bare(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** How an option is named in messages: its spelling, plus the long name when that differs. */
function display(spelling: string, key: string): string {
  return spelling === `--${key}` ? spelling : `${spelling} (--${key})`;
}

const NUMBER = { int: /^[+-]?\d+$/, float: /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i } as const;

/**
 * Parses argv by the command's table. Throws UsageError (one line) for an unknown option, a
 * missing, unexpected or malformed value, or a positional argument the command does not take.
 */
export function parseOptions<O extends OptionTable>(spec: CommandSpec<O>, argv: readonly string[]): Parsed<O> {
  const spellings = spellingsOf(spec);
  const table = new Map<string, OptionSpec>(allOptions(spec));
  const hint = `rocforge ${spec.command} --help lists the options`;
  const isKnown = (tok: string) => spellings.has(tok.includes('=') ? tok.slice(0, tok.indexOf('=')) : tok);
  const canonical: string[] = [];
  const positionals: string[] = [];
  const notes: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // A lone dash and negative numbers are values, not options.
    if (!tok.startsWith('-') || tok === '-' || NUMBER.float.test(tok)) {
      if (spec.positionals === undefined) throw new UsageError(`unexpected argument '${tok}': rocforge ${spec.command} takes options only (${hint})`);
      positionals.push(tok);
      continue;
    }
    const eq = tok.indexOf('=');
    const spelling = eq > 0 ? tok.slice(0, eq) : tok;
    const key = spellings.get(spelling);
    if (key === undefined) {
      const near = nearest(spelling, spellings.keys());
      throw new UsageError(`unknown option '${spelling}'; the nearest known option is ${display(near, spellings.get(near)!)} (${hint})`);
    }
    const o = table.get(key)!;
    const name = display(spelling, key);
    let value: string | undefined;
    if (o.type === 'boolean') {
      if (eq > 0) throw new UsageError(`option ${name} takes no value, got '${tok}' (${hint})`);
    } else if (eq > 0) {
      value = tok.slice(eq + 1);
    } else if (o.implied !== undefined) {
      const next = argv[i + 1];
      value = next !== undefined && o.choices!.includes(next) ? (i++, next) : o.implied;
    } else {
      const next = argv[i + 1];
      if (next === undefined || isKnown(next)) throw new UsageError(`option ${name} needs a value${o.arg ? ` (${o.arg})` : ''} (${hint})`);
      value = next;
      i++;
    }
    if (value !== undefined) {
      if (o.choices && !o.choices.includes(value)) throw new UsageError(`${name} must be ${orList(o.choices)}, got '${value}'`);
      if (o.number && !NUMBER[o.number].test(value.trim())) throw new UsageError(`${name} must be ${o.number === 'int' ? 'an integer' : 'a number'}, got '${value}'`);
    }
    if (o.note) notes.push(`${spelling}: ${o.note}`);
    canonical.push(value === undefined ? `--${key}` : `--${key}=${value}`);
  }

  // Every token is now a known --long or --long=value, so parseArgs only collects them.
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const [key, o] of table) config[key] = o.type === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: o.multiple === true };
  const { values: raw } = parseArgs({ args: canonical, options: config, strict: true, allowPositionals: false });
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const [key, o] of table) {
    const v = raw[key] as string | boolean | string[] | undefined;
    if (o.type === 'boolean') values[key] = v === true;
    else values[key] = v ?? (o.multiple ? (o.default !== undefined ? [o.default] : []) : o.default);
  }
  return { values: values as Values<O>, positionals, notes: [...new Set(notes)] };
}

/** parseOptions, printing the notes of ignored llama.cpp options to stderr. */
export function parseCommand<O extends OptionTable>(spec: CommandSpec<O>, argv: readonly string[]): Parsed<O> {
  const parsed = parseOptions(spec, argv);
  for (const n of parsed.notes) console.error(`rocforge ${spec.command}: note: ${n}`);
  return parsed;
}

function orList(xs: readonly string[]): string {
  return xs.length <= 2 ? xs.join(' or ') : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)}`;
}

const LEFT_WIDTH = 28;
const TEXT_WIDTH = 70;

/** Breaks a paragraph into lines of at most `width` characters (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out;
}

/** The --help text: usage, description, then every option with its spellings and its default. */
export function renderHelp(spec: CommandSpec<OptionTable>): string {
  const lines = [`usage: rocforge ${spec.command} ${spec.usage}`];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'options:');
  const pad = ' '.repeat(LEFT_WIDTH + 2);
  for (const [key, o] of allOptions(spec)) {
    const names = [...(o.aliases ?? []).filter((a) => !a.startsWith('--')), `--${key}`, ...(o.aliases ?? []).filter((a) => a.startsWith('--'))];
    const left = `  ${names.join(', ')}${o.arg ? ` ${o.arg}` : ''}`;
    const text = wrap(`${o.help}${key === 'help' ? '' : o.required ? ' (required)' : ` (default ${defaultOf(o)})`}`, TEXT_WIDTH);
    if (left.length <= LEFT_WIDTH) lines.push(`${left.padEnd(LEFT_WIDTH)}  ${text[0]}`);
    else lines.push(left, `${pad}${text[0]}`);
    for (const t of text.slice(1)) lines.push(`${pad}${t}`);
  }
  if (spec.epilog) lines.push('', spec.epilog);
  return lines.join('\n');
}

function defaultOf(o: OptionSpec): string {
  if (o.defaultText !== undefined) return o.defaultText;
  if (o.default !== undefined) return o.default;
  return o.type === 'boolean' ? 'off' : 'none';
}
