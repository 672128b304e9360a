// Loads a GGUF file larger than 4 GiB with bounded memory.
//
//   npx tsx bench/gguf-load.ts [--size-gib 5] [--type F32|F16] [--dir DIR] [--keep]
//
// 1. A child process synthesizes a llama model of more than --size-gib GiB in os.tmpdir() with
//    writeSynthModel (streamed) and reports its own peak RSS.
// 2. This process opens the file, reads every tensor through GgufFile.readTensor, checks the values
//    are sane, and reports its peak RSS (process.resourceUsage().maxRSS): it should be about the
//    largest tensor plus the runtime, not the file size.
// 3. The file is deleted (unless --keep).
import { spawn } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/cli/commands/info.ts';
import { GgufFile } from '../src/gguf/reader.ts';
import { GgmlType, TYPE_LAYOUT, parseTypeName, typeName } from '../src/gguf/types.ts';
import { synthTensorPlan, writeSynthModel, type SynthOptions } from '../src/model/synth.ts';
import { dequantizeTensor } from '../src/quant/registry.ts';

const { values } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: '5' },
    type: { type: 'string', default: 'F32' },
    dir: { type: 'string', default: tmpdir() },
    keep: { type: 'boolean', default: false },
    phase: { type: 'string' },
    out: { type: 'string' },
    layers: { type: 'string' },
  },
});

const type = parseTypeName(values.type!) ?? GgmlType.F32;
const shape = (layers: number, out: string): SynthOptions => ({
  arch: 'llama',
  out,
  dim: 2048,
  layers,
  heads: 16,
  kvHeads: 16,
  ffn: 8192,
  vocab: 32000,
  type,
  seed: 5,
});

function planBytes(opts: SynthOptions): number {
  return synthTensorPlan(opts).reduce((s, t) => {
    const l = TYPE_LAYOUT[t.type]!;
    return s + (t.dims.reduce((a, b) => a * b, 1) / l.blockSize) * l.typeSize;
  }, 0);
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;

if (values.phase === 'write') {
  // child: write the file, report peak RSS on stdout
  const t0 = performance.now();
  let lastPct = -1;
  await writeSynthModel(shape(Number(values.layers), values.out!), (p) => {
    const pct = Math.floor((100 * p.bytesWritten) / p.totalBytes);
    if (pct % 10 === 0 && pct !== lastPct) {
      lastPct = pct;
      process.stderr.write(`  writing ${pct}% (${formatBytes(p.bytesWritten)})\n`);
    }
  });
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, peakRss: peakRss() }));
  process.exit(0);
}

const target = Number(values['size-gib']) * 2 ** 30;
let layers = 1;
while (planBytes(shape(layers, '')) <= target) layers++;
const path = join(values.dir!, `rocforge-bench-${process.pid}.gguf`);
console.log(`synthesizing llama dim 2048, ffn 8192, vocab 32000, ${layers} layers, ${typeName(type)}: ${formatBytes(planBytes(shape(layers, path)))} -> ${path}`);

try {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--phase', 'write', '--out', path, '--layers', String(layers), '--type', values.type!],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  if (code !== 0) throw new Error(`writer process exited with ${code}`);
  const written = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; peakRss: number };
  const fileSize = (await stat(path)).size;
  console.log(`wrote ${formatBytes(fileSize)} in ${written.seconds.toFixed(1)} s; writer peak RSS ${formatBytes(written.peakRss)}`);

  const rssBefore = peakRss();
  const t0 = performance.now();
  const g = await GgufFile.open(path);
  let bytes = 0;
  let largest = 0;
  try {
    for (const t of g.tensors) {
      const data = await g.readTensor(t);
      bytes += data.length;
      largest = Math.max(largest, data.length);
      // spot-check: the first row dequantizes to finite values of the expected scale
      const row = dequantizeTensor(t.type, data.subarray(0, (t.dims[0]! / TYPE_LAYOUT[t.type]!.blockSize) * TYPE_LAYOUT[t.type]!.typeSize), t.dims[0]!);
      const rms = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length);
      if (!row.every(Number.isFinite) || rms === 0 || rms > 2) throw new Error(`tensor ${t.name} has implausible values (rms ${rms})`);
    }
  } finally {
    await g.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `read ${g.tensors.length} tensors, ${formatBytes(bytes)} of ${formatBytes(fileSize)} in ${seconds.toFixed(1)} s ` +
      `(${formatBytes(bytes / seconds)}/s); largest tensor ${formatBytes(largest)}`,
  );
  console.log(`reader peak RSS (process.resourceUsage().maxRSS): ${formatBytes(peakRss())} (${formatBytes(rssBefore)} before opening)`);
} finally {
  if (!values.keep) {
    await rm(path, { force: true });
    console.log(`deleted ${path}`);
  }
}
