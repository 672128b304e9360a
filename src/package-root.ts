// The package's root directory: where package.json, shaders/, models/ and native-hip/ live.
// Found by walking up from this file, so it is the same whether the code runs from src/ (tsx in a
// clone), from dist/src/ (a build), or from node_modules/rocforge/dist/src/ (an installed package).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`rocforge: no package.json above ${start}: the package's files are incomplete; reinstall it`);
    }
  }
}

export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);

/** Resolves a path given relative to the package root (e.g. 'shaders', 'models/x.gguf'). */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}
