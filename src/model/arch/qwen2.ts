// qwen2: llama's block with neox rope and biases on the Q, K and V projections.
import type { Architecture } from './architecture.ts';
import { llama } from './llama.ts';

export const qwen2: Architecture = { ...llama, name: 'qwen2', rope: 'neox', qkvBias: true, ropeFreqs: false };
