// The package as another project gets it: `npm pack` (whose prepack runs the build), the tarball
// installed into a fresh project offline, then the library imported by name from a plain Node script,
// the bin run from node_modules/.bin, and the shipped .d.ts type-checked from a consumer's TypeScript.
// Expected text: llama.cpp's greedy continuation of "Once upon a time" on the shipped stories260K.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyRepo, npmEnv, REPO, writeConsumerProject } from './offline-project.ts';

const LILY = ', there was a little girl named Lily';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

let tmp: string;
let consumer: string;
let packed: PackResult;

function run(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: npmEnv(), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm package', () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rocforge-pack-'));
    const copy = join(tmp, 'repo');
    mkdirSync(copy);
    copyRepo(copy);
    const pack = run('npm', ['pack', '--json', '--offline', '--pack-destination', tmp], copy);
    if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stdout}\n${pack.stderr}`);
    // npm prints the prepack script's output before the JSON: the JSON is the last top-level array.
    [packed] = JSON.parse(pack.stdout.slice(pack.stdout.lastIndexOf('\n[\n') + 1)) as PackResult[];
    consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    writeConsumerProject(consumer, join(tmp, packed.filename));
    const ci = run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], consumer);
    if (ci.status !== 0) throw new Error(`npm ci --offline in the consumer project failed:\n${ci.stdout}\n${ci.stderr}`);
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('ships the build, the bin, shaders, HIP sources and the default model, and no TypeScript sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'src/cli/rocforge.mjs', 'shaders/matvec.wgsl', 'native-hip/README.md', 'models/stories260K.gguf', 'models/LICENSE-stories260K.md', 'README.md', 'package.json']) {
      expect(paths, p).toContain(p);
    }
    expect(paths.filter((p) => /^(test|bench|scripts)\/|^src\/.*\.ts$|^native-hip\/build\//.test(p))).toEqual([]);
  });

  it("imports InferenceEngine from 'rocforge' and generates the known continuation on cpu", () => {
    writeFileSync(
      join(consumer, 'generate.mjs'),
      [
        "import { DEFAULT_MODEL_PATH, InferenceEngine, ModelNotFoundError } from 'rocforge';",
        "const engine = await InferenceEngine.create(DEFAULT_MODEL_PATH, { backend: 'cpu' });",
        "const r = await engine.generate('Once upon a time', { maxTokens: 10, temperature: 0 });",
        'await engine.dispose();',
        'let missing = "";',
        "try { await InferenceEngine.create('no-such-model.gguf', { backend: 'cpu' }); } catch (e) { missing = e instanceof ModelNotFoundError ? 'ModelNotFoundError' : String(e); }",
        'console.log(JSON.stringify({ text: r.text, model: DEFAULT_MODEL_PATH, missing }));',
      ].join('\n'),
    );
    const out = JSON.parse(execFileSync(process.execPath, ['generate.mjs'], { cwd: consumer, encoding: 'utf8' })) as Record<string, string>;
    expect(out.text).toBe(LILY);
    expect(out.model).toBe(join(consumer, 'node_modules', 'rocforge', 'models', 'stories260K.gguf'));
    expect(out.missing).toBe('ModelNotFoundError');
  });

  it('the installed bin runs the compiled JavaScript with the shipped default model', () => {
    const bin = join(consumer, 'node_modules', '.bin', 'rocforge');
    const r = run(bin, ['generate', '-p', 'Once upon a time', '-n', '10', '--temp', '0', '--backend', 'cpu'], consumer);
    expect(r.stderr).not.toMatch(/tsx|\.ts\b/);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(LILY);
  });

  it("the shipped .d.ts type-check a strict consumer's TypeScript (NodeNext resolution)", () => {
    writeFileSync(
      join(consumer, 'check.ts'),
      [
        "import { DEFAULT_MODEL_PATH, InferenceEngine, type GenerateResult } from 'rocforge';",
        "const engine: InferenceEngine = await InferenceEngine.create(DEFAULT_MODEL_PATH, { backend: 'cpu' });",
        "const r: GenerateResult = await engine.generate('Once upon a time', { maxTokens: 10 });",
        'export const text: string = r.text;',
        '// @ts-expect-error maxTokens is a number: the types must reject a string',
        "await engine.generate('x', { maxTokens: 'ten' });",
      ].join('\n'),
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
    const r = run(process.execPath, [tsc, ...args, '--typeRoots', join(REPO, 'node_modules', '@types'), '--types', 'node', 'check.ts'], consumer);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
