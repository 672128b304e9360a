// The ops Llama 3, Gemma 2 and Phi-3 add to the CPU reference: geglu (ggml's f16 GELU table),
// scale, softcap, rope frequency factors, and attention's sliding window and logit soft-cap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttentionParams, RopeParams } from '../../../src/backends/backend.ts';
import { gelu, geluF32, geluTable } from '../../../src/backends/cpu/gelu.ts';
import { glibcTanhf } from '../../../src/backends/cpu/glibc-tanhf.ts';
import { f16ToF32, f32ToF16 } from '../../../src/quant/float.ts';
import { backend, index, read, tensor } from './helpers.ts';

const fr = Math.fround;
const toHalf = (x: number) => f16ToF32(f32ToF16(x));

describe('cpu geglu', () => {
  it('is ggml GELU: 0 below -10, identity above 10, else the f16 of gelu(f16(x)), times up', async () => {
    const t = geluTable();
    expect(gelu(-10, t)).toBe(0);
    expect(gelu(-50, t)).toBe(0);
    expect(gelu(10, t)).toBe(10);
    expect(gelu(37.5, t)).toBe(37.5);
    for (const x of [-3, -0.5, 0, 0.25, 1, 2.5, 9.99]) {
      const want = toHalf(geluF32(toHalf(x)));
      expect(gelu(x, t)).toBe(want);
      // and that is the tanh form of GELU to f16 precision
      const exact = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * x * (1 + 0.044715 * x * x)));
      expect(Math.abs(want - exact)).toBeLessThanOrEqual(Math.abs(exact) * 2 ** -10 + 2 ** -24 + Math.abs(x) * 2 ** -10);
    }
    const b = backend();
    const g = [-12, -1, 0.5, 3, 11];
    const u = [2, -3, 4, 0.5, -1];
    const out = b.createTensor(1, 5);
    b.geglu(tensor(b, 1, 5, g), tensor(b, 1, 5, u), out);
    expect(await read(b, out)).toEqual(g.map((x, i) => fr(gelu(x, t) * u[i]!)));
  });

  it('GELU table is monotone above its minimum and near x for large x', () => {
    const t = geluTable();
    let prev = -Infinity;
    for (let x = -0.75; x < 10; x += 1 / 64) {
      const y = t[f32ToF16(x)]!;
      expect(y).toBeGreaterThanOrEqual(prev);
      prev = y;
    }
    expect(Math.abs(t[f32ToF16(8)]! - 8)).toBeLessThan(1e-2);
  });
});

describe('cpu scale and softcap', () => {
  it('scale rounds each product to float, in place too', async () => {
    const b = backend();
    const x = tensor(b, 2, 3, [1, -2.5, 3.1, 1e-3, 7, -0.1]);
    b.scale(x, 11.3137085, x);
    expect(await read(b, x)).toEqual([1, -2.5, 3.1, 1e-3, 7, -0.1].map((v) => fr(fr(v) * fr(11.3137085))));
  });

  it('softcap is cap * tanhf(x * (1/cap)) with float steps, bounded by the cap', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 40 }), fc.constantFrom(30, 50), async (xs, cap) => {
        const b = backend();
        const x = tensor(b, 1, xs.length, xs);
        const out = b.createTensor(1, xs.length);
        b.softcap(x, cap, out);
        const got = await read(b, out);
        const inv = fr(1 / cap);
        got.forEach((v, i) => {
          expect(v).toBe(fr(glibcTanhf(fr(fr(xs[i]!) * inv)) * cap));
          expect(Math.abs(v)).toBeLessThanOrEqual(cap);
        });
      }),
    );
  });
});

describe('cpu rope with frequency factors', () => {
  it("divides pair i's angle by factor i (a factor of 1 changes nothing)", async () => {
    const base: RopeParams = { nHeads: 1, nKvHeads: 1, headDim: 4, ropeDim: 4, freqBase: 10000, freqScale: 1, neox: false };
    const run = async (p: RopeParams, pos: number) => {
      const b = backend();
      const q = tensor(b, 1, 4, [1, 2, 3, 4]);
      const k = tensor(b, 1, 4, [0.5, -1, 2, 0.25]);
      b.rope(q, k, index(b, [pos]), p);
      return [...(await read(b, q)), ...(await read(b, k))];
    };
    expect(await run({ ...base, freqFactors: Float32Array.of(1, 1) }, 37)).toEqual(await run(base, 37));
    // Pair 0 turns by pos/ff0 = 37/4 radians; pair 1 by (37/100)/ff1 = 0.37/8.
    const got = await run({ ...base, freqFactors: Float32Array.of(4, 8) }, 37);
    const rot = (x0: number, x1: number, a: number) => [x0 * Math.cos(a) - x1 * Math.sin(a), x0 * Math.sin(a) + x1 * Math.cos(a)];
    const want = [...rot(1, 2, 37 / 4), ...rot(3, 4, 0.37 / 8), ...rot(0.5, -1, 37 / 4), ...rot(2, 0.25, 0.37 / 8)];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });
});

describe('cpu attention: sliding window and logit soft-cap', () => {
  const p: AttentionParams = { nHeads: 2, nKvHeads: 1, headDim: 16, scale: 0.25 };
  const run = async (params: AttentionParams, keys: Float32Array, values: Float32Array, n: number, rows: number) => {
    const b = backend();
    const cache = b.createKvCache({ nLayers: 1, nSlots: 1, contextLength: n, kvDim: 16 });
    const all = Array.from({ length: n }, (_, i) => i);
    b.storeKv(cache, 0, tensor(b, n, 16, [...keys]), tensor(b, n, 16, [...values]), index(b, new Array(n).fill(0)), index(b, all));
    const q = tensor(b, rows, 32, Array.from({ length: rows * 32 }, (_, i) => Math.sin(i * 0.7) * 3));
    const out = b.createTensor(rows, 32);
    b.attention(q, cache, 0, index(b, new Array(rows).fill(0)), index(b, all.slice(n - rows)), params, out);
    return read(b, out);
  };
  const data = (n: number, seed: number) => Float32Array.from({ length: n * 16 }, (_, i) => Math.cos(i * 1.3 + seed) * 2);

  it('a window covering every position changes nothing; cells outside the window change nothing', async () => {
    for (const rows of [1, 3]) {
      const n = 40;
      const k = data(n, 1);
      const v = data(n, 2);
      expect(await run({ ...p, window: n }, k, v, n, rows)).toEqual(await run(p, k, v, n, rows));
      // Rows at positions 37..39 with window 8 see cells from 30 on: scribbling over cells 0..29 is invisible.
      const k2 = k.slice();
      const v2 = v.slice();
      for (let i = 0; i < 30 * 16; i++) {
        k2[i] = -k2[i]! * 3;
        v2[i] = 100;
      }
      const w = { ...p, window: 8 };
      expect(await run(w, k2, v2, n, rows)).toEqual(await run(w, k, v, n, rows));
      expect(await run(w, k, v, n, rows)).not.toEqual(await run(p, k, v, n, rows));
    }
  });

  it('soft-capped scores follow softcap * tanh(score / softcap) (f16 rounding apart)', async () => {
    const n = 12;
    const k = data(n, 3);
    const v = data(n, 4);
    const cap = 2;
    const got = await run({ ...p, softcap: cap }, k, v, n, 1);
    const q = Array.from({ length: 32 }, (_, i) => Math.sin(i * 0.7) * 3);
    for (let h = 0; h < 2; h++) {
      const s = Array.from({ length: n }, (_, t) => {
        let d = 0;
        for (let i = 0; i < 16; i++) d += toHalf(q[h * 16 + i]!) * toHalf(k[t * 16 + i]!);
        return cap * Math.tanh(d / cap) * 0.25;
      });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, c) => a + c, 0);
      for (let i = 0; i < 16; i++) {
        const want = e.reduce((acc, x, t) => acc + (x / z) * toHalf(v[t * 16 + i]!), 0);
        expect(got[h * 16 + i]!).toBeCloseTo(want, 2);
      }
    }
  });
});
