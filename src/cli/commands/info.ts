// `rocforge info <file>`: what a GGUF file holds: architecture, hyper-parameters, tokenizer, tensors.
import { InvalidRequestError } from '../../errors.ts';
import { GgufFile } from '../../gguf/reader.ts';
import { typeName, type GgufValue } from '../../gguf/types.ts';
import { VERBOSE_OPTION } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';

export const SPEC = defineCommand({
  command: 'info',
  usage: '<file.gguf> [--json]',
  description: `Shows a GGUF file's architecture, hyper-parameters, tokenizer (model, vocab size, bos/eos,
chat template) and tensors (count, bytes per type, total). Works on vocab-only files.`,
  positionals: 'FILE',
  options: {
    model: { type: 'string', aliases: ['-m'], arg: 'PATH', help: 'the GGUF file (instead of the argument)' },
    json: { type: 'boolean', help: 'print one JSON object instead of text' },
    verbose: VERBOSE_OPTION,
  },
});

export interface TypeSummary {
  readonly tensors: number;
  readonly parameters: number;
  readonly bytes: number;
}

export interface GgufSummary {
  readonly file: string;
  readonly fileSize: number;
  readonly version: number;
  readonly alignment: number;
  readonly architecture: string | null;
  readonly name: string | null;
  /** `<arch>.*` keys without the prefix, scalars only. */
  readonly hparams: Record<string, number | string | boolean>;
  readonly tokenizer: {
    readonly model: string | null;
    readonly pre: string | null;
    readonly vocabSize: number;
    readonly bos: { readonly id: number; readonly token: string | null } | null;
    readonly eos: { readonly id: number; readonly token: string | null } | null;
    readonly merges: number;
    readonly hasChatTemplate: boolean;
  };
  readonly tensors: {
    readonly count: number;
    readonly parameters: number;
    readonly bytes: number;
    readonly byType: Record<string, TypeSummary>;
  };
}

function scalar(v: GgufValue | undefined): number | string | boolean | undefined {
  if (v === undefined || Array.isArray(v)) return undefined;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return v;
}

export function summarize(g: GgufFile): GgufSummary {
  const md = g.metadata;
  const str = (k: string) => {
    const v = md.get(k);
    return typeof v === 'string' ? v : null;
  };
  const arch = str('general.architecture');
  const hparams: Record<string, number | string | boolean> = {};
  if (arch) {
    for (const [k, v] of md) {
      const s = scalar(v);
      if (k.startsWith(`${arch}.`) && s !== undefined) hparams[k.slice(arch.length + 1)] = s;
    }
  }
  const tokens = md.get('tokenizer.ggml.tokens');
  const tokenList = Array.isArray(tokens) ? tokens : [];
  const special = (k: string) => {
    const id = scalar(md.get(k));
    if (typeof id !== 'number') return null;
    const t = tokenList[id];
    return { id, token: typeof t === 'string' ? t : null };
  };
  const merges = md.get('tokenizer.ggml.merges');

  const byType: Record<string, TypeSummary> = {};
  let parameters = 0;
  let bytes = 0;
  for (const t of g.tensors) {
    const name = typeName(t.type);
    const prev = byType[name] ?? { tensors: 0, parameters: 0, bytes: 0 };
    byType[name] = { tensors: prev.tensors + 1, parameters: prev.parameters + t.nElements, bytes: prev.bytes + t.nbytes };
    parameters += t.nElements;
    bytes += t.nbytes;
  }
  return {
    file: g.path,
    fileSize: g.header.fileSize,
    version: g.header.version,
    alignment: g.header.alignment,
    architecture: arch,
    name: str('general.name'),
    hparams,
    tokenizer: {
      model: str('tokenizer.ggml.model'),
      pre: str('tokenizer.ggml.pre'),
      vocabSize: tokenList.length,
      bos: special('tokenizer.ggml.bos_token_id'),
      eos: special('tokenizer.ggml.eos_token_id'),
      merges: Array.isArray(merges) ? merges.length : 0,
      hasChatTemplate: typeof md.get('tokenizer.chat_template') === 'string',
    },
    tensors: { count: g.tensors.length, parameters, bytes, byType },
  };
}

/** Human-readable size in binary units. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function renderSummary(s: GgufSummary): string {
  const lines: string[] = [];
  lines.push(`file:           ${s.file}`);
  lines.push(`size:           ${formatBytes(s.fileSize)} (${s.fileSize} bytes), GGUF v${s.version}, alignment ${s.alignment}`);
  lines.push(`architecture:   ${s.architecture ?? '(none)'}`);
  if (s.name) lines.push(`name:           ${s.name}`);
  const hp = Object.entries(s.hparams);
  if (hp.length) {
    lines.push('hyper-parameters:');
    const w = Math.max(...hp.map(([k]) => k.length));
    for (const [k, v] of hp) lines.push(`  ${k.padEnd(w)}  ${typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(7)) : v}`);
  }
  const t = s.tokenizer;
  const tok = (x: GgufSummary['tokenizer']['bos']) => (x ? `${x.id}${x.token !== null ? ` ${JSON.stringify(x.token)}` : ''}` : '-');
  lines.push('tokenizer:');
  lines.push(`  model          ${t.model ?? '(none)'}${t.pre ? ` (pre: ${t.pre})` : ''}`);
  lines.push(`  vocab size     ${t.vocabSize}${t.merges ? `, ${t.merges} merges` : ''}`);
  lines.push(`  bos / eos      ${tok(t.bos)} / ${tok(t.eos)}`);
  lines.push(`  chat template  ${t.hasChatTemplate ? 'yes' : 'no'}`);
  const ts = s.tensors;
  lines.push(`tensors:        ${ts.count} (${formatCount(ts.parameters)} parameters, ${formatBytes(ts.bytes)})`);
  for (const [type, v] of Object.entries(ts.byType).sort((a, b) => b[1].bytes - a[1].bytes)) {
    lines.push(`  ${type.padEnd(8)} ${String(v.tensors).padStart(5)} tensors  ${formatCount(v.parameters).padStart(8)} params  ${formatBytes(v.bytes).padStart(11)}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(SPEC, argv);
  if (values.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  const files = values.model !== undefined ? [values.model, ...positionals] : positionals;
  if (files.length !== 1) throw new InvalidRequestError(`expected one GGUF file, got ${files.length}: rocforge info model.gguf`);
  const g = await GgufFile.open(files[0]!);
  try {
    const s = summarize(g);
    console.log(values.json ? JSON.stringify(s, null, 2) : renderSummary(s));
  } finally {
    await g.close();
  }
  return 0;
}
