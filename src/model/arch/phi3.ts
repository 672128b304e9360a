// phi3 (Phi-3 mini/medium, Phi-3.5 mini): llama's block with a fused attn_qkv and a fused gate|up
// ffn_up (split at load), neox rope, q scaled by 1/sqrt(head dim) after rope, and a sliding window
// on every layer.
import type { Architecture } from './architecture.ts';
import { llama } from './llama.ts';

export const phi3: Architecture = {
  ...llama,
  name: 'phi3',
  rope: 'neox',
  fusedQkv: true,
  fusedGateUp: true,
  output: 'required',
  ropeFreqs: false,
  windowLayers: 'all',
  // llama.cpp's window for conversions made before phi3.attention.sliding_window existed.
  defaultWindow: (s, ctx, nKvHeads) => {
    if ((s.nLayers === 32 || s.nLayers === 40) && ctx === 4096) return 2047;
    if (s.nLayers === 32 && nKvHeads === 32 && ctx === 131072) return 262144;
    if (s.nLayers === 40 && ctx === 131072) return 131072;
    return undefined;
  },
  queryScale: (s) => Math.fround(1 / Math.fround(Math.sqrt(s.headDim))),
};
