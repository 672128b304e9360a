// Helpers for the pack-and-install test: a copy of the repository to pack from (so the build that
// `npm pack` runs never replaces the dist/ that other tests' child processes may be running), and a
// consumer project whose lockfile is derived from ours, so `npm ci --offline` installs the tarball
// with its dependencies from the npm cache that our own `npm ci` filled. Without a lockfile npm would
// need the registry's metadata for every dependency, which that cache does not hold.
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative, sep } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

/** What `npm pack` needs: the build's inputs and what package.json "files" ships. */
const COPIED = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'scripts', 'src', 'bench', 'shaders', 'native-hip', 'models'];
/** Never copied: build outputs, benchmark logs, test-only data. */
const SKIPPED = [join('native-hip', 'build'), join('bench', 'results')];

/** Copies the repository's packable files to dir, with node_modules linked (not copied). */
export function copyRepo(dir: string): void {
  for (const name of COPIED) {
    cpSync(join(REPO, name), join(dir, name), {
      recursive: true,
      filter: (src) => !SKIPPED.some((s) => relative(REPO, src) === s || relative(REPO, src).startsWith(s + sep)),
    });
  }
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
}

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
}

/**
 * Writes package.json and package-lock.json of a project that depends on the tarball only. The lock
 * lists the tarball (by its sha512) and every non-dev package of our own lock, which sit at the same
 * node_modules/ paths there because the tarball's dependencies are the consumer's only ones.
 */
export function writeConsumerProject(dir: string, tarball: string): void {
  const ours = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as PackageJson;
  const spec = `file:${relative(dir, tarball)}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(ours.packages)) {
    if (path !== '' && !entry.dev) packages[path] = entry;
  }
  const manifest = { name: 'consumer', private: true, type: 'module', dependencies: { [pkg.name]: spec } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2));
}

/** The environment for a child npm: ours minus what `npm test` set about this package and its script. */
export function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}
