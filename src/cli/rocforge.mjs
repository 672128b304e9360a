#!/usr/bin/env node
// The `rocforge` bin. It runs the compiled JavaScript in dist/ (an installed package, or a clone after
// `npm run build`) and otherwise the TypeScript sources through tsx, so a fresh clone needs no build.
// In a clone, dist/ counts only while no source is newer than its build stamp: an edit after a build
// must not run yesterday's code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..', '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
const source = join(root, 'src', 'cli', 'main.ts');

/** Newest modification time (ms) of the .ts files under dir, recursively. */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function compiledIsCurrent() {
  if (!existsSync(compiled)) return false;
  // An installed package ships no TypeScript sources: dist/ is all there is.
  if (!existsSync(source)) return true;
  const stamp = join(root, 'dist', '.build-stamp');
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return newestSource(join(root, 'src')) <= built && newestSource(join(root, 'bench')) <= built;
}

let main;
if (compiledIsCurrent()) {
  ({ main } = await import(pathToFileURL(compiled).href));
} else if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(pathToFileURL(source).href));
} else {
  console.error(`rocforge: ${compiled} is missing: this copy of rocforge was packed without its build; run \`npm run build\` in it or reinstall`);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
