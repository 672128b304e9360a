// `rocforge synth`: writes a random-weight llama/qwen2/llama3/gemma2/phi3 GGUF of any shape and tensor type.
import { InvalidRequestError } from '../../errors.ts';
import { parseTypeName, typeName, type GgmlType } from '../../gguf/types.ts';
import { SYNTH_ARCHS, synthTensorPlan, writeSynthModel, type SynthArch, type SynthOptions, type SynthProgress } from '../../model/synth.ts';
import { supportedTypes } from '../../quant/registry.ts';
import { VERBOSE_OPTION } from '../common-options.ts';
import { defineCommand, parseCommand, renderHelp } from '../options.ts';
import { formatBytes } from './info.ts';

export const SPEC = defineCommand({
  command: 'synth',
  usage: `--arch A --dim N --layers N --heads N [--kv-heads N] [--head-dim N]
                      --ffn N --vocab N [--type T] [--ctx N] [--window N] [--seed N] [--name S] -o out.gguf`,
  description: `Writes a model with seeded random weights (std 1/sqrt(row length)), every hyper-parameter key
llama.cpp expects and a valid tokenizer (qwen2: byte-level BPE with merges and a ChatML template;
the others: SPM vocab). The file is streamed tensor by tensor, so memory stays small at any size.
Architectures: llama; qwen2 (Q/K/V biases); llama3 (llama with Llama 3.2's rope_freqs, base 500000,
tied head); gemma2 (26, 42 or 46 layers; post-norms, GELU, soft-caps, window); phi3 (fused
attn_qkv and gate|up, window).

Weights whose row length is not a multiple of the type's block size fall back as llama-quantize
does (Q2_K/Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0), else to F16. Norms and biases
are F32.`,
  options: {
    arch: { type: 'string', arg: 'A', choices: Object.keys(SYNTH_ARCHS), help: Object.keys(SYNTH_ARCHS).join(', '), required: true },
    dim: { type: 'string', arg: 'N', number: 'int', help: 'embedding length (a multiple of --heads, unless --head-dim)', required: true },
    layers: { type: 'string', arg: 'N', number: 'int', help: 'transformer blocks', required: true },
    heads: { type: 'string', arg: 'N', number: 'int', help: 'attention heads', required: true },
    'kv-heads': { type: 'string', arg: 'N', number: 'int', help: 'key/value heads (divides --heads)', defaultText: '--heads' },
    'head-dim': { type: 'string', arg: 'N', number: 'int', help: 'head dimension (Gemma-2-2B: 256)', defaultText: '--dim / --heads' },
    ffn: { type: 'string', arg: 'N', number: 'int', help: 'feed-forward length', required: true },
    vocab: { type: 'string', arg: 'N', number: 'int', help: 'vocabulary size (at least 259)', required: true },
    type: { type: 'string', arg: 'T', help: `type of the weight matrices; one of: ${supportedTypes().map((t) => typeName(t)).join(', ')}`, defaultText: 'F16' },
    ctx: { type: 'string', arg: 'N', number: 'int', help: 'context length recorded in the file', default: '2048' },
    window: { type: 'string', arg: 'N', number: 'int', help: 'sliding window of gemma2 / phi3', defaultText: '4096 / 2047' },
    seed: { type: 'string', arg: 'N', number: 'int', help: 'seed of the weights', default: '1' },
    name: { type: 'string', arg: 'S', help: 'general.name', defaultText: 'synth-<arch>-<dim>' },
    'no-chat-template': { type: 'boolean', help: 'write no tokenizer.chat_template' },
    out: { type: 'string', aliases: ['-o'], arg: 'FILE', help: 'output path', required: true },
    quiet: { type: 'boolean', aliases: ['-q'], help: 'no progress on stderr' },
    verbose: VERBOSE_OPTION,
  },
  epilog: `examples (the shapes of Llama-3.2-1B, Gemma-2-2B, Phi-3-mini-4k):
  rocforge synth --arch llama3 --dim 2048 --layers 16 --heads 32 --kv-heads 8 --ffn 8192 \\
                 --vocab 128256 --type Q4_0 -o llama3-1b.gguf
  rocforge synth --arch gemma2 --dim 2304 --layers 26 --heads 8 --kv-heads 4 --head-dim 256 \\
                 --ffn 9216 --vocab 256000 --type Q4_0 -o gemma2-2b.gguf
  rocforge synth --arch phi3 --dim 3072 --layers 32 --heads 32 --ffn 8192 --vocab 32064 \\
                 --ctx 4096 --type Q4_0 -o phi3-mini.gguf`,
});

function int(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined) {
    if (dflt === undefined) throw new InvalidRequestError(`--${name} is required (rocforge synth --help)`);
    return dflt;
  }
  if (!/^-?\d+$/.test(v)) throw new InvalidRequestError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Reports progress on stderr: a line redrawn in place on a terminal, one line per 10% otherwise. */
function progressReporter(out: string): { update: (p: SynthProgress) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastDraw = 0;
  let lastDecile = -1;
  return {
    update(p) {
      const pct = p.totalBytes ? (100 * p.bytesWritten) / p.totalBytes : 100;
      const line = `${out}: ${pct.toFixed(1).padStart(5)}%  ${formatBytes(p.bytesWritten)} / ${formatBytes(p.totalBytes)}  [${p.index + 1}/${p.count}] ${p.tensor}`;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && p.bytesWritten < p.totalBytes) return;
        lastDraw = now;
        process.stderr.write(`\r\x1b[K${line}`);
      } else {
        const decile = Math.floor(pct / 10);
        if (decile === lastDecile) return;
        lastDecile = decile;
        process.stderr.write(`${line}\n`);
      }
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const v = parseCommand(SPEC, argv).values;
  if (v.help) {
    console.log(renderHelp(SPEC));
    return 0;
  }
  if (v.arch === undefined || !Object.hasOwn(SYNTH_ARCHS, v.arch)) throw new InvalidRequestError(`--arch must be one of ${Object.keys(SYNTH_ARCHS).join(', ')} (rocforge synth --help)`);
  if (!v.out) throw new InvalidRequestError('-o/--out is required (rocforge synth --help)');
  let type: GgmlType | undefined;
  if (v.type !== undefined) {
    type = parseTypeName(v.type);
    if (type === undefined) throw new InvalidRequestError(`unknown --type ${v.type}; one of: ${supportedTypes().map((t) => typeName(t)).join(', ')}`);
  }
  const heads = int('heads', v.heads);
  const opts: SynthOptions = {
    arch: v.arch as SynthArch,
    out: v.out,
    dim: int('dim', v.dim),
    layers: int('layers', v.layers),
    heads,
    kvHeads: int('kv-heads', v['kv-heads'], heads),
    ...(v['head-dim'] !== undefined ? { headDim: int('head-dim', v['head-dim']) } : {}),
    ...(v.window !== undefined ? { window: int('window', v.window) } : {}),
    ffn: int('ffn', v.ffn),
    vocab: int('vocab', v.vocab),
    ctx: int('ctx', v.ctx, 2048),
    seed: int('seed', v.seed, 1),
    ...(type !== undefined ? { type } : {}),
    ...(v.name !== undefined ? { name: v.name } : {}),
    ...(v['no-chat-template'] ? { chatTemplate: null } : {}),
  };
  const plan = synthTensorPlan(opts);
  const t0 = Date.now();
  const progress = v.quiet ? undefined : progressReporter(v.out);
  try {
    await writeSynthModel(opts, progress?.update);
  } finally {
    progress?.done();
  }
  const byType = new Map<string, number>();
  for (const t of plan) byType.set(typeName(t.type), (byType.get(typeName(t.type)) ?? 0) + 1);
  const params = plan.reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
  const types = [...byType].map(([k, n]) => `${n} ${k}`).join(', ');
  console.log(`wrote ${v.out}: ${opts.arch}, ${(params / 1e6).toFixed(2)}M parameters, ${plan.length} tensors (${types}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}
