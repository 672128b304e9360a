// The ops Llama 3, Gemma 2 and Phi-3 added, on a GPU backend (WebGPU, HIP) against the CPU
// reference: geglu, scale and softcap (one exact kernel whatever the numerics) and rope with
// frequency factors are compared bit for bit; attention with a sliding window and a logit soft-cap
// bit for bit with exact numerics (attention_exact, its storage-scratch variant past 2048 cells
// included) and by NMSE with the fast kernel.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionParams, Backend } from '../../src/backends/backend.ts';
import { NMSE_THRESHOLDS } from '../../src/diff/thresholds.ts';
import { indexOf, tensorOf } from './webgpu/build.ts';
import { differential, randomArray, rng } from './webgpu/differential.ts';

const bits = (a: Float32Array) => Array.from(new Int32Array(a.buffer, a.byteOffset, a.length));

interface AttentionCase {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Cells before the batch. */
  past: number;
  rows: number;
  window: number;
  softcap: number;
  seed: number;
}

/** One sequence: `past + rows` cells stored, then `rows` rows attending at the last positions. */
async function attentionDiff(gpu: Backend, c: AttentionCase) {
  const rnd = rng(c.seed);
  const kvDim = c.nKvHeads * c.headDim;
  const n = c.past + c.rows;
  // Large keys so that soft-capping bites (scores well past the cap).
  const k = randomArray(n * kvDim, rnd, 4);
  const v = randomArray(n * kvDim, rnd);
  const q = randomArray(c.rows * c.nHeads * c.headDim, rnd, 4);
  const p: AttentionParams = { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim), window: c.window, softcap: c.softcap };
  return differential(gpu, async (b, track) => {
    const cache = track(b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: n, kvDim }));
    const all = Array.from({ length: n }, (_, i) => i);
    b.describeBatch?.(new Int32Array(n).fill(n));
    b.storeKv(cache, 0, tensorOf(b, track, n, kvDim, k), tensorOf(b, track, n, kvDim, v), indexOf(b, track, new Array(n).fill(0)), indexOf(b, track, all));
    b.describeBatch?.(new Int32Array(c.rows).fill(c.rows));
    const out = track(b.createTensor(c.rows, c.nHeads * c.headDim));
    b.attention(tensorOf(b, track, c.rows, c.nHeads * c.headDim, q), cache, 0, indexOf(b, track, new Array(c.rows).fill(0)), indexOf(b, track, all.slice(c.past)), p, out);
    return { out };
  });
}

/** A GPU backend with exact numerics (the default) or the fast kernels. */
export type OpenGpu = (opts: { exact?: boolean }) => Promise<Backend>;

/** The suite, for a backend named `label` that `open` opens; skipped unless `present`. */
export function newOpsSuite(label: string, present: boolean, open: OpenGpu): void {
  const seeded = (name: string): number => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`${label} ${name} seed ${seed}`);
    return seed;
  };
  describe.skipIf(!present)(`${label}: ops of the new architectures vs the CPU reference`, () => {
    let exact: Backend;
    let fast: Backend;
    beforeAll(async () => {
      exact = await open({});
      fast = await open({ exact: false });
    });
    afterAll(() => {
      exact?.dispose();
      fast?.dispose();
    });

    it('geglu, scale and softcap (out aliasing the input or not) are bit-identical', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1500 }), fc.boolean(), fc.integer(), async (rows, cols, inPlace, s) => {
          const rnd = rng(s);
          // gate values over GELU's whole table range and past +-10; logits past the caps
          const g = randomArray(rows * cols, rnd, 14);
          const u = randomArray(rows * cols, rnd, 2);
          const x = randomArray(rows * cols, rnd, 200);
          for (const gpu of [exact, fast]) {
            for (const op of ['geglu', 'scale', 'softcap'] as const) {
              const r = await differential(gpu, async (b, track) => {
                const gt = tensorOf(b, track, rows, cols, op === 'geglu' ? g : x);
                const out = inPlace ? gt : track(b.createTensor(rows, cols));
                if (op === 'geglu') b.geglu(gt, tensorOf(b, track, rows, cols, u), out);
                else if (op === 'scale') b.scale(gt, Math.sqrt(2304), out);
                else b.softcap(gt, 30, out);
                return { out };
              });
              expect(bits(r.got), `${op} ${rows}x${cols} in place ${inPlace}`).toEqual(bits(r.ref));
            }
          }
        }),
        { seed: seeded('geglu/scale/softcap'), numRuns: 4 },
      );
    });

    it('rope with frequency factors (Llama 3.1 scaling) is bit-identical, positions up to 8000', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.constantFrom(16, 64), fc.boolean(), fc.integer(), async (rows, headDim, neox, s) => {
          const rnd = rng(s);
          const [nHeads, nKvHeads] = [4, 2];
          const freqFactors = Float32Array.from({ length: headDim / 2 }, (_, i) => (i < headDim / 4 ? 1 : 1 + ((rnd() + 1) / 2) * 7));
          const positions = Array.from({ length: rows }, () => Math.floor(((rnd() + 1) / 2) * 8000));
          const q = randomArray(rows * nHeads * headDim, rnd);
          const k = randomArray(rows * nKvHeads * headDim, rnd);
          const r = await differential(exact, async (b, track) => {
            const qt = tensorOf(b, track, rows, nHeads * headDim, q);
            const kt = tensorOf(b, track, rows, nKvHeads * headDim, k);
            b.rope(qt, kt, indexOf(b, track, positions), { nHeads, nKvHeads, headDim, ropeDim: headDim, freqBase: 500000, freqScale: 1, neox, freqFactors });
            return { out: qt, extra: [kt] };
          });
          expect(bits(r.got)).toEqual(bits(r.ref));
          expect(r.extraNmse[0]).toBe(0);
        }),
        { seed: seeded('rope factors'), numRuns: 5 },
      );
    });

    it('exact attention with a sliding window and a soft-cap is bit-identical (decode rows and batches, GQA)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom([4, 2], [8, 8]),
          fc.constantFrom(16, 48, 64),
          fc.integer({ min: 0, max: 200 }),
          fc.constantFrom(1, 2, 5),
          fc.constantFrom(0, 1, 16, 40),
          fc.constantFrom(0, 50, 5),
          fc.integer(),
          async ([nHeads, nKvHeads], headDim, past, rows, window, softcap, seed) => {
            const c = { nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, past, rows, window, softcap, seed };
            const r = await attentionDiff(exact, c);
            expect(bits(r.got), JSON.stringify(c)).toEqual(bits(r.ref));
          },
        ),
        { seed: seeded('exact attention window/softcap'), numRuns: 10 },
      );
    });

    it('exact attention past 2048 cells with a window of 16 is bit-identical', async () => {
      const c = { nHeads: 4, nKvHeads: 2, headDim: 32, past: 2100, rows: 2, window: 16, softcap: 50, seed: seeded('long windowed attention') };
      const r = await attentionDiff(exact, c);
      expect(bits(r.got)).toEqual(bits(r.ref));
    });

    it(`fast attention with a window and a soft-cap, NMSE <= ${NMSE_THRESHOLDS.attention}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(16, 64, 128), fc.integer({ min: 0, max: 300 }), fc.constantFrom(1, 3), fc.constantFrom(0, 7, 64), fc.constantFrom(0, 50), fc.integer(), async (headDim, past, rows, window, softcap, seed) => {
          const c = { nHeads: 4, nKvHeads: 2, headDim, past, rows, window, softcap, seed };
          const r = await attentionDiff(fast, c);
          expect(r.nmse, JSON.stringify(c)).toBeLessThanOrEqual(NMSE_THRESHOLDS.attention);
        }),
        { seed: seeded('fast attention window/softcap'), numRuns: 8 },
      );
    });
  });
}
