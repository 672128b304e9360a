// Fast attention of prompt-shaped batches on a GPU backend (WebGPU, HIP) against the CPU reference
// by NMSE: the shapes kernel-choice.ts sends to attention_prefill (many rows, a prefix already in
// the cache, several slots, tiles that span two slots, a slot's rows in two runs, GQA groups of 1
// to 4, head dimensions of both its variants, a sliding window, a soft-cap, row counts that are
// not a multiple of its tile, decode rows before a prompt's chunk). Each case first checks that the
// kernel choice takes that kernel.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionParams, Backend } from '../../src/backends/backend.ts';
import { attentionPrefillSplit } from '../../src/backends/gpu/kernel-choice.ts';
import { ATTENTION_PREFILL_TILE, MATVEC_MAX_ROWS } from '../../src/backends/gpu/kernels.ts';
import { NMSE_THRESHOLDS } from '../../src/diff/thresholds.ts';
import { indexOf, tensorOf } from './webgpu/build.ts';
import { differential, randomArray, rng } from './webgpu/differential.ts';

export interface PrefillCase {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Cells of each slot cached before the batch. */
  past: number;
  /** The batch: runs of [slot, rows]; a slot's runs continue its positions. */
  runs: [number, number][];
  /** Rows of the first runs that are decode rows (runs of 1) which attention.wgsl takes. */
  decodeRows?: number;
  window: number;
  softcap: number;
  seed: number;
}

/** The batch's slots and positions, and every slot's cell count once the batch is stored. */
function layout(c: PrefillCase): { slots: number[]; positions: number[]; cells: Map<number, number> } {
  const cells = new Map<number, number>();
  const slots: number[] = [];
  const positions: number[] = [];
  for (const [slot, n] of c.runs) {
    const at = cells.get(slot) ?? c.past;
    for (let i = 0; i < n; i++) {
      slots.push(slot);
      positions.push(at + i);
    }
    cells.set(slot, at + n);
  }
  return { slots, positions, cells };
}

export async function prefillDiff(gpu: Backend, c: PrefillCase) {
  const rnd = rng(c.seed);
  const kvDim = c.nKvHeads * c.headDim;
  const { slots, positions, cells } = layout(c);
  const nSlots = Math.max(...cells.keys()) + 1;
  const context = Math.max(...cells.values());
  // The cache: every slot's prefix and the batch's own cells, stored in one call.
  const storeSlots: number[] = [];
  const storePos: number[] = [];
  for (const [slot, n] of cells) {
    for (let p = 0; p < n; p++) {
      storeSlots.push(slot);
      storePos.push(p);
    }
  }
  const stored = storeSlots.length;
  // Large keys so that soft-capping bites (scores well past the cap).
  const k = randomArray(stored * kvDim, rnd, 4);
  const v = randomArray(stored * kvDim, rnd);
  const rows = slots.length;
  const q = randomArray(rows * c.nHeads * c.headDim, rnd, 4);
  const p: AttentionParams = { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim), window: c.window, softcap: c.softcap };
  return differential(gpu, async (b, track) => {
    const cache = track(b.createKvCache({ nLayers: 1, nSlots, contextLength: context, kvDim }));
    b.storeKv(cache, 0, tensorOf(b, track, stored, kvDim, k), tensorOf(b, track, stored, kvDim, v), indexOf(b, track, storeSlots), indexOf(b, track, storePos));
    const out = track(b.createTensor(rows, c.nHeads * c.headDim));
    b.attention(tensorOf(b, track, rows, c.nHeads * c.headDim, q), cache, 0, indexOf(b, track, slots), indexOf(b, track, positions), p, out);
    return { out };
  });
}

/** The suite, for a backend named `label` that `open` opens with fast numerics; skipped unless `present`. */
export function attentionPrefillSuite(label: string, present: boolean, open: () => Promise<Backend>): void {
  const seeded = (name: string): number => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`${label} ${name} seed ${seed}`);
    return seed;
  };
  const check = async (gpu: Backend, c: PrefillCase): Promise<void> => {
    const { slots } = layout(c);
    const split = attentionPrefillSplit(slots, c.headDim, c.nHeads / c.nKvHeads, ATTENTION_PREFILL_TILE, MATVEC_MAX_ROWS);
    expect(split, `prefill kernel for ${JSON.stringify(c)}`).toEqual({ from: c.decodeRows ?? 0, wide: c.headDim <= 64 ? 0 : 1 });
    const r = await prefillDiff(gpu, c);
    expect(r.nmse, JSON.stringify(c)).toBeLessThanOrEqual(NMSE_THRESHOLDS.attention);
  };

  describe.skipIf(!present)(`${label}: prefill attention (attention_prefill) vs the CPU reference`, () => {
    let fast: Backend;
    beforeAll(async () => {
      fast = await open();
    });
    afterAll(() => fast?.dispose());

    const fixed: Omit<PrefillCase, 'seed'>[] = [
      // TinyLlama's heads: 32 q heads over 8 KV heads of 64, one prompt of 75 rows (not a multiple of the tile's 8 rows).
      { nHeads: 32, nKvHeads: 8, headDim: 64, past: 0, runs: [[0, 75]], window: 0, softcap: 0 },
      // Three slots, a cached prefix, head dimension 128 (WIDE), GQA 4.
      { nHeads: 8, nKvHeads: 2, headDim: 128, past: 21, runs: [[0, 37], [1, 30], [2, 19]], window: 0, softcap: 0 },
      // Two slots' runs alternating (tiles of 16 rows span two runs); head dimension 96 (WIDE with unused pairs); window and soft-cap.
      { nHeads: 4, nKvHeads: 2, headDim: 96, past: 5, runs: [[1, 17], [0, 16], [1, 21], [0, 18]], window: 16, softcap: 30 },
      // A continuous batch: three decode rows (slots 0, 2, 3, contexts past 60), then a prompt's chunk in slot 1.
      { nHeads: 8, nKvHeads: 2, headDim: 64, past: 60, runs: [[0, 1], [2, 1], [3, 1], [1, 45]], decodeRows: 3, window: 0, softcap: 0 },
      // No GQA, head dimension 48 (pairs unused), window smaller than a chunk.
      { nHeads: 6, nKvHeads: 6, headDim: 48, past: 40, runs: [[0, 33]], window: 7, softcap: 0 },
    ];
    for (const c of fixed) {
      it(`heads ${c.nHeads}/${c.nKvHeads} dim ${c.headDim}, runs ${JSON.stringify(c.runs)}, past ${c.past}, window ${c.window}, softcap ${c.softcap}: NMSE <= ${NMSE_THRESHOLDS.attention}`, async () => {
        await check(fast, { ...c, seed: seeded(`prefill attention ${c.nHeads}/${c.nKvHeads}/${c.headDim}`) });
      });
    }

    it(`random prompt batches (GQA, slots, dims 64 and 128, window, soft-cap): NMSE <= ${NMSE_THRESHOLDS.attention}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom([4, 1], [8, 2], [3, 3]),
          fc.constantFrom(32, 64, 128),
          fc.integer({ min: 0, max: 80 }),
          fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 3 }),
          fc.constantFrom(0, 5, 40),
          fc.constantFrom(0, 50),
          fc.integer(),
          async ([nHeads, nKvHeads], headDim, past, lens, window, softcap, seed) => {
            // Runs of at least a tile's rows (32 vectors) and 9 rows: what the kernel choice sends to attention_prefill.
            const minRun = Math.max(9, Math.ceil(ATTENTION_PREFILL_TILE / (nHeads! / nKvHeads!)));
            const runs = lens.map((n, i): [number, number] => [i, minRun + n]);
            await check(fast, { nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, past, runs, window, softcap, seed });
          },
        ),
        { seed: seeded('prefill attention random'), numRuns: 6 },
      );
    });
  });
}
