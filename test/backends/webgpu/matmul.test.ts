// WebGPU matmul and getRows against the CPU reference, for every weight type, by NMSE.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { webgpuWeightTypes } from '../../../src/backends/webgpu/shader-composer.ts';
import { NMSE_THRESHOLDS } from '../../../src/diff/thresholds.ts';
import { GgmlType, TYPE_LAYOUT, typeName } from '../../../src/gguf/types.ts';
import { isSupported } from '../../../src/quant/registry.ts';
import { indexOf, pack, tensorOf, weightOf } from './build.ts';
import { differential, randomArray, rng } from './differential.ts';
import { gpuPresent, openGpu } from './gpu.ts';

const present = await gpuPresent();
const types = webgpuWeightTypes();
const FLOAT_TYPES = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);

/** Column counts the format allows: any for floats, multiples of the block otherwise. */
function colsArb(type: GgmlType): fc.Arbitrary<number> {
  const block = TYPE_LAYOUT[type]!.blockSize;
  if (block === 1) return fc.integer({ min: 1, max: 150 });
  if (block === 32) return fc.integer({ min: 1, max: 6 }).map((k) => k * 32);
  return fc.integer({ min: 1, max: 2 }).map((k) => k * 256);
}

describe.skipIf(!present)('webgpu matmul and getRows vs the CPU reference', () => {
  let gpu: WebGpuBackend;
  beforeAll(async () => {
    gpu = await openGpu();
  });
  afterAll(() => gpu?.dispose());

  for (const type of types) {
    const name = typeName(type);
    const refOk = isSupported(type);
    if (!refOk) console.warn(`skipped: ${name} — the CPU reference (src/quant/registry.ts) cannot pack/unpack it yet`);
    const threshold = FLOAT_TYPES.has(type) ? NMSE_THRESHOLDS.matmul : NMSE_THRESHOLDS.matmulQuantized;

    it.skipIf(!refOk)(`matmul ${name}: matrix-vector (1..8 rows) and tiled (9..80 rows), with and without bias, NMSE <= ${threshold}`, async () => {
      const seed = Date.now();
      console.log(`webgpu matmul ${name} seed ${seed}`);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 80 })),
          fc.integer({ min: 1, max: 70 }),
          colsArb(type),
          fc.boolean(),
          fc.integer(),
          async (rows, outs, cols, withBias, dataSeed) => {
            const rnd = rng(dataSeed);
            const w = pack(type, randomArray(outs * cols, rnd));
            const x = randomArray(rows * cols, rnd);
            const bias = randomArray(outs, rnd);
            const r = await differential(gpu, async (b, track) => {
              const wt = await weightOf(b, track, 'w', type, outs, cols, w);
              const bt = withBias ? await weightOf(b, track, 'bias', GgmlType.F32, 1, outs, pack(GgmlType.F32, bias)) : undefined;
              const out = track(b.createTensor(rows, outs));
              b.matmul(wt, tensorOf(b, track, rows, cols, x), out, bt);
              return { out };
            });
            expect(r.nmse, `rows ${rows} outs ${outs} cols ${cols} bias ${withBias}`).toBeLessThanOrEqual(threshold);
          },
        ),
        { seed, numRuns: 3 },
      );
    });

    it.skipIf(!refOk)(`getRows ${name}: random ids, NMSE <= ${NMSE_THRESHOLDS.getRows}`, async () => {
      const seed = Date.now();
      console.log(`webgpu getRows ${name} seed ${seed}`);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 40 }), colsArb(type), fc.integer({ min: 1, max: 12 }), fc.integer(), async (tableRows, cols, n, dataSeed) => {
          const rnd = rng(dataSeed);
          const table = pack(type, randomArray(tableRows * cols, rnd));
          const ids = Array.from({ length: n }, () => Math.floor(((rnd() + 1) / 2) * tableRows));
          const r = await differential(gpu, async (b, track) => {
            const t = await weightOf(b, track, 'table', type, tableRows, cols, table);
            const out = track(b.createTensor(n, cols));
            b.getRows(t, indexOf(b, track, ids), out);
            return { out };
          });
          expect(r.nmse, `table ${tableRows}x${cols}, ${n} ids`).toBeLessThanOrEqual(NMSE_THRESHOLDS.getRows);
        }),
        { seed, numRuns: 3 },
      );
    });
  }
  // A one-row weight is held as f32 on the device (vectors are read element-wise); the exact
  // quantized kernels must not be picked for it (H100 found this: an invalid pipeline).
  it('multiplies by one-row quantized weights (held as f32) like the CPU', async () => {
    for (const type of [GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K]) {
      const cols = TYPE_LAYOUT[type]!.blockSize === 256 ? 256 : 64;
      for (const rows of [1, 9]) {
        const rnd = rng(rows * 7 + type);
        const w = pack(type, randomArray(cols, rnd));
        const x = randomArray(rows * cols, rnd);
        const r = await differential(gpu, async (b, track) => {
          const out = track(b.createTensor(rows, 1));
          b.matmul(await weightOf(b, track, 'w', type, 1, cols, w), tensorOf(b, track, rows, cols, x), out);
          return { out };
        });
        expect(r.nmse, `${typeName(type)} rows ${rows}`).toBeLessThanOrEqual(NMSE_THRESHOLDS.matmulQuantized);
      }
    }
  });
});
