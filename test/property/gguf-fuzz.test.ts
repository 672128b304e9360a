// Property: a mutated real GGUF file either loads (and every tensor reads back) or raises GgufError.
// Never another exception, a hang, or a large allocation. Seeds: stories260K.gguf and a vocab-only file.
// Reproduce a failure with ROCFORGE_FUZZ_SEED=<printed seed>; ROCFORGE_FUZZ_RUNS sets the runs per seed.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgufError } from '../../src/errors.ts';
import { GgufFile } from '../../src/gguf/reader.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const SEEDS = [
  ['models', 'stories260K.gguf'],
  ['vocab', 'ggml-vocab-llama-spm.gguf'],
] as const;
const RUNS = Number(process.env.ROCFORGE_FUZZ_RUNS ?? 150);
const HANG_MS = 10_000;

type FieldKind = 'count' | 'length' | 'vtype' | 'ndims' | 'dim' | 'ttype' | 'toffset';
interface Field {
  readonly at: number;
  readonly kind: FieldKind;
}

/**
 * Offsets of the structural fields of a well-formed GGUF v3 header (an independent walker, so that
 * mutations aim at what the reader must distrust: counts, lengths, type tags, dims and offsets).
 */
function headerFields(b: Buffer): { fields: Field[]; end: number } {
  const fields: Field[] = [];
  let o = 8;
  const u64 = (kind: FieldKind) => {
    fields.push({ at: o, kind });
    const v = Number(b.readBigUInt64LE(o));
    o += 8;
    return v;
  };
  const u32 = (kind: FieldKind) => {
    fields.push({ at: o, kind });
    const v = b.readUInt32LE(o);
    o += 4;
    return v;
  };
  const str = () => {
    const n = u64('length');
    o += n;
  };
  const SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (t: number): void => {
    if (t === 8) return str();
    if (t === 9) {
      const items = u32('vtype');
      const n = u64('count');
      if (SIZE[items]) o += n * SIZE[items]!;
      else for (let i = 0; i < n; i++) value(items);
      return;
    }
    o += SIZE[t]!;
  };
  const nTensors = u64('count');
  const nKv = u64('count');
  for (let i = 0; i < nKv; i++) {
    str();
    value(u32('vtype'));
  }
  for (let i = 0; i < nTensors; i++) {
    str();
    const nd = u32('ndims');
    for (let d = 0; d < nd; d++) u64('dim');
    u32('ttype');
    u64('toffset');
  }
  return { fields, end: o };
}

type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; xor: number }
  | { op: 'u64'; field: number; value: bigint }
  | { op: 'u32'; field: number; value: number };

function mutationArb(size: number, fields: readonly Field[], headerEnd: number): fc.Arbitrary<Mutation[]> {
  const u64Fields = fields.flatMap((f, i) => (['count', 'length', 'dim', 'toffset'].includes(f.kind) ? [i] : []));
  const u32Fields = fields.flatMap((f, i) => (['vtype', 'ndims', 'ttype'].includes(f.kind) ? [i] : []));
  const huge = fc.oneof(
    fc.constantFrom(2n ** 64n - 1n, 2n ** 63n, 2n ** 32n, 2n ** 32n - 1n, 2n ** 31n, BigInt(size), BigInt(size + 1), 0n, 1n),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    fc.bigInt({ min: 0n, max: BigInt(size) * 2n }),
  );
  const one: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ op: fc.constant('truncate' as const), at: fc.integer({ min: 0, max: size - 1 }) }),
    // mostly inside the header, where a flipped byte matters most
    fc.record({
      op: fc.constant('flip' as const),
      at: fc.oneof(fc.integer({ min: 0, max: headerEnd - 1 }), fc.integer({ min: 0, max: size - 1 })),
      xor: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({ op: fc.constant('u64' as const), field: fc.constantFrom(...u64Fields), value: huge }),
    fc.record({
      op: fc.constant('u32' as const),
      field: fc.constantFrom(...u32Fields),
      value: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
    }),
  );
  return fc.array(one, { minLength: 1, maxLength: 4 });
}

function mutate(src: Buffer, fields: readonly Field[], muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of muts) {
    if (m.op === 'truncate') b = b.subarray(0, Math.min(m.at, b.length));
    else if (m.op === 'flip') {
      if (m.at < b.length) b[m.at]! ^= m.xor;
    } else {
      const at = fields[m.field]!.at;
      if (m.op === 'u64' && at + 8 <= b.length) b.writeBigUInt64LE(m.value, at);
      if (m.op === 'u32' && at + 4 <= b.length) b.writeUInt32LE(m.value, at);
    }
  }
  return b;
}

/** Opens a file and reads every tensor: 'loaded', or 'rejected' for a GgufError; anything else throws. */
async function tryLoad(path: string): Promise<'loaded' | 'rejected'> {
  let g: GgufFile;
  try {
    g = await GgufFile.open(path);
  } catch (e) {
    if (e instanceof GgufError) return 'rejected';
    throw e;
  }
  try {
    for (const t of g.tensors) {
      const bytes = await g.readTensor(t);
      if (bytes.length !== t.nbytes) throw new Error(`tensor ${t.name} read ${bytes.length} of ${t.nbytes} bytes`);
    }
    return 'loaded';
  } finally {
    await g.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for more than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rocforge-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('GGUF reader under mutation', () => {
  for (const seedFile of SEEDS) {
    it.skipIf(missingShared(...seedFile))(`${seedFile[1]}: every mutant loads or raises GgufError`, async () => {
      const src = await readFile(sharedPath(...seedFile));
      const { fields, end } = headerFields(src);
      expect(fields.length).toBeGreaterThan(20);
      const seed = Number(process.env.ROCFORGE_FUZZ_SEED ?? Date.now());
      console.log(`gguf-fuzz ${seedFile[1]}: seed=${seed} runs=${RUNS} (ROCFORGE_FUZZ_SEED=${seed} reproduces)`);
      const path = join(dir, 'mutant.gguf');
      await writeFile(path, src);
      expect(await tryLoad(path)).toBe('loaded');
      const outcomes = { loaded: 0, rejected: 0 };
      let worstMs = 0;
      await fc.assert(
        fc.asyncProperty(mutationArb(src.length, fields, end), async (muts) => {
          await writeFile(path, mutate(src, fields, muts));
          const t0 = performance.now();
          const outcome = await withTimeout(tryLoad(path), HANG_MS, 'GgufFile.open');
          worstMs = Math.max(worstMs, performance.now() - t0);
          outcomes[outcome]++;
        }),
        { seed, numRuns: RUNS },
      );
      const maxRssMiB = process.resourceUsage().maxRSS / 1024;
      console.log(`gguf-fuzz ${seedFile[1]}: ${outcomes.loaded} loaded, ${outcomes.rejected} rejected, slowest ${worstMs.toFixed(0)} ms, peak RSS ${maxRssMiB.toFixed(0)} MiB`);
      // the property is not vacuous: mutants do get rejected (loads are rarer and vary with the seed)
      expect(outcomes.rejected).toBeGreaterThan(RUNS / 4);
      expect(maxRssMiB).toBeLessThan(1024);
    });
  }
});
