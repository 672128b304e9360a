// The architectures we can run, by general.architecture.
import { UnsupportedModelError } from '../../errors.ts';
import type { Architecture } from './architecture.ts';
import { gemma2 } from './gemma2.ts';
import { llama } from './llama.ts';
import { phi3 } from './phi3.ts';
import { qwen2 } from './qwen2.ts';

export type { Architecture, ShapeParams } from './architecture.ts';

const ARCHITECTURES: ReadonlyMap<string, Architecture> = new Map([llama, qwen2, phi3, gemma2].map((a) => [a.name, a]));

export function supportedArchitectures(): string[] {
  return [...ARCHITECTURES.keys()];
}

export function getArchitecture(name: string): Architecture {
  const a = ARCHITECTURES.get(name);
  if (!a) {
    throw new UnsupportedModelError(`architecture "${name}" is not supported; supported architectures: ${supportedArchitectures().join(', ')}`);
  }
  return a;
}
