// matmulParts: projections concatenated by rows run as one matmul whose output columns go to one
// tensor per projection must give every part exactly the bits of its own matmul, for every kernel
// family (exact serial and parallel, fast), row counts of decode and prefill, with a bias, and with
// the joined weight split over several buffers across part boundaries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor, Weight } from '../../../src/backends/backend.ts';
import type { WebGpuBackend } from '../../../src/backends/webgpu/index.ts';
import { GgmlType, typeName } from '../../../src/gguf/types.ts';
import { pack } from './build.ts';
import { randomArray, rng } from './differential.ts';
import { gpuPresent, openGpu } from './gpu.ts';

const present = await gpuPresent();

const TYPES = [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q8_0, GgmlType.IQ4_NL, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32];
/** Rows of the parts: q, k, v of 2 KV heads of 8 and 6 heads, and gate, up. Multiples of 8 (Q4_0's repacking rule holds for all). */
const SHAPES: readonly (readonly number[])[] = [
  [48, 16, 16],
  [40, 40],
];

const CONFIGS = [
  { name: 'exact serial', opts: { exactKernels: 'serial' as const } },
  { name: 'exact parallel', opts: { exactKernels: 'parallel' as const } },
  { name: 'fast', opts: { exact: false } },
  // One-row matmuls of f16/bf16/q8_0 weights round x inside the matvec (matvec_xr).
  { name: 'fast, rounding in the matvec', opts: { exact: false, fuseDecodeRounding: true }, types: [GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0] },
  // A binding of 2 KiB splits the joined weight into buffers whose row ranges straddle the parts.
  { name: 'exact parallel, split buffers', opts: { exactKernels: 'parallel' as const, maxBindingBytes: 2048 }, types: [GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.F16] },
];

describe.skipIf(!present)('webgpu matmulParts: one dispatch, each part bit-identical to its own matmul', () => {
  for (const config of CONFIGS) {
    describe(config.name, () => {
      let gpu: WebGpuBackend;
      beforeAll(async () => {
        gpu = await openGpu(config.opts);
      });
      afterAll(() => gpu?.dispose());

      for (const type of config.types ?? TYPES) {
        it(`${typeName(type)}: q|k|v and gate|up, 1, 3 and 9 rows, with and without bias`, async () => {
          const cols = type === GgmlType.Q4_K || type === GgmlType.Q6_K ? 256 : 64;
          const rnd = rng(type * 7919 + cols);
          for (const widths of SHAPES) {
            const total = widths.reduce((a, b) => a + b, 0);
            const values = randomArray(total * cols, rnd);
            const bias = randomArray(total, rnd);
            const made: (Weight | Tensor)[] = [];
            const track = <T extends Weight | Tensor>(r: T): T => (made.push(r), r);
            try {
              const joined = track(await gpu.uploadWeight('joined', type, total, cols, pack(type, values)));
              const joinedBias = track(await gpu.uploadWeight('joined bias', GgmlType.F32, 1, total, pack(GgmlType.F32, bias)));
              const parts: Weight[] = [];
              const biases: Weight[] = [];
              let lo = 0;
              for (const n of widths) {
                parts.push(track(await gpu.uploadWeight(`part ${lo}`, type, n, cols, pack(type, values.subarray(lo * cols, (lo + n) * cols)))));
                biases.push(track(await gpu.uploadWeight(`bias ${lo}`, GgmlType.F32, 1, n, pack(GgmlType.F32, bias.subarray(lo, lo + n)))));
                lo += n;
              }
              for (const rows of [1, 3, 9]) {
                const x = track(gpu.createTensor(rows, cols));
                gpu.writeTensor(x, randomArray(rows * cols, rnd));
                for (const withBias of [false, true]) {
                  const outs = widths.map((n) => track(gpu.createTensor(rows, n)));
                  gpu.matmulParts(joined, x, outs, withBias ? joinedBias : undefined);
                  const got = await Promise.all(outs.map((o) => gpu.read(o)));
                  for (const [i, part] of parts.entries()) {
                    const sep = track(gpu.createTensor(rows, widths[i]!));
                    gpu.matmul(part, x, sep, withBias ? biases[i] : undefined);
                    const want = await gpu.read(sep);
                    expect(bits(got[i]!), `${typeName(type)} part ${i} of [${widths.join(', ')}], ${rows} rows, bias ${withBias}`).toEqual(bits(want));
                  }
                }
              }
            } finally {
              for (const r of made) gpu.release(r);
            }
          }
        });
      }
    });
  }

  it('refuses outputs whose columns do not add up to the weight rows, or that alias', async () => {
    const gpu = await openGpu();
    try {
      const w = await gpu.uploadWeight('w', GgmlType.F32, 8, 4, pack(GgmlType.F32, randomArray(32, rng(1))));
      const x = gpu.createTensor(1, 4);
      const a = gpu.createTensor(1, 4);
      const b = gpu.createTensor(1, 3);
      expect(() => gpu.matmulParts(w, x, [a, b])).toThrow(/4 \+ 3 columns, the weight has 8 rows/);
      expect(() => gpu.matmulParts(w, x, [a, a])).toThrow(/output 1 aliases an earlier output/);
    } finally {
      gpu.dispose();
    }
  });
});

function bits(v: Float32Array): number[] {
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}
