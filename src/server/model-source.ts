// Which model `rocforge serve` serves: -m, else $ROCFORGE_MODEL, else the built-in demo model (a
// small random-weight llama written once into the cache directory and reused).
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeSynthModel } from '../model/synth.ts';

export const DEMO_NOTICE =
  'built-in demo model: a small llama with RANDOM weights, so its output is meaningless. ' +
  'Serve a real model with `rocforge serve -m model.gguf` or ROCFORGE_MODEL=model.gguf.';

/** Bump when the demo model's shape changes, so an old cached file is not reused. */
const DEMO_FILE = 'demo-llama-v1.gguf';

export interface ModelSource {
  path: string;
  demo: boolean;
  /** Where the path came from, for the startup log. */
  from: '-m' | 'ROCFORGE_MODEL' | 'demo (cached)' | 'demo (written now)';
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'rocforge');
}

export type DemoWriter = (path: string, onProgress?: (done: number, total: number) => void) => Promise<void>;

/** The demo model's shape: small enough to write in a second and run on a CPU, big enough to batch. */
export const DEMO_SHAPE = { arch: 'llama', dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 768, vocab: 512, ctx: 2048, seed: 1 } as const;

/** Writes the demo model with the project's synthetic-GGUF writer. */
export const writeDemoModel: DemoWriter = async (path, onProgress) => {
  await writeSynthModel({ ...DEMO_SHAPE, out: path, name: 'rocforge-demo (random weights)' }, (p) => onProgress?.(p.bytesWritten, p.totalBytes));
};

export async function resolveModel(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  writeDemo: DemoWriter = writeDemoModel,
  onProgress?: (done: number, total: number) => void,
): Promise<ModelSource> {
  if (flag !== undefined && flag !== '') return { path: flag, demo: false, from: '-m' };
  if (env.ROCFORGE_MODEL) return { path: env.ROCFORGE_MODEL, demo: false, from: 'ROCFORGE_MODEL' };
  const dir = cacheDir(env);
  const path = join(dir, DEMO_FILE);
  if (existsSync(path)) return { path, demo: true, from: 'demo (cached)' };
  mkdirSync(dir, { recursive: true });
  // Written under a temporary name and renamed, so an interrupted write is never reused.
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeDemo(tmp, onProgress);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { path, demo: true, from: 'demo (written now)' };
}
