// WebGPU rmsNorm, rope, storeKv + attention, swiglu, add and gatherRows against the CPU reference,
// by NMSE on random shapes and data, with the 'fast' kernels (the exact ones are compared bit for
// bit elsewhere). The reductions (rmsNorm, attention, matvec) run twice: with subgroup operations
// and with the workgroup-memory fallback.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { NMSE_THRESHOLDS } from '../../../src/diff/thresholds.ts';
import { GgmlType, typeName } from '../../../src/gguf/types.ts';
import { indexOf, pack, tensorOf, weightOf } from './build.ts';
import { differential, randomArray, rng } from './differential.ts';
import { gpuPresent, openGpu } from './gpu.ts';

const present = await gpuPresent();

function seeded(name: string): number {
  const seed = Date.now();
  console.log(`webgpu ${name} seed ${seed}`);
  return seed;
}

describe.skipIf(!present)('webgpu ops vs the CPU reference', () => {
  const gpus: { label: string; b: WebGpuBackend }[] = [];
  beforeAll(async () => {
    // fuseDecodeRounding on: exercise matvec_xr.wgsl even on software adapters (off there by default).
    // exact off: these are the 'fast' kernels (attention.wgsl, matvec, matmul); the exact ones are
    // compared bit for bit in exact-attention, exact-quant and the oracle tests.
    gpus.push({ label: 'subgroups', b: await openGpu({ fuseDecodeRounding: true, exact: false }) });
    gpus.push({ label: 'workgroup memory', b: await openGpu({ subgroups: false, fuseDecodeRounding: true, exact: false }) });
  });
  afterAll(() => {
    for (const g of gpus) g.b.dispose();
  });
  const main = (): Backend => gpus[0]!.b;

  for (const flavour of ['subgroups', 'workgroup memory']) {
    const gpu = (): Backend => gpus.find((g) => g.label === flavour)!.b;

    it(`rmsNorm (${flavour} reductions): random rows/cols, NMSE <= ${NMSE_THRESHOLDS.rmsNorm}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 700 }), fc.boolean(), fc.integer(), async (rows, cols, inPlace, s) => {
          const rnd = rng(s);
          const x = randomArray(rows * cols, rnd, 3);
          const w = randomArray(cols, rnd);
          const r = await differential(gpu(), async (b, track) => {
            const xt = tensorOf(b, track, rows, cols, x);
            const wt = await weightOf(b, track, 'norm', GgmlType.F32, 1, cols, pack(GgmlType.F32, w));
            const out = inPlace ? xt : track(b.createTensor(rows, cols));
            b.rmsNorm(xt, wt, 1e-5, out);
            return { out };
          });
          expect(r.nmse, `${rows}x${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.rmsNorm);
        }),
        { seed: seeded('rmsNorm'), numRuns: 5 },
      );
    });

    it(`storeKv + attention (${flavour} reductions): GQA, several slots, prefill and decode rows, NMSE <= ${NMSE_THRESHOLDS.attention}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom([1, 1], [4, 2], [8, 2], [6, 6]),
          fc.constantFrom(2, 8, 32, 64, 128),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 150 }),
          fc.integer(),
          async ([nHeads, nKvHeads], headDim, nSlots, prompt, s) => {
            const rnd = rng(s);
            const kvDim = nKvHeads * headDim;
            const context = prompt + 2;
            // Each slot gets a prompt of its own length (<= prompt), stored in one batch; then one
            // decode row per slot attends over it, and the prompt rows attend causally too.
            const lens = Array.from({ length: nSlots }, (_, i) => Math.max(1, prompt - i * 7));
            const slots: number[] = [];
            const positions: number[] = [];
            lens.forEach((n, slot) => {
              for (let p = 0; p < n; p++) {
                slots.push(slot);
                positions.push(p);
              }
            });
            const rows = slots.length;
            const k = randomArray(rows * kvDim, rnd, 2);
            const v = randomArray(rows * kvDim, rnd);
            const q = randomArray(rows * nHeads * headDim, rnd, 2);
            const scale = 1 / Math.sqrt(headDim);
            const r = await differential(gpu(), async (b, track) => {
              const cache = track(b.createKvCache({ nLayers: 2, nSlots, contextLength: context, kvDim }));
              const sl = indexOf(b, track, slots);
              const ps = indexOf(b, track, positions);
              b.storeKv(cache, 1, tensorOf(b, track, rows, kvDim, k), tensorOf(b, track, rows, kvDim, v), sl, ps);
              const out = track(b.createTensor(rows, nHeads * headDim));
              b.attention(tensorOf(b, track, rows, nHeads * headDim, q), cache, 1, sl, ps, { nHeads, nKvHeads, headDim, scale }, out);
              return { out };
            });
            expect(r.nmse, `heads ${nHeads}/${nKvHeads} dim ${headDim} slots ${nSlots} rows ${rows}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.attention);
          },
        ),
        { seed: seeded('attention'), numRuns: 5 },
      );
    });

    it(`decode attention writes the Q8 copy the output projection reads (${flavour} reductions): attention NMSE <= ${NMSE_THRESHOLDS.attention}, matvec NMSE <= ${NMSE_THRESHOLDS.matmulQuantized}`, async () => {
      const rnd = rng(seeded(`attention q8 ${flavour}`));
      for (const [nHeads, nKvHeads, headDim, nSlots] of [[4, 2, 64, 3], [2, 1, 128, 1], [6, 6, 32, 2]] as const) {
        const kvDim = nKvHeads * headDim;
        const dim = nHeads * headDim;
        const n = 40;
        const k = randomArray(nSlots * n * kvDim, rnd, 2);
        const v = randomArray(nSlots * n * kvDim, rnd);
        const q = randomArray(nSlots * dim, rnd, 2);
        const w = pack(GgmlType.Q4_0, randomArray(19 * dim, rnd));
        const r = await differential(gpu(), async (b, track) => {
          const cache = track(b.createKvCache({ nLayers: 1, nSlots, contextLength: n, kvDim }));
          const slots = Array.from({ length: nSlots * n }, (_, i) => Math.floor(i / n));
          const positions = Array.from({ length: nSlots * n }, (_, i) => i % n);
          b.storeKv(cache, 0, tensorOf(b, track, nSlots * n, kvDim, k), tensorOf(b, track, nSlots * n, kvDim, v), indexOf(b, track, slots), indexOf(b, track, positions));
          const att = track(b.createTensor(nSlots, dim));
          const last = Array.from({ length: nSlots }, (_, i) => n - 1 - i);
          b.attention(tensorOf(b, track, nSlots, dim, q), cache, 0, indexOf(b, track, Array.from({ length: nSlots }, (_, i) => i)), indexOf(b, track, last), { nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) }, att);
          const out = track(b.createTensor(nSlots, 19));
          b.matmul(await weightOf(b, track, 'wo', GgmlType.Q4_0, 19, dim, w), att, out);
          return { out, extra: [att] };
        });
        expect(r.extraNmse[0], `attention heads ${nHeads}/${nKvHeads} dim ${headDim}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.attention);
        expect(r.nmse, `wo heads ${nHeads}/${nKvHeads} dim ${headDim}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
      }
    }, 300_000);
  }

  it(`attention streams over a long context (1000 positions, decode row) NMSE <= ${NMSE_THRESHOLDS.attention}`, async () => {
    const rnd = rng(seeded('long attention'));
    const [nHeads, nKvHeads, headDim, n] = [4, 2, 16, 1000];
    const kvDim = nKvHeads * headDim;
    const k = randomArray(n * kvDim, rnd, 2);
    const v = randomArray(n * kvDim, rnd);
    const q = randomArray(nHeads * headDim, rnd, 3);
    const r = await differential(main(), async (b, track) => {
      const cache = track(b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: n, kvDim }));
      const all = Array.from({ length: n }, (_, i) => i);
      b.storeKv(cache, 0, tensorOf(b, track, n, kvDim, k), tensorOf(b, track, n, kvDim, v), indexOf(b, track, new Array(n).fill(0)), indexOf(b, track, all));
      const out = track(b.createTensor(1, nHeads * headDim));
      b.attention(tensorOf(b, track, 1, nHeads * headDim, q), cache, 0, indexOf(b, track, [0]), indexOf(b, track, [n - 1]), { nHeads, nKvHeads, headDim, scale: 0.25 }, out);
      return { out };
    });
    expect(r.nmse).toBeLessThanOrEqual(NMSE_THRESHOLDS.attention);
  });

  it(`rope: normal and neox, partial rotation, large positions, NMSE <= ${NMSE_THRESHOLDS.rope}`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom([4, 2], [8, 8], [3, 1]),
        fc.constantFrom(8, 16, 64),
        fc.constantFrom(1, 0.5),
        fc.boolean(),
        fc.constantFrom(10000, 1000000),
        fc.constantFrom(1, 0.25),
        fc.integer(),
        async (rows, [nHeads, nKvHeads], headDim, ropeFrac, neox, freqBase, freqScale, s) => {
          const rnd = rng(s);
          const ropeDim = headDim * ropeFrac;
          const positions = Array.from({ length: rows }, () => Math.floor(((rnd() + 1) / 2) * 5000));
          const q = randomArray(rows * nHeads * headDim, rnd);
          const k = randomArray(rows * nKvHeads * headDim, rnd);
          const r = await differential(main(), async (b, track) => {
            const qt = tensorOf(b, track, rows, nHeads * headDim, q);
            const kt = tensorOf(b, track, rows, nKvHeads * headDim, k);
            b.rope(qt, kt, indexOf(b, track, positions), { nHeads, nKvHeads, headDim, ropeDim, freqBase, freqScale, neox });
            return { out: qt, extra: [kt] };
          });
          expect(r.nmse).toBeLessThanOrEqual(NMSE_THRESHOLDS.rope);
          expect(r.extraNmse[0]).toBeLessThanOrEqual(NMSE_THRESHOLDS.rope);
        },
      ),
      { seed: seeded('rope'), numRuns: 8 },
    );
  });

  // The interface lets add's out alias a; the GPU kernels also allow any aliasing, but the CPU
  // reference's swiglu writes silu(gate) into out before reading up, so up-aliasing is not compared.
  it(`swiglu and add (out aliasing an input or not), NMSE <= ${NMSE_THRESHOLDS.swiglu}`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3000 }), fc.constantFrom('none', 'a', 'b'), fc.integer(), async (rows, cols, alias, s) => {
        const rnd = rng(s);
        const a = randomArray(rows * cols, rnd, 8);
        const bb = randomArray(rows * cols, rnd, 2);
        for (const op of ['swiglu', 'add'] as const) {
          if (op === 'swiglu' && alias === 'b') continue;
          const r = await differential(main(), async (b, track) => {
            const at = tensorOf(b, track, rows, cols, a);
            const bt = tensorOf(b, track, rows, cols, bb);
            const out = alias === 'a' ? at : alias === 'b' ? bt : track(b.createTensor(rows, cols));
            if (op === 'add') b.add(at, bt, out);
            else b.swiglu(at, bt, out);
            return { out };
          });
          expect(r.nmse, `${op} ${rows}x${cols} alias ${alias}`).toBeLessThanOrEqual(NMSE_THRESHOLDS[op]);
        }
      }),
      { seed: seeded('swiglu/add'), numRuns: 6 },
    );
  });

  it('gatherRows copies the chosen rows exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 6 }), fc.integer(), async (rows, cols, n, s) => {
        const rnd = rng(s);
        const x = randomArray(rows * cols, rnd);
        const pick = Array.from({ length: n }, () => Math.floor(((rnd() + 1) / 2) * rows));
        const r = await differential(main(), async (b, track) => {
          const out = track(b.createTensor(n, cols));
          b.gatherRows(tensorOf(b, track, rows, cols, x), indexOf(b, track, pick), out);
          return { out };
        });
        expect(r.nmse).toBe(0);
      }),
      { seed: seeded('gatherRows'), numRuns: 5 },
    );
  });

  it(`one-row matvec rounding x in workgroup memory (f16, bf16, q8_0 vec-dot types; up to 2048 columns, then the separate rounding pass) NMSE <= ${NMSE_THRESHOLDS.matmulQuantized}`, async () => {
    const rnd = rng(seeded('matvec_xr'));
    const cases = [
      [GgmlType.F16, 77],
      [GgmlType.BF16, 2048],
      [GgmlType.Q4_0, 2048],
      [GgmlType.Q5_1, 96],
      [GgmlType.Q8_0, 2080],
      [GgmlType.IQ4_NL, 512],
    ] as const;
    for (const g of gpus) {
      for (const [type, cols] of cases) {
        const w = pack(type, randomArray(37 * cols, rnd));
        const x = randomArray(cols, rnd, 4);
        const bias = randomArray(37, rnd);
        const r = await differential(g.b, async (b, track) => {
          const out = track(b.createTensor(1, 37));
          const bt = await weightOf(b, track, 'bias', GgmlType.F32, 1, 37, pack(GgmlType.F32, bias));
          b.matmul(await weightOf(b, track, 'w', type, 37, cols, w), tensorOf(b, track, 1, cols, x), out, bt);
          return { out };
        });
        expect(r.nmse, `${g.label} type ${type} cols ${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
      }
    }
  });

  it(`matvec_q8 (legacy 32-block weights against Q8 blocks of x, 1..8 rows, bias, both reductions) NMSE <= ${NMSE_THRESHOLDS.matmulQuantized}`, async () => {
    const rnd = rng(seeded('matvec_q8'));
    const cases = [
      [GgmlType.Q4_0, 2112, 8],
      [GgmlType.Q4_1, 96, 3],
      [GgmlType.Q5_0, 64, 1],
      [GgmlType.Q5_1, 160, 1],
      [GgmlType.Q8_0, 2080, 1],
      [GgmlType.IQ4_NL, 32, 1],
    ] as const;
    for (const g of gpus) {
      for (const [type, cols, rows] of cases) {
        const w = pack(type, randomArray(13 * cols, rnd));
        const x = randomArray(rows * cols, rnd, 4);
        const bias = randomArray(13, rnd);
        const r = await differential(g.b, async (b, track) => {
          const out = track(b.createTensor(rows, 13));
          const bt = await weightOf(b, track, 'bias', GgmlType.F32, 1, 13, pack(GgmlType.F32, bias));
          b.matmul(await weightOf(b, track, 'w', type, 13, cols, w), tensorOf(b, track, rows, cols, x), out, bt);
          return { out };
        });
        expect(r.nmse, `${g.label} ${typeName(type)} rows ${rows} cols ${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
      }
    }
  }, 600_000); // lavapipe compiles a pipeline per weight type and row count

  it(`rmsNorm of decode rows writes the Q8 copy the next matvecs read (rmsnorm_q8): norm bit-identical, matvec NMSE <= ${NMSE_THRESHOLDS.matmulQuantized}`, async () => {
    const rnd = rng(seeded('rmsnorm_q8'));
    for (const g of gpus) {
      for (const [type, cols, rows, inPlace] of [[GgmlType.Q4_0, 2048, 1, true], [GgmlType.Q5_1, 96, 3, false]] as const) {
        const w = pack(type, randomArray(19 * cols, rnd));
        const x = randomArray(rows * cols, rnd, 3);
        const nw = randomArray(cols, rnd);
        const r = await differential(g.b, async (b, track) => {
          const xt = tensorOf(b, track, rows, cols, x);
          const normed = inPlace ? xt : track(b.createTensor(rows, cols));
          b.rmsNorm(xt, await weightOf(b, track, 'norm', GgmlType.F32, 1, cols, pack(GgmlType.F32, nw)), 1e-5, normed);
          const out = track(b.createTensor(rows, 19));
          b.matmul(await weightOf(b, track, 'w', type, 19, cols, w), normed, out);
          return { out, extra: [normed] };
        });
        expect(r.extraNmse[0], `${g.label} norm ${rows}x${cols}`).toBe(0);
        expect(r.nmse, `${g.label} ${typeName(type)} rows ${rows} cols ${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
      }
    }
  }, 300_000);

  it(`tiled matmul past 8 rows over x rounded to Q8_0 values (act_round, 8 invocations per block) NMSE <= ${NMSE_THRESHOLDS.matmulQuantized}`, async () => {
    const rnd = rng(seeded('act_round q8_0'));
    for (const [type, cols, rows] of [[GgmlType.Q4_0, 96, 33], [GgmlType.Q8_0, 160, 9], [GgmlType.IQ4_NL, 64, 65]] as const) {
      const w = pack(type, randomArray(21 * cols, rnd));
      const x = randomArray(rows * cols, rnd, 4);
      const r = await differential(gpus[0]!.b, async (b, track) => {
        const out = track(b.createTensor(rows, 21));
        b.matmul(await weightOf(b, track, 'w', type, 21, cols, w), tensorOf(b, track, rows, cols, x), out);
        return { out };
      });
      expect(r.nmse, `${typeName(type)} rows ${rows} cols ${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
    }
  }, 300_000);

  it('matvec with workgroup-memory reductions matches the CPU reference (Q4_K, Q8_0, F16)', async () => {
    const fallback = gpus[1]!.b;
    const rnd = rng(seeded('matvec fallback'));
    for (const [type, cols] of [[GgmlType.Q4_K, 512], [GgmlType.Q8_0, 96], [GgmlType.F16, 77]] as const) {
      const w = pack(type, randomArray(33 * cols, rnd));
      const x = randomArray(3 * cols, rnd);
      const r = await differential(fallback, async (b, track) => {
        const out = track(b.createTensor(3, 33));
        b.matmul(await weightOf(b, track, 'w', type, 33, cols, w), tensorOf(b, track, 3, cols, x), out);
        return { out };
      });
      expect(r.nmse).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
    }
  });
});
