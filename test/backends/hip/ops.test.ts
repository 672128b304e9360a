// HIP 'fast' kernels (numerics: fast) against the CPU reference by NMSE (src/diff/thresholds.ts), on
// random shapes and data, with warp reductions and with the shared-memory fallback: rmsNorm,
// storeKv + attention, rope, swiglu, add, gatherRows, and matmul / getRows for every weight type
// (matrix-vector and tiled shapes). The exact kernels are compared bit for bit in exact.test.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import { GPU_WEIGHT_TYPES } from '../../../src/backends/gpu/kernels.ts';
import type { HipBackend } from '../../../src/backends/hip/index.ts';
import { NMSE_THRESHOLDS } from '../../../src/diff/thresholds.ts';
import { GgmlType, TYPE_LAYOUT, typeName } from '../../../src/gguf/types.ts';
import { isSupported } from '../../../src/quant/registry.ts';
import { indexOf, pack, tensorOf, weightOf } from '../webgpu/build.ts';
import { differential, randomArray, rng } from '../webgpu/differential.ts';
import { hipPresent, openHip, seeded } from './hip.ts';

const present = await hipPresent();
const FLOAT_TYPES = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);

function colsArb(type: GgmlType): fc.Arbitrary<number> {
  const block = TYPE_LAYOUT[type]!.blockSize;
  if (block === 1) return fc.integer({ min: 1, max: 300 });
  if (block === 32) return fc.integer({ min: 1, max: 12 }).map((k) => k * 32);
  return fc.integer({ min: 1, max: 3 }).map((k) => k * 256);
}

describe.skipIf(!present)('hip fast kernels vs the CPU reference', () => {
  const gpus: { label: string; b: HipBackend }[] = [];
  beforeAll(async () => {
    gpus.push({ label: 'warp', b: await openHip({ exact: false, fuseDecodeRounding: true }) });
    gpus.push({ label: 'shared memory', b: await openHip({ exact: false, fuseDecodeRounding: true, subgroups: false }) });
  });
  afterAll(() => {
    for (const g of gpus) g.b.dispose();
  });
  const main = (): Backend => gpus[0]!.b;

  for (const flavour of ['warp', 'shared memory']) {
    const gpu = (): Backend => gpus.find((g) => g.label === flavour)!.b;

    it(`rmsNorm (${flavour} reductions), NMSE <= ${NMSE_THRESHOLDS.rmsNorm}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5000 }), fc.boolean(), fc.integer(), async (rows, cols, inPlace, s) => {
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
        { seed: seeded(`rmsNorm ${flavour}`), numRuns: 10 },
      );
    });

    it(`storeKv + attention (${flavour} reductions): GQA, several slots, prefill and decode rows, NMSE <= ${NMSE_THRESHOLDS.attention}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom([1, 1], [4, 2], [8, 2], [32, 8]),
          fc.constantFrom(2, 8, 64, 128, 256),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 600 }),
          fc.integer(),
          async ([nHeads, nKvHeads], headDim, nSlots, prompt, s) => {
            const rnd = rng(s);
            const kvDim = nKvHeads! * headDim;
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
            const q = randomArray(rows * nHeads! * headDim, rnd, 2);
            const r = await differential(gpu(), async (b, track) => {
              const cache = track(b.createKvCache({ nLayers: 2, nSlots, contextLength: prompt + 2, kvDim }));
              const sl = indexOf(b, track, slots);
              const ps = indexOf(b, track, positions);
              b.storeKv(cache, 1, tensorOf(b, track, rows, kvDim, k), tensorOf(b, track, rows, kvDim, v), sl, ps);
              const out = track(b.createTensor(rows, nHeads! * headDim));
              b.attention(tensorOf(b, track, rows, nHeads! * headDim, q), cache, 1, sl, ps, { nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, scale: 1 / Math.sqrt(headDim) }, out);
              return { out };
            });
            expect(r.nmse, `heads ${nHeads}/${nKvHeads} dim ${headDim} slots ${nSlots} rows ${rows}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.attention);
          },
        ),
        { seed: seeded(`attention ${flavour}`), numRuns: 8 },
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
    });

    it(`matvec rounding x in shared memory, plain matvec and matvec_q8 (legacy types against Q8 blocks of x; 1, 3 and 8 rows) (${flavour} reductions), NMSE <= ${NMSE_THRESHOLDS.matmulQuantized}`, async () => {
      const rnd = rng(seeded(`matvec ${flavour}`));
      for (const [type, cols] of [[GgmlType.F16, 77], [GgmlType.BF16, 2048], [GgmlType.Q4_0, 2048], [GgmlType.Q4_0, 8192], [GgmlType.Q4_1, 160], [GgmlType.Q5_0, 2112], [GgmlType.Q5_1, 96], [GgmlType.Q8_0, 2080], [GgmlType.Q4_K, 512], [GgmlType.IQ4_NL, 512]] as const) {
        for (const rows of [1, 3, 8]) {
          const w = pack(type, randomArray(37 * cols, rnd));
          const x = randomArray(rows * cols, rnd, 4);
          const r = await differential(gpu(), async (b, track) => {
            const out = track(b.createTensor(rows, 37));
            b.matmul(await weightOf(b, track, 'w', type, 37, cols, w), tensorOf(b, track, rows, cols, x), out);
            return { out };
          });
          expect(r.nmse, `${typeName(type)} rows ${rows} cols ${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
        }
      }
    });
    it(`rmsNorm of decode rows writes the Q8 copy the next matvecs read (rmsnorm_q8; ${flavour} reductions): norm bit-identical, matvec NMSE <= ${NMSE_THRESHOLDS.matmulQuantized}`, async () => {
      const rnd = rng(seeded(`rmsnorm_q8 ${flavour}`));
      for (const [type, cols, rows, inPlace] of [[GgmlType.Q4_0, 2048, 1, true], [GgmlType.Q4_0, 8192, 1, false], [GgmlType.Q5_1, 96, 3, false], [GgmlType.Q8_0, 4096, 8, true]] as const) {
        const w = pack(type, randomArray(19 * cols, rnd));
        const x = randomArray(rows * cols, rnd, 3);
        const nw = randomArray(cols, rnd);
        const r = await differential(gpu(), async (b, track) => {
          const xt = tensorOf(b, track, rows, cols, x);
          const normed = inPlace ? xt : track(b.createTensor(rows, cols));
          b.rmsNorm(xt, await weightOf(b, track, 'norm', GgmlType.F32, 1, cols, pack(GgmlType.F32, nw)), 1e-5, normed);
          const out = track(b.createTensor(rows, 19));
          b.matmul(await weightOf(b, track, 'w', type, 19, cols, w), normed, out);
          return { out, extra: [normed] };
        });
        expect(r.extraNmse[0], `norm ${rows}x${cols}`).toBe(0);
        expect(r.nmse, `${typeName(type)} rows ${rows} cols ${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
      }
    });
  }

  it(`rope: normal and neox, partial rotation, large positions, NMSE <= ${NMSE_THRESHOLDS.rope}`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom([4, 2], [8, 8], [3, 1]),
        fc.constantFrom(8, 64, 128),
        fc.constantFrom(1, 0.5),
        fc.boolean(),
        fc.constantFrom(10000, 1000000),
        fc.integer(),
        async (rows, [nHeads, nKvHeads], headDim, ropeFrac, neox, freqBase, s) => {
          const rnd = rng(s);
          const positions = Array.from({ length: rows }, () => Math.floor(((rnd() + 1) / 2) * 30000));
          const q = randomArray(rows * nHeads! * headDim, rnd);
          const k = randomArray(rows * nKvHeads! * headDim, rnd);
          const r = await differential(main(), async (b, track) => {
            const qt = tensorOf(b, track, rows, nHeads! * headDim, q);
            const kt = tensorOf(b, track, rows, nKvHeads! * headDim, k);
            b.rope(qt, kt, indexOf(b, track, positions), { nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, ropeDim: headDim * ropeFrac, freqBase, freqScale: 1, neox });
            return { out: qt, extra: [kt] };
          });
          expect(r.nmse).toBeLessThanOrEqual(NMSE_THRESHOLDS.rope);
          expect(r.extraNmse[0]).toBeLessThanOrEqual(NMSE_THRESHOLDS.rope);
        },
      ),
      { seed: seeded('rope'), numRuns: 8 },
    );
  });

  it(`swiglu and add (out aliasing an input or not), NMSE <= ${NMSE_THRESHOLDS.swiglu}; gatherRows exact`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 20000 }), fc.constantFrom('none', 'a', 'b'), fc.integer(), async (rows, cols, alias, s) => {
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
        const pick = Array.from({ length: 3 }, () => Math.floor(((rnd() + 1) / 2) * rows));
        const g = await differential(main(), async (b, track) => {
          const out = track(b.createTensor(3, cols));
          b.gatherRows(tensorOf(b, track, rows, cols, a), indexOf(b, track, pick), out);
          return { out };
        });
        expect(g.nmse).toBe(0);
      }),
      { seed: seeded('swiglu/add/gatherRows'), numRuns: 8 },
    );
  });

  for (const type of [...GPU_WEIGHT_TYPES].sort((x, y) => x - y)) {
    const name = typeName(type);
    if (!isSupported(type)) continue;
    const threshold = FLOAT_TYPES.has(type) ? NMSE_THRESHOLDS.matmul : NMSE_THRESHOLDS.matmulQuantized;
    it(`matmul ${name}: 1..8 rows and tiled 9..200 rows, with and without bias, NMSE <= ${threshold}; getRows`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 200 })),
          fc.integer({ min: 1, max: 140 }),
          colsArb(type),
          fc.boolean(),
          fc.integer(),
          async (rows, outs, cols, withBias, dataSeed) => {
            const rnd = rng(dataSeed);
            const w = pack(type, randomArray(outs * cols, rnd));
            const x = randomArray(rows * cols, rnd);
            const bias = randomArray(outs, rnd);
            const r = await differential(main(), async (b, track) => {
              const wt = await weightOf(b, track, 'w', type, outs, cols, w);
              const bt = withBias ? await weightOf(b, track, 'bias', GgmlType.F32, 1, outs, pack(GgmlType.F32, bias)) : undefined;
              const out = track(b.createTensor(rows, outs));
              b.matmul(wt, tensorOf(b, track, rows, cols, x), out, bt);
              return { out };
            });
            expect(r.nmse, `rows ${rows} outs ${outs} cols ${cols} bias ${withBias}`).toBeLessThanOrEqual(threshold);
            const ids = Array.from({ length: 5 }, () => Math.floor(((rnd() + 1) / 2) * outs));
            const g = await differential(main(), async (b, track) => {
              const out = track(b.createTensor(5, cols));
              b.getRows(await weightOf(b, track, 'table', type, outs, cols, w), indexOf(b, track, ids), out);
              return { out };
            });
            expect(g.nmse, `getRows ${outs}x${cols}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.getRows);
          },
        ),
        { seed: seeded(`matmul ${name}`), numRuns: 6 },
      );
    });
  }
});
