// qwen2: neox rope, biases on the Q, K and V projections.
import type { Architecture } from './architecture.ts';

export const qwen2: Architecture = { name: 'qwen2', rope: 'neox', qkvBias: true };
