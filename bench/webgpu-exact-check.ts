// Op-by-op bit comparison of the WebGPU backend with the CPU backend on a shared model's oracle
// prompts: every op runs on both with the CPU's inputs (GPU inputs are overwritten from the CPU
// before each op, so each op is judged alone), and the outputs are compared bit for bit.
// Usage: npx tsx bench/webgpu-exact-check.ts [model.gguf] [cases]   (ROCFORGE_SHARED, default ../shared)
// Prints per op: calls, calls with any differing value, differing values, largest difference in ulps.
// Env: VERBOSE=1 prints the first differing value per op; FMA=emulated forces the software fma;
// DUMP=dir writes differing one-row Q4_1/Q5_1 matmul calls (DUMP_ANY=1: any, to test the dump) for
// bench/diag-q8-dump.ts.
import type { Backend } from '../src/backends/backend.ts';
import { CpuBackend } from '../src/backends/cpu/index.ts';
import { createWebGpuBackend } from '../src/backends/webgpu/index.ts';
import { typeName } from '../src/gguf/types.ts';
import { readOracle, runOracle } from '../test/model/oracle-runner.ts';
import { GpuTensor } from '../src/backends/gpu/resources.ts';
import { mkdirSync, writeFileSync } from 'node:fs';

const shared = process.env.ROCFORGE_SHARED ?? '../shared';
const model = process.argv[2] ?? 'stories260K.gguf';
const maxCases = Number(process.argv[3] ?? 2);
const cpu = new CpuBackend();
// FMA=emulated forces the software fused multiply-add (to tell a driver's fma() from the rest).
const gpu = await createWebGpuBackend(process.env.FMA === 'emulated' ? { fmaFused: false } : {});
type P = { c: any; g: any; kind: string; rows?: number; cols?: number; name?: string };
const stats = new Map<string, { n: number; bad: number; maxUlp: number; elems: number; badElems: number }>();
const pend: Array<() => Promise<void>> = [];
function rec(op: string, bad: number, total: number, maxUlp: number) {
  const s = stats.get(op) ?? { n: 0, bad: 0, maxUlp: 0, elems: 0, badElems: 0 };
  s.n++; if (bad) s.bad++; s.maxUlp = Math.max(s.maxUlp, maxUlp); s.elems += total; s.badElems += bad;
  stats.set(op, s);
}
const u32 = (a: Float32Array) => new Int32Array(a.buffer, a.byteOffset, a.length);
async function check(op: string, t: P) {
  const ref = await cpu.read(t.c);
  const got = await gpu.read(t.g);
  const a = u32(ref), b = u32(got);
  let bad = 0, maxUlp = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { bad++; maxUlp = Math.max(maxUlp, Math.abs(a[i]! - b[i]!)); }
  rec(op, bad, a.length, maxUlp);
  if (bad && process.env.VERBOSE) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { console.log(op, i, ref[i], got[i]); break; }
  }
  if (bad) gpu.writeTensor(t.g, ref);
}

// DUMP=dir: for one-row Q4_1/Q5_1 matmuls that differ, write x, the GPU's Q8_1 blocks and both
// outputs as JSON (the first 4 such calls), to compare term by term off the device.
const dumpDir = process.env.DUMP;
let dumps = 0;
const snaps: Array<{ op: string; ref: Float32Array; g: any; x?: Float32Array; xq?: any; w?: string }> = [];
function snapXq(x: any): any {
  const m = (gpu as any).ops.copies.bySource.get(x.g.buf.id)?.get(100);
  if (!m) return undefined;
  const fake = new GpuTensor(1, m.buf.size / 4, m.buf);
  (gpu as any).live.add(fake);
  const ix = gpu.createIndex(1); gpu.writeIndex(ix, Int32Array.of(0));
  const s = gpu.createTensor(1, m.buf.size / 4); gpu.gatherRows(fake, ix, s);
  return s;
}
function sync(...ts: any[]) { for (const t of ts) if (t) gpu.writeTensor(t.g, (t.c as any).data); }
function snap(op: string, t: any) {
  const ix = gpu.createIndex(t.rows); gpu.writeIndex(ix, Int32Array.from({ length: t.rows }, (_, i) => i));
  const s = gpu.createTensor(t.rows, t.cols); gpu.gatherRows(t.g, ix, s);
  snaps.push({ op, ref: (t.c as any).data.slice(), g: s });
}
const tee: Backend = {
  name: 'webgpu', deviceDescription: 'tee',
  async uploadWeight(name, type, rows, cols, data) { return { kind: 'weight', name, type, rows, cols, c: await cpu.uploadWeight(name, type, rows, cols, data), g: await gpu.uploadWeight(name, type, rows, cols, data) } as any; },
  createTensor(rows, cols) { return { kind: 'tensor', rows, cols, c: cpu.createTensor(rows, cols), g: gpu.createTensor(rows, cols) } as any; },
  createIndex(n) { return { kind: 'index', length: n, c: cpu.createIndex(n), g: gpu.createIndex(n) } as any; },
  createKvCache(s) { return { kind: 'kv', ...s, c: cpu.createKvCache(s), g: gpu.createKvCache(s) } as any; },
  describeBatch(rows: Int32Array) { cpu.describeBatch(rows); gpu.describeBatch(rows); },
  writeTensor(t: any, d) { cpu.writeTensor(t.c, d); gpu.writeTensor(t.g, d); },
  writeIndex(t: any, d) { cpu.writeIndex(t.c, d); gpu.writeIndex(t.g, d); },
  getRows(w: any, i: any, o: any) { cpu.getRows(w.c, i.c, o.c); gpu.getRows(w.g, i.g, o.g); snap('getRows', o); },
  rmsNorm(x: any, w: any, e, o: any) { sync(x); cpu.rmsNorm(x.c, w.c, e, o.c); gpu.rmsNorm(x.g, w.g, e, o.g); snap('rmsNorm', o); },
  matmul(w: any, x: any, o: any, b?: any) {
    sync(x); cpu.matmul(w.c, x.c, o.c, b?.c); gpu.matmul(w.g, x.g, o.g, b?.g); snap(`matmul ${typeName(w.type)} ${w.cols}${x.rows > 1 ? ' batch' : ''}`, o);
    if (dumpDir && x.rows === 1 && /Q[45]_1/.test(typeName(w.type))) Object.assign(snaps[snaps.length - 1]!, { x: (x.c as any).data.slice(), xq: snapXq(x), w: w.name });
  },
  rope(q: any, k: any, p: any, rp) { sync(q, k); cpu.rope(q.c, k.c, p.c, rp); gpu.rope(q.g, k.g, p.g, rp); snap('rope q', q); snap('rope k', k); },
  storeKv(c: any, l, k: any, v: any, s: any, p: any) { sync(k, v); cpu.storeKv(c.c, l, k.c, v.c, s.c, p.c); gpu.storeKv(c.g, l, k.g, v.g, s.g, p.g); },
  attention(q: any, c: any, l, s: any, p: any, ap, o: any) { sync(q); cpu.attention(q.c, c.c, l, s.c, p.c, ap, o.c); gpu.attention(q.g, c.g, l, s.g, p.g, ap, o.g); snap(`attention${q.rows > 1 ? ' batch' : ''}`, o); },
  swiglu(g: any, u: any, o: any) { sync(g, u); cpu.swiglu(g.c, u.c, o.c); gpu.swiglu(g.g, u.g, o.g); snap('swiglu', o); },
  add(a: any, b: any, o: any) { sync(a, b); cpu.add(a.c, b.c, o.c); gpu.add(a.g, b.g, o.g); snap('add', o); },
  gatherRows(x: any, r: any, o: any) { sync(x); cpu.gatherRows(x.c, r.c, o.c); gpu.gatherRows(x.g, r.g, o.g); snap('gatherRows', o); },
  async read(t: any) {
    for (const s of snaps.splice(0)) {
      const got = await gpu.read(s.g); gpu.release(s.g);
      const a = u32(s.ref), b = u32(got);
      let bad = 0, maxUlp = 0, first = -1;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { bad++; if (first < 0) first = i; maxUlp = Math.max(maxUlp, Math.abs(a[i]! - b[i]!)); }
      rec(s.op, bad, a.length, maxUlp);
      if (bad && process.env.VERBOSE && (stats.get(s.op)!.bad <= 2)) console.log(s.op, first, s.ref[first], got[first]);
      if (s.xq) {
        if ((bad || process.env.DUMP_ANY) && dumps < 4) {
          const xq = new Uint32Array((await gpu.read(s.xq)).buffer);
          mkdirSync(dumpDir!, { recursive: true });
          writeFileSync(`${dumpDir}/call${dumps++}.json`, JSON.stringify({ op: s.op, w: s.w, x: [...s.x!], xq: [...xq], ref: [...s.ref], got: [...got] }));
        }
        gpu.release(s.xq);
      }
    }
    return cpu.read(t.c);
  },
  release(r: any) { cpu.release(r.c); gpu.release(r.g); },
  memoryInUse() { return 0; },
  dispose() {},
} as Backend;
const o = readOracle(`${shared}/oracle/${model.replace(/\.gguf$/, '.json')}`);
o.cases = o.cases.slice(0, maxCases);
const r = await runOracle(`${shared}/models/${model}`, o, tee);
for (const [k, s] of stats) console.log(k.padEnd(22), `calls ${s.n} bad ${s.bad} badElems ${s.badElems}/${s.elems} maxUlp ${s.maxUlp}`);
console.log(`${gpu.deviceDescription}; fma fused: ${(gpu as any).opts?.fmaFused}; CPU-engine max |Δlogprob| vs llama.cpp ${r.maxDelta.toExponential(2)}`);
process.exit(0);
