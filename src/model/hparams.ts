// Hyper-parameters of a transformer, read from the `<arch>.*` keys of GGUF metadata (llama.cpp's names).
import { UnsupportedModelError } from '../errors.ts';
import type { GgufValue, TensorInfo } from '../gguf/types.ts';

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
}

export interface MetadataSource {
  readonly path: string;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  tensor(name: string): TensorInfo | undefined;
}

export function readHParams(file: MetadataSource): HParams {
  const meta = file.metadata;
  const arch = meta.get('general.architecture');
  if (typeof arch !== 'string') {
    throw new UnsupportedModelError(`${file.path}: general.architecture is missing, so this is not a model file llama.cpp could run either`);
  }
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

  const dim = num('embedding_length');
  const nHeads = num('attention.head_count');
  const nKvHeads = num('attention.head_count_kv', nHeads);
  const headDim = num('attention.key_length', dim / nHeads);
  const embd = file.tensor('token_embd.weight');
  if (!embd || embd.dims.length !== 2) throw new UnsupportedModelError(`${file.path}: tensor token_embd.weight is missing or not a matrix`);

  const hp: HParams = {
    arch,
    vocabSize: embd.dims[1]!,
    dim,
    nLayers: num('block_count'),
    nHeads,
    nKvHeads,
    headDim,
    ffnDim: num('feed_forward_length'),
    contextLength: num('context_length'),
    ropeDim: num('rope.dimension_count', headDim),
    freqBase: num('rope.freq_base', 10000),
    freqScale: ropeFreqScale(file, arch),
    eps: num('attention.layer_norm_rms_epsilon'),
  };
  check(file.path, hp);
  return hp;
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
