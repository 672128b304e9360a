// llama (and llama2.c conversions such as stories260K): normal rope, no required biases.
import type { Architecture } from './architecture.ts';

export const llama: Architecture = { name: 'llama', rope: 'normal', qkvBias: false };
