// rocforge conform against a real llama-server (llama.cpp c392e50, CPU build of
// ../shared/anchors/build-llama.sh), started here on stories260K: its /tokenize must give our ids
// and its greedy tokens and top-8 log-probs must be the reference's. Skipped, with the reason, where
// no llama-server binary has been built (ROCFORGE_LLAMA_SERVER, else the default cache folder).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import { createBackend } from '../../src/backends/index.ts';
import { formatTerminal } from '../../src/conform/report.ts';
import { runConform } from '../../src/conform/run.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const BINARY = process.env.ROCFORGE_LLAMA_SERVER ?? join(homedir(), '.cache', 'rocforge-llama', 'build', 'bin', 'llama-server');
const MODEL = 'models/stories260K.gguf';
const skip = !existsSync(BINARY)
  ? `no llama-server at ${BINARY}: build one with ../shared/anchors/build-llama.sh ~/.cache/rocforge-llama (or set ROCFORGE_LLAMA_SERVER)`
  : missingShared(MODEL);
if (skip) console.log(`skipped: ${skip}`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(skip !== undefined)('conform against llama-server (CPU)', () => {
  let child: ChildProcess | undefined;
  let url = '';
  let backend: Backend;
  let log = '';

  beforeAll(async () => {
    backend = await createBackend('cpu');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(BINARY, ['-m', sharedPath(MODEL), '--host', '127.0.0.1', '--port', String(port), '-c', '256', '-np', '1', '-t', '1', '--no-warmup'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => void (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => void (log += d.toString()));
    const t0 = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}: ${log.slice(-400)}`);
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() - t0 > 20_000) throw new Error(`llama-server did not become healthy in 20 s: ${log.slice(-400)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);

  afterAll(() => {
    child?.kill('SIGTERM');
    backend?.dispose();
  });

  it('gives the reference tokens and log-probs, with the same prompt ids', async () => {
    const prompts = ['Once upon a time', 'The little dog', 'Lily and Tom 123 ✓'];
    const r = await runConform({ url, model: sharedPath(MODEL), backend, prompts, steps: 16 });
    console.log(formatTerminal(r));
    expect(r.server).toBe('llama-server');
    expect(r.counts.error).toBe(0);
    expect(r.counts.differ).toBe(0);
    for (const c of r.cases) {
      expect(c.promptCheck).toBe('tokenize');
      expect(c.steps.length).toBeGreaterThan(0);
      // llama-server returns log(p) of a float softmax: equal within float rounding.
      expect(c.maxAbsLogprob).toBeLessThan(1e-4);
      expect(c.minOverlap).toBe(1);
    }
  }, 60_000);
});
