// Differential op tests: build the same op on the CPU reference and on the backend under test from
// the same data, run both, and compare the outputs by NMSE (src/diff/thresholds.ts).
import type { Backend, Tensor } from '../../../src/backends/backend.ts';
import { CpuBackend } from '../../../src/backends/cpu/index.ts';
import { nmse } from '../../../src/diff/thresholds.ts';

/** Deterministic pseudo-random numbers in [-1, 1) from a 32-bit seed (LCG; quality is not the point). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

export function randomArray(n: number, rnd: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd() * scale;
  return a;
}

/** Resources an op builder created: released after the comparison so memory returns to baseline. */
export type Built = { out: Tensor; extra?: Tensor[] };

export interface DiffResult {
  readonly nmse: number;
  readonly ref: Float32Array;
  readonly got: Float32Array;
  /** Extra outputs (e.g. k after rope), compared too. */
  readonly extraNmse: number[];
}

/**
 * Runs `build` on a fresh CPU backend and on `gpu`, reads the output(s) and releases what the
 * GPU run allocated (checking that memoryInUse returns to where it was).
 */
export async function differential(gpu: Backend, build: (b: Backend, track: <T extends Parameters<Backend['release']>[0]>(r: T) => T) => Promise<Built>): Promise<DiffResult> {
  const cpu = new CpuBackend();
  const refBuilt = await build(cpu, (r) => r);
  const ref = await cpu.read(refBuilt.out);
  const refExtra = await Promise.all((refBuilt.extra ?? []).map((t) => cpu.read(t)));

  const before = gpu.memoryInUse();
  const owned: Parameters<Backend['release']>[0][] = [];
  const built = await build(gpu, (r) => {
    owned.push(r);
    return r;
  });
  const got = await gpu.read(built.out);
  const gotExtra = await Promise.all((built.extra ?? []).map((t) => gpu.read(t)));
  for (const r of owned) gpu.release(r);
  if (gpu.memoryInUse() !== before) throw new Error(`memoryInUse is ${gpu.memoryInUse()} after releasing everything, was ${before}`);
  return { nmse: nmse(ref, got), ref, got, extraNmse: refExtra.map((r, i) => nmse(r, gotExtra[i]!)) };
}
