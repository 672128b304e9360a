// Random-weight llama / qwen2 / llama3 / gemma2 / phi3 models of any shape and tensor type, written
// as GGUF files that llama.cpp loads: every hyper-parameter key it expects, its tensor names
// (synth-archs.ts), and a valid tokenizer (a byte-level BPE vocab with merges for qwen2, an SPM
// vocab for the others).
//
// Weights are seeded pseudo-random (each tensor from its own stream, so a tensor does not depend on
// the ones before it), roughly normal with std 1/sqrt(row length) so activations stay O(1). The
// file is streamed: each tensor is generated and quantized a few MiB of rows at a time, so memory
// stays bounded whatever the model size.
//
// Row lengths that are not a multiple of the requested type's block size fall back the way
// llama-quantize does: Q2_K/Q3_K/IQ4_XS and the other 256-block IQ types to IQ4_NL, Q4_K to Q5_0,
// Q5_K to Q5_1, Q6_K to Q8_0; then F16 whenever that still does not fit (or is not supported here),
// which also covers the 32-block legacy types (where llama-quantize would refuse).
import { InvalidRequestError } from '../errors.ts';
import { GgmlType, GgufValueType, TYPE_LAYOUT, typeName, type GgufTypedValue } from '../gguf/types.ts';
import { meta, writeGguf, type GgufTensorSpec } from '../gguf/writer.ts';
import { isSupported, quantizeTensor } from '../quant/registry.ts';
import { SYNTH_ARCHS, llama3RopeFreqs, type SynthArch } from './synth-archs.ts';

export type { SynthArch } from './synth-archs.ts';
export { SYNTH_ARCHS } from './synth-archs.ts';

export interface SynthOptions {
  readonly arch: SynthArch;
  /** Output path. */
  readonly out: string;
  /** Embedding length. */
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  /** KV heads (grouped-query attention); defaults to `heads`. */
  readonly kvHeads?: number;
  /** Head dimension; defaults to dim / heads (Gemma-2-2B: 256 with dim 2304 and 8 heads). */
  readonly headDim?: number;
  /** attention.sliding_window of gemma2 / phi3; defaults to the architecture's (4096, 2047). */
  readonly window?: number;
  /** Feed-forward length. */
  readonly ffn: number;
  /** Vocabulary size, at least 259 (the specials and 256 byte tokens). */
  readonly vocab: number;
  /** Type of the 2-D weights (norms and biases are always F32). Default F16. */
  readonly type?: GgmlType;
  /** Context length recorded in the file. Default 2048. */
  readonly ctx?: number;
  /** Seed of the weights. Default 1. */
  readonly seed?: number;
  /** general.name. Default synth-<arch>-<dim>. */
  readonly name?: string;
  /** tokenizer.chat_template; default ChatML for qwen2 and none for llama; null for none. */
  readonly chatTemplate?: string | null;
}

export interface SynthProgress {
  readonly tensor: string;
  /** Index of the tensor being written, of `count`. */
  readonly index: number;
  readonly count: number;
  readonly bytesWritten: number;
  readonly totalBytes: number;
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Smallest vocabulary: 3 specials and the 256 byte tokens. */
export const MIN_SYNTH_VOCAB = 259;

/** Elements generated and quantized at a time: 4 MiB of f32. */
const CHUNK_ELEMENTS = 1 << 20;

/**
 * The type llama-quantize would give a tensor with rows of `rowLength` when `requested` cannot hold
 * them (see the header comment), restricted to the types `supported` accepts.
 */
export function fallbackType(requested: GgmlType, rowLength: number, supported: (t: GgmlType) => boolean = isSupported): GgmlType {
  const fits = (t: GgmlType) => supported(t) && rowLength % TYPE_LAYOUT[t]!.blockSize === 0;
  if (fits(requested)) return requested;
  const second: Partial<Record<GgmlType, GgmlType>> = {
    [GgmlType.Q2_K]: GgmlType.IQ4_NL,
    [GgmlType.Q3_K]: GgmlType.IQ4_NL,
    [GgmlType.IQ2_XXS]: GgmlType.IQ4_NL,
    [GgmlType.IQ2_XS]: GgmlType.IQ4_NL,
    [GgmlType.IQ2_S]: GgmlType.IQ4_NL,
    [GgmlType.IQ3_XXS]: GgmlType.IQ4_NL,
    [GgmlType.IQ3_S]: GgmlType.IQ4_NL,
    [GgmlType.IQ1_S]: GgmlType.IQ4_NL,
    [GgmlType.IQ1_M]: GgmlType.IQ4_NL,
    [GgmlType.IQ4_XS]: GgmlType.IQ4_NL,
    [GgmlType.TQ1_0]: GgmlType.Q4_0,
    [GgmlType.TQ2_0]: GgmlType.Q4_0,
    [GgmlType.Q4_K]: GgmlType.Q5_0,
    [GgmlType.Q5_K]: GgmlType.Q5_1,
    [GgmlType.Q6_K]: GgmlType.Q8_0,
  };
  const alt = second[requested];
  if (alt !== undefined && fits(alt)) return alt;
  return GgmlType.F16;
}

interface ResolvedOptions extends Required<Omit<SynthOptions, 'chatTemplate'>> {
  readonly chatTemplate: string | null;
  readonly kvDim: number;
}

function resolve(opts: SynthOptions): ResolvedOptions {
  const bad = (why: string): never => {
    throw new InvalidRequestError(`synth: ${why}`);
  };
  const spec = Object.hasOwn(SYNTH_ARCHS, opts.arch) ? SYNTH_ARCHS[opts.arch] : bad(`unknown architecture ${String(opts.arch)} (${Object.keys(SYNTH_ARCHS).join(', ')})`);
  const kvHeads = opts.kvHeads ?? opts.heads;
  const ints: [string, number][] = [
    ['dim', opts.dim],
    ['layers', opts.layers],
    ['heads', opts.heads],
    ['kv-heads', kvHeads],
    ['ffn', opts.ffn],
    ['vocab', opts.vocab],
    ['ctx', opts.ctx ?? 2048],
  ];
  for (const [k, v] of ints) if (!Number.isSafeInteger(v) || v <= 0) bad(`--${k} must be a positive integer, got ${v}`);
  if (opts.headDim === undefined && opts.dim % opts.heads !== 0) bad(`dim ${opts.dim} is not a multiple of heads ${opts.heads} (or give --head-dim)`);
  if (opts.heads % kvHeads !== 0) bad(`heads ${opts.heads} is not a multiple of kv-heads ${kvHeads}`);
  const headDim = opts.headDim ?? opts.dim / opts.heads;
  if (!Number.isSafeInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) bad(`head dimension ${headDim} must be a positive even integer for RoPE`);
  if (spec.qDimIsDim && headDim * opts.heads !== opts.dim) bad(`${opts.arch} needs heads x head dim = dim (its fused attn_qkv has dim query rows), got ${opts.heads} x ${headDim}`);
  if (spec.layerCounts && !spec.layerCounts.includes(opts.layers)) {
    bad(`${opts.arch} with ${opts.layers} layers would not load in llama.cpp (it knows ${spec.layerCounts.join(', ')} layers)`);
  }
  const window = opts.window ?? spec.window;
  if (spec.window > 0 && (!Number.isSafeInteger(window) || window <= 0)) bad(`--window must be a positive integer, got ${window}`);
  if (spec.window === 0 && opts.window !== undefined) bad(`${opts.arch} has no sliding window`);
  if (opts.vocab < MIN_SYNTH_VOCAB) bad(`vocab ${opts.vocab} is too small: at least ${MIN_SYNTH_VOCAB} (3 specials and 256 byte tokens)`);
  const type = opts.type ?? GgmlType.F16;
  if (!isSupported(type)) bad(`tensor type ${typeName(type)} cannot be written by this build`);
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(seed)) bad(`seed must be an integer, got ${seed}`);
  return {
    arch: opts.arch,
    out: opts.out,
    dim: opts.dim,
    layers: opts.layers,
    heads: opts.heads,
    kvHeads,
    ffn: opts.ffn,
    vocab: opts.vocab,
    type,
    ctx: opts.ctx ?? 2048,
    seed,
    name: opts.name ?? `synth-${opts.arch}-${opts.dim}`,
    chatTemplate: opts.chatTemplate === undefined ? (opts.arch === 'qwen2' ? CHATML_TEMPLATE : null) : opts.chatTemplate,
    headDim,
    window: spec.window > 0 ? window : 0,
    kvDim: kvHeads * headDim,
  };
}

/** How a tensor's values are drawn: roughly normal around `mean` with standard deviation `std`. */
interface Init {
  readonly mean: number;
  readonly std: number;
}

interface PlannedTensor extends GgufTensorSpec {
  readonly init: Init;
  /** Fixed contents (rope_freqs) instead of random ones. */
  readonly values?: Float32Array;
}

/** The tensors of a model in llama.cpp's names, shapes (ggml order) and types. */
export function synthTensorPlan(opts: SynthOptions): PlannedTensor[] {
  const o = resolve(opts);
  const weight = (name: string, rowLength: number, rows: number): PlannedTensor => ({
    name,
    dims: [rowLength, rows],
    type: fallbackType(o.type, rowLength),
    init: { mean: 0, std: 1 / Math.sqrt(rowLength) },
  });
  const norm = (name: string): PlannedTensor => ({ name, dims: [o.dim], type: GgmlType.F32, init: { mean: 1, std: 0.1 } });
  const bias = (name: string, n: number): PlannedTensor => ({ name, dims: [n], type: GgmlType.F32, init: { mean: 0, std: 0.1 } });

  const spec = SYNTH_ARCHS[o.arch];
  const plan: PlannedTensor[] = [weight('token_embd.weight', o.dim, o.vocab)];
  if (spec.ropeFreqs) {
    const values = llama3RopeFreqs(o.headDim, spec.freqBase);
    plan.push({ name: 'rope_freqs.weight', dims: [values.length], type: GgmlType.F32, init: { mean: 0, std: 0 }, values });
  }
  for (let l = 0; l < o.layers; l++) {
    for (const t of spec.layer(o)) {
      const name = `blk.${l}.${t.name}`;
      plan.push(t.kind === 'weight' ? weight(name, t.cols, t.rows) : t.kind === 'norm' ? norm(name) : bias(name, t.n));
    }
  }
  plan.push(norm('output_norm.weight'));
  if (!spec.tied) plan.push(weight('output.weight', o.dim, o.vocab));
  return plan;
}

// ---- tokenizer ----

export interface SynthVocab {
  readonly tokens: string[];
  readonly tokenTypes: number[];
  /** SPM only. */
  readonly scores?: number[];
  /** BPE only: "left right" pairs, in rank order. */
  readonly merges?: string[];
  readonly bos: number;
  readonly eos: number;
  readonly unk?: number;
  readonly padding?: number;
}

/** llama.cpp's token types. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Letter strings in breadth-first order (a..z, aa..zz, aaa...), each one's prefix coming before it. */
function* letterWords(): Generator<string> {
  let level = [...LETTERS];
  for (;;) {
    yield* level;
    const next: string[] = [];
    for (const w of level) for (const c of LETTERS) next.push(w + c);
    level = next;
  }
}

/** SPM vocab: <unk>, <s>, </s>, the 256 byte tokens <0xNN>, then pieces with descending scores. */
export function synthSpmVocab(size: number): SynthVocab {
  const tokens = ['<unk>', '<s>', '</s>'];
  const tokenTypes: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    tokenTypes.push(TokenType.BYTE);
  }
  const scores = tokens.map(() => 0);
  const pieces = (function* () {
    yield '▁';
    yield* 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?\'"-:;()';
    for (const w of letterWords()) {
      yield `▁${w}`;
      if (w.length > 1) yield w;
    }
  })();
  let rank = 0;
  while (tokens.length < size) {
    tokens.push(pieces.next().value as string);
    tokenTypes.push(TokenType.NORMAL);
    scores.push(-rank++);
  }
  return { tokens, tokenTypes, scores, bos: 1, eos: 2, unk: 0 };
}

/** GPT-2's byte-to-character table: printable bytes map to themselves, the rest to U+0100 onwards. */
export function gpt2ByteChars(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const order: number[] = [];
  const chars: string[] = [];
  for (let b = 0; b < 256; b++) if (printable(b)) order.push(b);
  let extra = 0;
  const out = new Array<string>(256);
  for (const b of order) out[b] = String.fromCodePoint(b);
  for (let b = 0; b < 256; b++) if (!printable(b)) out[b] = String.fromCodePoint(256 + extra++);
  // vocab order is GPT-2's: the printable bytes first, then the remapped ones
  for (const b of order) chars.push(out[b]!);
  for (let b = 0; b < 256; b++) if (!printable(b)) chars.push(out[b]!);
  return chars;
}

/** Qwen2-style byte-level BPE: 256 byte tokens, merged words, then <|endoftext|>, <|im_start|>, <|im_end|>. */
export function synthBpeVocab(size: number): SynthVocab {
  const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const tokens = gpt2ByteChars();
  const tokenTypes: number[] = tokens.map(() => TokenType.NORMAL);
  const merges: string[] = [];
  const nMerged = size - tokens.length - specials.length;
  const words = letterWords();
  // each word w (prefix p + letter c) yields the merges "Ġp c" and "p c" (for length 1: "Ġ c")
  outer: for (;;) {
    const w = words.next().value as string;
    const p = w.slice(0, -1);
    const c = w.slice(-1);
    const candidates: [string, string][] = [[`Ġ${p}`, c]];
    if (p.length > 0) candidates.push([p, c]);
    for (const [l, r] of candidates) {
      if (merges.length >= nMerged) break outer;
      merges.push(`${l} ${r}`);
      tokens.push(l + r);
      tokenTypes.push(TokenType.NORMAL);
    }
  }
  for (const s of specials) {
    tokens.push(s);
    tokenTypes.push(TokenType.CONTROL);
  }
  const endOfText = size - 3;
  return { tokens, tokenTypes, merges, bos: endOfText, eos: size - 1, padding: endOfText };
}

function synthMetadata(o: ResolvedOptions): [string, GgufTypedValue][] {
  const spec = SYNTH_ARCHS[o.arch];
  const a = spec.gguf;
  const bpe = spec.vocab === 'bpe';
  const md: [string, GgufTypedValue][] = [
    ['general.architecture', meta.str(a)],
    ['general.name', meta.str(o.name)],
    ['general.alignment', meta.u32(32)],
    ['general.quantization_version', meta.u32(2)],
    [`${a}.context_length`, meta.u32(o.ctx)],
    [`${a}.embedding_length`, meta.u32(o.dim)],
    [`${a}.feed_forward_length`, meta.u32(o.ffn)],
    [`${a}.block_count`, meta.u32(o.layers)],
    [`${a}.attention.head_count`, meta.u32(o.heads)],
    [`${a}.attention.head_count_kv`, meta.u32(o.kvHeads)],
    [`${a}.rope.freq_base`, meta.f32(spec.freqBase)],
    [`${a}.attention.layer_norm_rms_epsilon`, meta.f32(spec.eps)],
    ...spec.metadata(o).map(([k, v]): [string, GgufTypedValue] => [`${a}.${k}`, v]),
  ];
  const v = bpe ? synthBpeVocab(o.vocab) : synthSpmVocab(o.vocab);
  md.push(['tokenizer.ggml.model', meta.str(bpe ? 'gpt2' : 'llama')]);
  if (bpe) md.push(['tokenizer.ggml.pre', meta.str('qwen2')]);
  md.push(['tokenizer.ggml.tokens', meta.array(GgufValueType.STRING, v.tokens)]);
  if (v.scores) md.push(['tokenizer.ggml.scores', meta.array(GgufValueType.FLOAT32, v.scores)]);
  md.push(['tokenizer.ggml.token_type', meta.array(GgufValueType.INT32, v.tokenTypes)]);
  if (v.merges) md.push(['tokenizer.ggml.merges', meta.array(GgufValueType.STRING, v.merges)]);
  md.push(['tokenizer.ggml.bos_token_id', meta.u32(v.bos)]);
  md.push(['tokenizer.ggml.eos_token_id', meta.u32(v.eos)]);
  if (v.unk !== undefined) md.push(['tokenizer.ggml.unknown_token_id', meta.u32(v.unk)]);
  if (v.padding !== undefined) md.push(['tokenizer.ggml.padding_token_id', meta.u32(v.padding)]);
  md.push(['tokenizer.ggml.add_bos_token', meta.bool(!bpe)]);
  if (o.chatTemplate !== null) md.push(['tokenizer.chat_template', meta.str(o.chatTemplate)]);
  return md;
}

// ---- weights ----

/** sfc32, seeded through splitmix32: small, fast, and good enough for weights. */
class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}

function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ Math.imul(seed | 0, 0x27d4eb2d) ^ Math.floor(seed / 2 ** 32);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Fills `out` with mean + std * (Irwin-Hall sum of 4 uniforms, standardised): bell-shaped, bounded by ±2√3 std. */
function fillNormalish(rng: Sfc32, out: Float32Array, init: Init): void {
  const k = init.std * Math.sqrt(3) * 2 ** -32;
  const base = init.mean - 2 * init.std * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) out[i] = base + k * (rng.u32() + rng.u32() + rng.u32() + rng.u32());
}

/** A tensor's bytes in its type, a bounded number of whole rows at a time. */
function* tensorChunks(t: PlannedTensor, seed: number): Generator<Uint8Array> {
  if (t.values) {
    yield quantizeTensor(t.type, t.values);
    return;
  }
  const rng = new Sfc32(tensorSeed(seed, t.name));
  const rowLength = t.dims[0]!;
  const rows = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLength));
  const buf = new Float32Array(Math.min(rows, rowsPerChunk) * rowLength);
  for (let r = 0; r < rows; r += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, rows - r) * rowLength;
    const f32 = n === buf.length ? buf : buf.subarray(0, n);
    fillNormalish(rng, f32, t.init);
    // the writer consumes each chunk before the next is generated, so reusing `buf` is safe even
    // if a format hands back a view of it
    yield quantizeTensor(t.type, f32);
  }
}

/**
 * Writes a random-weight model (see the header comment). Progress goes to `onProgress` after every
 * chunk. A failure leaves no partial file behind.
 */
export async function writeSynthModel(opts: SynthOptions, onProgress?: (p: SynthProgress) => void): Promise<void> {
  const o = resolve(opts);
  const plan = synthTensorPlan(opts);
  const totalBytes = plan.reduce((s, t) => s + tensorByteCount(t), 0);
  let bytesWritten = 0;
  await writeGguf(o.out, {
    metadata: synthMetadata(o),
    tensors: plan,
    source: async function* (_info, index) {
      const t = plan[index]!;
      for (const chunk of tensorChunks(t, o.seed)) {
        yield chunk;
        bytesWritten += chunk.length;
        onProgress?.({ tensor: t.name, index, count: plan.length, bytesWritten, totalBytes });
      }
    },
  });
}

function tensorByteCount(t: GgufTensorSpec): number {
  const l = TYPE_LAYOUT[t.type]!;
  return (t.dims.reduce((a, b) => a * b, 1) / l.blockSize) * l.typeSize;
}
