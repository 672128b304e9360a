// gemma2: neox rope, embeddings scaled by sqrt(dim), GELU (tanh form) gated feed-forward, RMS norms after
// attention and after the feed-forward, attention logits soft-capped (50) and final logits too (30),
// a sliding window on the even layers, q scaled after rope, and the head tied to token_embd.
import { UnsupportedModelError } from '../../errors.ts';
import type { Architecture } from './architecture.ts';
import { llama } from './llama.ts';

const invSqrt = (n: number): number => Math.fround(1 / Math.fround(Math.sqrt(n)));

export const gemma2: Architecture = {
  ...llama,
  name: 'gemma2',
  rope: 'neox',
  activation: 'gelu',
  postNorms: true,
  embedScale: true,
  output: 'tied',
  ropeFreqs: false,
  windowLayers: 'even',
  defaultWindow: () => 4096,
  softcaps: true,
  // llama.cpp's query scale by model size, which it tells by layer count (2B: 26, 9B: 42, 27B: 46)
  // and refuses any other.
  queryScale: (s) => {
    if (s.nLayers === 26 || s.nLayers === 42) return invSqrt(s.headDim);
    if (s.nLayers === 46) return invSqrt(Math.floor(s.dim / s.nHeads));
    throw new UnsupportedModelError(
      `gemma2 with ${s.nLayers} layers is not supported: llama.cpp knows gemma2 only at 26, 42 and 46 layers (2B, 9B, 27B), which sets its query scale`,
    );
  },
};
