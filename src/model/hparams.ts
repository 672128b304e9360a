// Hyper-parameters of a transformer, read from the `<arch>.*` keys of GGUF metadata (llama.cpp's
// names). Every `<arch>.*` key must be one rocforge reads or one that cannot change the computation:
// any other (MoE experts, LayerNorm epsilons, logit or residual scales, ...) is refused by name
// rather than ignored, since ignoring it would quietly compute something else.
import { UnsupportedModelError } from '../errors.ts';
import type { GgufValue, TensorInfo } from '../gguf/types.ts';
import { getArchitecture, type Architecture } from './arch/index.ts';

export interface HParams {
  /** general.architecture, e.g. "llama". */
  readonly arch: string;
  readonly vocabSize: number;
  /** embedding_length: width of the residual stream. */
  readonly dim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly ffnDim: number;
  /** Context length the model was trained for. */
  readonly contextLength: number;
  /** Rotated dimensions per head. */
  readonly ropeDim: number;
  readonly freqBase: number;
  /** 1 / linear rope scaling factor (1 when unscaled). */
  readonly freqScale: number;
  /** RMS norm epsilon. */
  readonly eps: number;
  /** Sliding-window size of the layers the architecture windows (Architecture.windowLayers); 0: none. */
  readonly slidingWindow: number;
  /** Attention logit soft-cap (gemma2); 0: none. */
  readonly attnSoftcap: number;
  /** Final logit soft-cap (gemma2); 0: none. */
  readonly finalSoftcap: number;
  /** Factor q is multiplied by after rope (phi3, gemma2); undefined where the softmax scales instead. */
  readonly queryScale: number | undefined;
  /** The softmax's score scale: 1/sqrt(head dim), or 1 where q was scaled. */
  readonly kqScale: number;
  /** Factor the embeddings are multiplied by (gemma2: sqrt(dim)); undefined: none. */
  readonly embedScale: number | undefined;
}

export interface MetadataSource {
  readonly path: string;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  tensor(name: string): TensorInfo | undefined;
}

/** `<arch>.*` keys read below. */
const READ_KEYS = new Set([
  'context_length',
  'embedding_length',
  'feed_forward_length',
  'block_count',
  'attention.head_count',
  'attention.head_count_kv',
  'attention.key_length',
  'attention.value_length',
  'attention.layer_norm_rms_epsilon',
  'rope.dimension_count',
  'rope.freq_base',
  'rope.scaling.type',
  'rope.scaling.factor',
  'rope.scale_linear',
  'rope.scaling.attn_factor',
  'attention.sliding_window',
  'attn_logit_softcapping',
  'final_logit_softcapping',
  'expert_count',
  'expert_used_count',
]);

/** `<arch>.*` keys that do not change what is computed (informational, or YaRN-only). */
const INERT_KEYS = new Set(['vocab_size', 'rope.scaling.finetuned', 'rope.scaling.original_context_length']);

export function readHParams(file: MetadataSource): HParams {
  const meta = file.metadata;
  const arch = meta.get('general.architecture');
  if (typeof arch !== 'string') {
    throw new UnsupportedModelError(`${file.path}: general.architecture is missing, so this is not a model file llama.cpp could run either`);
  }
  const a = getArchitecture(arch);
  const key = (k: string) => `${arch}.${k}`;
  const num = (k: string, fallback?: number): number => {
    const v = meta.get(key(k));
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new UnsupportedModelError(`${file.path}: metadata key ${key(k)} is missing; the file was not converted for ${arch} by a llama.cpp-compatible tool`);
    }
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new UnsupportedModelError(`${file.path}: metadata key ${key(k)} should be a number, got ${typeof v}`);
    return Number(v);
  };
  checkKeys(file, a);

  const dim = num('embedding_length');
  const nHeads = num('attention.head_count');
  const nKvHeads = num('attention.head_count_kv', nHeads);
  const headDim = num('attention.key_length', dim / nHeads);
  const nLayers = num('block_count');
  const contextLength = num('context_length');
  if (num('attention.value_length', headDim) !== headDim) {
    throw new UnsupportedModelError(`${file.path}: ${key('attention.value_length')} ${num('attention.value_length')} differs from the key length ${headDim}, which rocforge does not support`);
  }
  if (num('expert_count', 0) !== 0) throw new UnsupportedModelError(`${file.path}: ${key('expert_count')} = ${num('expert_count')}: mixture-of-experts models are not supported`);
  if (num('rope.scaling.attn_factor', 1) !== 1) {
    throw new UnsupportedModelError(`${file.path}: ${key('rope.scaling.attn_factor')} = ${num('rope.scaling.attn_factor')} is not supported (only 1)`);
  }
  const embd = file.tensor('token_embd.weight');
  if (!embd || embd.dims.length !== 2) throw new UnsupportedModelError(`${file.path}: tensor token_embd.weight is missing or not a matrix`);

  const shape = { dim, nLayers, nHeads, headDim };
  let slidingWindow = 0;
  if (a.windowLayers !== 'none') {
    const dflt = a.defaultWindow?.(shape, contextLength, nKvHeads);
    slidingWindow = num('attention.sliding_window', dflt);
    if (!Number.isInteger(slidingWindow) || slidingWindow <= 0) {
      throw new UnsupportedModelError(`${file.path}: ${key('attention.sliding_window')} must be a positive integer, got ${slidingWindow}`);
    }
  }
  const positive = (v: number, k: string): number => {
    if (!(v > 0)) throw new UnsupportedModelError(`${file.path}: ${k} must be positive, got ${v}`);
    return v;
  };
  const queryScale = a.queryScale === 'softmax' ? undefined : a.queryScale(shape);
  const hp: HParams = {
    arch,
    vocabSize: embd.dims[1]!,
    dim,
    nLayers,
    nHeads,
    nKvHeads,
    headDim,
    ffnDim: num('feed_forward_length'),
    contextLength,
    ropeDim: num('rope.dimension_count', headDim),
    freqBase: num('rope.freq_base', 10000),
    freqScale: ropeFreqScale(file, arch),
    eps: num('attention.layer_norm_rms_epsilon'),
    slidingWindow,
    attnSoftcap: a.softcaps ? positive(num('attn_logit_softcapping', 50), key('attn_logit_softcapping')) : 0,
    finalSoftcap: a.softcaps ? positive(num('final_logit_softcapping', 30), key('final_logit_softcapping')) : 0,
    queryScale,
    // llama.cpp's 1.0f/sqrtf(float(n_embd_head)), rounded as in float32.
    kqScale: queryScale === undefined ? Math.fround(1 / Math.fround(Math.sqrt(headDim))) : 1,
    embedScale: a.embedScale ? Math.fround(Math.sqrt(dim)) : undefined,
  };
  check(file.path, hp);
  return hp;
}

/** Refuses `<arch>.*` keys that rocforge neither reads nor knows to be inert, and keys of features this architecture lacks. */
function checkKeys(file: MetadataSource, a: Architecture): void {
  const prefix = `${a.name}.`;
  for (const k of file.metadata.keys()) {
    if (!k.startsWith(prefix)) continue;
    const short = k.slice(prefix.length);
    const foreign =
      (short === 'attention.sliding_window' && a.windowLayers === 'none') ||
      ((short === 'attn_logit_softcapping' || short === 'final_logit_softcapping') && !a.softcaps);
    if (foreign || (!READ_KEYS.has(short) && !INERT_KEYS.has(short))) {
      throw new UnsupportedModelError(
        `${file.path}: metadata key ${k} is not supported by rocforge's ${a.name} (it would change the computation, and ignoring it would give wrong results)`,
      );
    }
  }
}

/** Linear rope scaling only (rope.scaling.type = linear, or the older rope.scale_linear key). */
function ropeFreqScale(file: MetadataSource, arch: string): number {
  const meta = file.metadata;
  const type = meta.get(`${arch}.rope.scaling.type`);
  const factor = meta.get(`${arch}.rope.scaling.factor`) ?? meta.get(`${arch}.rope.scale_linear`);
  if (type !== undefined && type !== 'none' && type !== 'linear') {
    throw new UnsupportedModelError(`${file.path}: rope scaling "${String(type)}" is not supported (only linear); use a model without ${String(type)} rope scaling`);
  }
  if (type === 'none' || factor === undefined) return 1;
  const f = Number(factor);
  return f > 0 ? 1 / f : 1;
}

function check(path: string, hp: HParams): void {
  for (const k of ['vocabSize', 'dim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'ffnDim', 'contextLength', 'ropeDim'] as const) {
    if (!Number.isInteger(hp[k]) || hp[k] <= 0) throw new UnsupportedModelError(`${path}: ${k} must be a positive integer, got ${hp[k]}`);
  }
  if (hp.nHeads % hp.nKvHeads !== 0) throw new UnsupportedModelError(`${path}: ${hp.nHeads} attention heads cannot be grouped over ${hp.nKvHeads} KV heads`);
  if (hp.ropeDim > hp.headDim || hp.ropeDim % 2 !== 0) throw new UnsupportedModelError(`${path}: rope dimension ${hp.ropeDim} must be even and at most the head dimension ${hp.headDim}`);
  if (!(hp.eps > 0) || !(hp.freqBase > 0)) throw new UnsupportedModelError(`${path}: rms epsilon ${hp.eps} and rope base ${hp.freqBase} must be positive`);
}
