// Which model a command runs: -m, else $ROCFORGE_MODEL, else the small real model shipped in the
// package (models/stories260K.gguf, MIT: see models/LICENSE-stories260K.md), so that a first
// `rocforge serve` / `generate` / `chat` answers with real English and downloads nothing.
import { existsSync } from 'node:fs';
import { ModelNotFoundError } from '../errors.ts';
import { packagePath } from '../package-root.ts';

/** The shipped default model, resolved from the package root (the same from src/ and from dist/). */
export const DEFAULT_MODEL_PATH = packagePath('models', 'stories260K.gguf');

export const DEFAULT_MODEL_NOTICE =
  'built-in demo model stories260K: a tiny (260K-parameter) llama trained on children\'s stories, ' +
  'for trying rocforge out. Serve a real model with `-m model.gguf` or ROCFORGE_MODEL=model.gguf.';

export interface ModelSource {
  path: string;
  /** True for the shipped demo model: said in the startup line and in /v1/models. */
  demo: boolean;
  /** Where the path came from, for the startup log. */
  from: '-m' | 'ROCFORGE_MODEL' | 'built-in default';
}

export function resolveModel(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, defaultPath: string = DEFAULT_MODEL_PATH): ModelSource {
  if (flag !== undefined && flag !== '') return { path: flag, demo: false, from: '-m' };
  if (env.ROCFORGE_MODEL) return { path: env.ROCFORGE_MODEL, demo: false, from: 'ROCFORGE_MODEL' };
  if (!existsSync(defaultPath)) {
    throw new ModelNotFoundError(
      `no model given and the built-in default model is missing (${defaultPath}): pass -m model.gguf or set ROCFORGE_MODEL`,
    );
  }
  return { path: defaultPath, demo: true, from: 'built-in default' };
}
