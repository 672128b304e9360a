// llama (and llama2.c conversions such as stories260K, and Llama 3.x with rope_freqs and a tied
// head): normal rope, no required biases, SwiGLU, 1/sqrt(head dim) in the softmax.
import type { Architecture } from './architecture.ts';

export const llama: Architecture = {
  name: 'llama',
  rope: 'normal',
  qkvBias: false,
  fusedQkv: false,
  fusedGateUp: false,
  activation: 'silu',
  postNorms: false,
  embedScale: false,
  output: 'optional',
  ropeFreqs: true,
  windowLayers: 'none',
  softcaps: false,
  queryScale: 'softmax',
};
