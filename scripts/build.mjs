#!/usr/bin/env node
// `npm run build` (and `prepack`): compiles src/ to dist/ (JavaScript + .d.ts) with tsc, from a clean
// dist/ so that a moved or deleted source leaves no stale module behind. On success it writes
// dist/.build-stamp, dated when the build started: src/cli/rocforge.mjs runs dist/ only while no
// source file is newer than that (a source edited during the build makes dist/ stale, as it should).
import { spawnSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const started = new Date();

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  // A half-written dist/ would be picked up by the bin and by `npm pack`: remove it.
  rmSync(dist, { recursive: true, force: true });
  console.error('build: tsc failed (see above); dist/ removed');
  process.exit(r.status ?? 1);
}
const stamp = join(dist, '.build-stamp');
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);
console.log(`build: dist/ written in ${((Date.now() - started.getTime()) / 1000).toFixed(1)} s`);
