// Dequantize (and quantize) throughput per tensor type. Run: npx tsx bench/quant.ts [--elements N]
// Dequantize is reported two ways: one call over the whole tensor, and row by row into a reused
// buffer (what the CPU backend does for matmuls), as MB/s of packed input and M elements/s.
import { parseArgs } from 'node:util';
import { typeName } from '../src/gguf/types.ts';
import { getFormat, supportedTypes } from '../src/quant/registry.ts';

const { values } = parseArgs({ options: { elements: { type: 'string', default: String(1 << 22) }, row: { type: 'string', default: '4096' } } });
const n = Number(values.elements);
const row = Number(values.row);

let state = 12345;
const rand = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const x = new Float32Array(n);
for (let i = 0; i < n; i++) x[i] = (rand() - 0.5) * 2 * (1 + (i % 97) / 10);

/**
 * Best of several runs of fn, in seconds of this process's CPU time (the work is single-threaded,
 * and CPU time stays meaningful on a loaded machine where wall time does not), after a warm-up.
 */
function time(fn: () => void, minSeconds = 0.3): number {
  fn();
  let best = Infinity;
  const start = performance.now();
  do {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1e6);
  } while (performance.now() - start < minSeconds * 1000);
  return best;
}

console.log(`elements ${n}, row ${row}, node ${process.version}; rates use process CPU time, best of several runs`);
console.log('type     bytes/elem  dequant MB/s  Melem/s  row-wise MB/s  Melem/s   quantize Melem/s');
for (const t of supportedTypes()) {
  const f = getFormat(t);
  const q = f.quantize(x);
  const out = new Float32Array(n);
  const whole = time(() => f.dequantize(q, n, out));
  const rowBytes = (row / f.blockSize) * f.typeSize;
  const rowOut = new Float32Array(row);
  const rows = time(() => {
    for (let r = 0; r < n / row; r++) f.dequantize(q.subarray(r * rowBytes, (r + 1) * rowBytes), row, rowOut);
  });
  const qn = Math.min(n, 1 << 18);
  const qt = time(() => f.quantize(x.subarray(0, qn)), 0.2);
  const mb = q.length / 1e6;
  console.log(
    `${typeName(t).padEnd(8)} ${(q.length / n).toFixed(4).padStart(10)}  ${(mb / whole).toFixed(0).padStart(12)}  ${(n / 1e6 / whole).toFixed(0).padStart(7)}` +
      `  ${(mb / rows).toFixed(0).padStart(13)}  ${(n / 1e6 / rows).toFixed(0).padStart(7)}   ${(qn / 1e6 / qt).toFixed(2).padStart(16)}`,
  );
}
