// Reads DUMP files of webgpu-exact-check.ts and compares the GPU's Q8_1 blocks with quantizeQ8Rows.
import { readFileSync, readdirSync } from 'node:fs';
import { quantizeQ8Rows } from '../src/backends/cpu/quant-dot.ts';
const dir = process.argv[2]!;
for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
  const d = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  const x = Float32Array.from(d.x);
  const q = quantizeQ8Rows(x);
  const xq = Uint32Array.from(d.xq);
  const f32 = new Float32Array(xq.buffer);
  let badQ = 0, badD = 0, badS = 0;
  for (let b = 0; b < x.length / 32; b++) {
    for (let j = 0; j < 32; j++) {
      const g = ((xq[b * 10 + (j >> 2)]! >>> (8 * (j & 3))) << 24) >> 24;
      if (g !== q.q[b * 32 + j]) { if (badQ++ < 5) console.log(f, 'q', b, j, x[b * 32 + j], g, q.q[b * 32 + j]); }
    }
    if (f32[b * 10 + 8] !== q.d[b]) { if (badD++ < 5) console.log(f, 'd', b, f32[b * 10 + 8], q.d[b]); }
    if (f32[b * 10 + 9] !== q.s[b]) { if (badS++ < 5) console.log(f, 's', b, f32[b * 10 + 9], q.s[b]); }
  }
  let bad = 0; const ex: string[] = [];
  for (let i = 0; i < d.ref.length; i++) if (Object.is(d.ref[i], d.got[i]) === false) { bad++; if (ex.length < 4) ex.push(`${i}: ${d.ref[i]} vs ${d.got[i]}`); }
  const amax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  console.log(f, d.op, d.w, `x len ${x.length} amax ${amax}`, `badQ ${badQ} badD ${badD} badS ${badS}`, `out bad ${bad}/${d.ref.length}`, ex.join('; '));
}
