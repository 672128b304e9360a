// What `rocforge synth` writes per architecture, as llama.cpp's converters lay it out: the GGUF
// architecture name, the tokenizer kind, default hyper-parameters, and the block's tensors. The
// shapes of real models (rocforge synth --help): Llama-3.2-1B (llama3), Gemma-2-2B (gemma2),
// Phi-3-mini-4k (phi3).
import type { GgufTypedValue } from '../gguf/types.ts';
import { meta } from '../gguf/writer.ts';

export type SynthArch = 'llama' | 'qwen2' | 'llama3' | 'gemma2' | 'phi3';

/** The resolved shape a spec reads. */
export interface SynthShape {
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffn: number;
  readonly window: number;
}

/** One tensor of a layer: name suffix, row length (ne0) and rows; or a norm / bias vector of n values. */
export type LayerTensor = { readonly kind: 'weight'; readonly name: string; readonly cols: number; readonly rows: number } | { readonly kind: 'norm' | 'bias'; readonly name: string; readonly n: number };

export interface SynthArchSpec {
  /** general.architecture. */
  readonly gguf: string;
  readonly vocab: 'spm' | 'bpe';
  readonly freqBase: number;
  readonly eps: number;
  /** No output.weight: the head is token_embd. */
  readonly tied: boolean;
  /** Llama 3.1/3.2 rope scaling written as rope_freqs.weight. */
  readonly ropeFreqs: boolean;
  /** Default attention.sliding_window, or 0 where the architecture has none. */
  readonly window: number;
  /** The only layer counts llama.cpp accepts (gemma2), or undefined for any. */
  readonly layerCounts?: readonly number[];
  /** Whether the attention width must equal dim (phi3's fused attn_qkv has dim q rows). */
  readonly qDimIsDim: boolean;
  readonly layer: (s: SynthShape) => LayerTensor[];
  /** `<arch>.*` keys besides the common ones (context, sizes, heads, rope base, eps). */
  readonly metadata: (s: SynthShape) => [string, GgufTypedValue][];
}

const w = (name: string, cols: number, rows: number): LayerTensor => ({ kind: 'weight', name, cols, rows });
const norm = (name: string, n: number): LayerTensor => ({ kind: 'norm', name, n });
const bias = (name: string, n: number): LayerTensor => ({ kind: 'bias', name, n });

function llamaLayer(s: SynthShape, biases: boolean): LayerTensor[] {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  return [
    norm('attn_norm.weight', s.dim),
    w('attn_q.weight', s.dim, q),
    ...(biases ? [bias('attn_q.bias', q)] : []),
    w('attn_k.weight', s.dim, kv),
    ...(biases ? [bias('attn_k.bias', kv)] : []),
    w('attn_v.weight', s.dim, kv),
    ...(biases ? [bias('attn_v.bias', kv)] : []),
    w('attn_output.weight', q, s.dim),
    norm('ffn_norm.weight', s.dim),
    w('ffn_gate.weight', s.dim, s.ffn),
    w('ffn_up.weight', s.dim, s.ffn),
    w('ffn_down.weight', s.ffn, s.dim),
  ];
}

const ropeDims = (s: SynthShape): [string, GgufTypedValue][] => [['rope.dimension_count', meta.u32(s.headDim)]];

export const SYNTH_ARCHS: Readonly<Record<SynthArch, SynthArchSpec>> = {
  llama: { gguf: 'llama', vocab: 'spm', freqBase: 10_000, eps: 1e-5, tied: false, ropeFreqs: false, window: 0, qDimIsDim: false, layer: (s) => llamaLayer(s, false), metadata: ropeDims },
  qwen2: { gguf: 'qwen2', vocab: 'bpe', freqBase: 1_000_000, eps: 1e-6, tied: false, ropeFreqs: false, window: 0, qDimIsDim: false, layer: (s) => llamaLayer(s, true), metadata: ropeDims },
  llama3: { gguf: 'llama', vocab: 'spm', freqBase: 500_000, eps: 1e-5, tied: true, ropeFreqs: true, window: 0, qDimIsDim: false, layer: (s) => llamaLayer(s, false), metadata: ropeDims },
  gemma2: {
    gguf: 'gemma2',
    vocab: 'spm',
    freqBase: 10_000,
    eps: 1e-6,
    tied: true,
    ropeFreqs: false,
    window: 4096,
    layerCounts: [26, 42, 46],
    qDimIsDim: false,
    layer: (s) => {
      const t = llamaLayer(s, false);
      // post_attention_norm after attn_output, post_ffw_norm after ffn_down
      return [...t.slice(0, 5), norm('post_attention_norm.weight', s.dim), ...t.slice(5), norm('post_ffw_norm.weight', s.dim)];
    },
    metadata: (s) => [
      ['attention.key_length', meta.u32(s.headDim)],
      ['attention.value_length', meta.u32(s.headDim)],
      ['attention.sliding_window', meta.u32(s.window)],
      ['attn_logit_softcapping', meta.f32(50)],
      ['final_logit_softcapping', meta.f32(30)],
    ],
  },
  phi3: {
    gguf: 'phi3',
    vocab: 'spm',
    freqBase: 10_000,
    eps: 1e-5,
    tied: false,
    ropeFreqs: false,
    window: 2047,
    qDimIsDim: true,
    layer: (s) => [
      norm('attn_norm.weight', s.dim),
      w('attn_qkv.weight', s.dim, s.dim + 2 * s.kvHeads * s.headDim),
      w('attn_output.weight', s.dim, s.dim),
      norm('ffn_norm.weight', s.dim),
      w('ffn_up.weight', s.dim, 2 * s.ffn),
      w('ffn_down.weight', s.ffn, s.dim),
    ],
    metadata: (s) => [...ropeDims(s), ['attention.sliding_window', meta.u32(s.window)]],
  },
};

/**
 * Llama 3.1/3.2's rope_freqs (Meta's rope scaling, as llama.cpp's converter writes it): pairs whose
 * wavelength is under originalContext/highFreqFactor keep factor 1, those over
 * originalContext/lowFreqFactor get `factor`, and the band between is interpolated smoothly. Every
 * step is rounded to float32, as the converter's torch tensors compute it. Defaults are Llama 3.2's:
 * factor 32, 1, 4, 8192.
 */
export function llama3RopeFreqs(headDim: number, base: number, factor = 32, lowFreqFactor = 1, highFreqFactor = 4, originalContext = 8192): Float32Array {
  const fr = Math.fround;
  const lowWavelen = originalContext / lowFreqFactor;
  const highWavelen = originalContext / highFreqFactor;
  return Float32Array.from({ length: headDim / 2 }, (_, i) => {
    const freq = fr(1 / fr(base ** fr((2 * i) / headDim)));
    const wavelen = fr(fr(2 * Math.PI) / freq);
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return factor;
    const smooth = fr(fr(fr(originalContext / wavelen) - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
    return fr(1 / fr(fr(fr(1 - smooth) / factor) + smooth));
  });
}
