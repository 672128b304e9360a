// swiglu in exact numerics: ggml's silu takes ggml_v_expf on whole 16-lane vectors and libm's expf
// on a row's leftovers; the WGSL replays the leftovers with a correctly rounded expf (expf_rn in
// shaders/swiglu.wgsl). Its float-float series once held 1/6, 1/24, ... as single floats (2^-26
// off), which rounded exp(1.6346139907836914) = 5.12747836107 (6e-11 below a float midpoint) up:
// stories260K's 172-wide FFN then gave different logits on the GPUs than on the CPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../../src/backends/cpu/index.ts';
import type { Backend } from '../../../src/backends/backend.ts';
import { gpuPresent, isSoftware, openGpu } from './gpu.ts';

const skip = !(await gpuPresent());

/** xorshift32: reproducible gates from a printed seed. */
function gates(seed: number, n: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32 - 0.5) * 24;
  }
  return out;
}

async function swiglu(b: Backend, rows: number, cols: number, g: Float32Array, u: Float32Array): Promise<Float32Array> {
  const G = b.createTensor(rows, cols);
  const U = b.createTensor(rows, cols);
  const O = b.createTensor(rows, cols);
  b.writeTensor(G, g);
  b.writeTensor(U, u);
  b.swiglu(G, U, O);
  const out = await b.read(O);
  for (const t of [G, U, O]) b.release(t);
  return out;
}

describe.skipIf(skip)('exact swiglu on WebGPU equals the CPU reference bit for bit', () => {
  let gpu: Backend;
  beforeAll(async () => {
    gpu = await openGpu({ exact: true });
  });
  afterAll(() => gpu?.dispose());

  it('on 172-wide rows (12 leftovers each), including the near-tie that once differed', async () => {
    const seed = Number(process.env.ROCFORGE_FUZZ_SEED ?? Date.now() % 2 ** 31);
    console.log(`exact swiglu: seed ${seed} (replay with ROCFORGE_FUZZ_SEED=${seed})`);
    const cols = 172;
    const rows = isSoftware(gpu) ? 400 : 4000;
    const g = gates(seed, rows * cols);
    g[cols - 3] = -1.6346139907836914; // a leftover lane: expf(1.63461399) lies 6e-11 below a float midpoint
    const u = gates(seed ^ 0x5bd1e995, rows * cols);
    const cpu = new CpuBackend();
    const want = new Int32Array((await swiglu(cpu, rows, cols, g, u)).buffer);
    const got = new Int32Array((await swiglu(gpu, rows, cols, g, u)).buffer);
    const bad: string[] = [];
    for (let i = 0; i < want.length && bad.length < 5; i++) {
      if (want[i] !== got[i]) bad.push(`element ${i} (lane ${i % cols}): gate ${g[i]}, cpu bits ${want[i]}, gpu bits ${got[i]}`);
    }
    expect(bad).toEqual([]);
  });
});
