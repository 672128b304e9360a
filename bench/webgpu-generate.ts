// Prefill and decode speed of a GGUF model on the WebGPU or HIP backend (or the CPU one, for comparison).
//
//   npx tsx bench/webgpu-generate.ts MODEL.gguf [--prompt 512] [--gen 128] [--runs 3] [--backend webgpu|hip|cpu]
//                                   [--fuse auto|on|off] [--exact on|off] [--json FILE] [--profile] [--host-profile]
//
// --fuse: one-row matmuls round x inside the matvec (matvec_xr.wgsl) instead of a separate pass.
//
// Prefill: one batch of --prompt random tokens in slot 0 (logits of the last row only), timed to
// the logits on the host. Decode: --gen steps of one row each, greedy on the host, each timed to
// its logits (the engine's real per-token cost: one command buffer and one readback per step).
// The best of --runs runs is reported. Pipelines are compiled in a warm-up pass first. With
// timestamp queries, the GPU time of each forward's compute pass is reported too: the difference
// to the wall time is host work (recording dispatches, submit, readback).
// --profile: instead of timed runs, one prefill and --gen decode steps with every dispatch timed on
// the GPU, printed per kernel (the extra per-dispatch passes inflate the totals somewhat).
// --host-profile (webgpu): instead of timed runs, --runs runs of --gen decode steps after a prefill
// of --prompt tokens, each step split on the host into recording (forward start to queue.submit:
// planning the ops and encoding their dispatches), the submit call itself, and the wait for the
// logits; then --runs runs of 10 x --gen steps recorded but never submitted (queue.submit made a
// no-op: the GPU runs nothing and the logits are garbage), which time the host alone where the
// GPU is slow or shared (lavapipe). Printed in µs per step and per dispatch. Recording does not
// depend on the GPU, so lavapipe measures it too.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backends/backend.ts';
import { CpuBackend } from '../src/backends/cpu/index.ts';
import type { GpuBackend } from '../src/backends/gpu/gpu-backend.ts';
import { createHipBackend } from '../src/backends/hip/index.ts';
import { createWebGpuBackend } from '../src/backends/webgpu/index.ts';
import { GgufFile } from '../src/gguf/reader.ts';
import { Model, type ModelBatch } from '../src/model/model.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: 'string', default: '512' },
    gen: { type: 'string', default: '128' },
    runs: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'webgpu' },
    json: { type: 'string' },
    fuse: { type: 'string', default: 'auto' },
    exact: { type: 'string', default: 'on' },
    profile: { type: 'boolean', default: false },
    'host-profile': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || positionals.length !== 1) {
  console.log('usage: npx tsx bench/webgpu-generate.ts MODEL.gguf [--prompt 512] [--gen 128] [--runs 3] [--backend webgpu|hip|cpu] [--fuse auto|on|off] [--exact on|off] [--json FILE] [--profile] [--host-profile]');
  process.exit(values.help ? 0 : 2);
}
const modelPath = positionals[0]!;
const nPrompt = Number(values.prompt);
const nGen = Number(values.gen);
const runs = Number(values.runs);

const fuseDecodeRounding = values.fuse === 'auto' ? undefined : values.fuse === 'on';
const backend: Backend =
  values.backend === 'cpu'
    ? new CpuBackend()
    : values.backend === 'hip'
      ? await createHipBackend({ profile: values.profile, fuseDecodeRounding, exact: values.exact !== 'off' })
      : await createWebGpuBackend({ timestamps: !values.profile && !values['host-profile'], profile: values.profile, fuseDecodeRounding, exact: values.exact !== 'off' });
const gpu = values.backend === 'cpu' ? undefined : (backend as GpuBackend & { lastPassGpuMs?: number });
console.log(`device: ${backend.deviceDescription}${gpu ? `, decode rounding ${gpu.fuseDecodeRounding ? 'fused into matvec' : 'separate pass'}, exact kernels ${gpu.exact ? 'on' : 'off'}` : ''}`);

let t0 = performance.now();
const file = await GgufFile.open(modelPath);
const model = await Model.load(file, backend);
await file.close();
const hp = model.hparams;
console.log(
  `model: ${modelPath} (${hp.arch}, dim ${hp.dim}, ${hp.nLayers} layers, ${hp.nHeads}/${hp.nKvHeads} heads, ffn ${hp.ffnDim}, vocab ${hp.vocabSize}), ` +
    `${(backend.memoryInUse() / 2 ** 20).toFixed(0)} MiB on the device, loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const cache = model.createKvCache(1, nPrompt + nGen + 1);
let seed = 12345;
const randomToken = (): number => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return 1 + (seed % (hp.vocabSize - 1));
};
const prompt = Int32Array.from({ length: nPrompt }, randomToken);

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

interface Run {
  prefillMs: number;
  prefillGpuMs: number;
  decodeMs: number[];
  /** GPU time of each decode step's compute pass (timestamp queries), when available. */
  decodeGpuMs: number[];
  dispatchesPerToken: number;
}

async function once(): Promise<Run> {
  let t = performance.now();
  let logits = await model.forward(
    { tokens: prompt, slots: new Int32Array(nPrompt), positions: Int32Array.from({ length: nPrompt }, (_, i) => i), logitRows: Int32Array.of(nPrompt - 1) },
    cache,
  );
  const prefillMs = performance.now() - t;
  const prefillGpuMs = gpu?.lastPassGpuMs ?? Number.NaN;
  const decodeMs: number[] = [];
  const decodeGpuMs: number[] = [];
  const d0 = gpu?.counters.dispatches ?? 0;
  for (let i = 0; i < nGen; i++) {
    const tok = argmax(logits);
    t = performance.now();
    logits = await model.forward({ tokens: Int32Array.of(tok), slots: Int32Array.of(0), positions: Int32Array.of(nPrompt + i), logitRows: Int32Array.of(0) }, cache);
    decodeMs.push(performance.now() - t);
    decodeGpuMs.push(gpu?.lastPassGpuMs ?? Number.NaN);
  }
  return { prefillMs, prefillGpuMs, decodeMs, decodeGpuMs, dispatchesPerToken: gpu ? (gpu.counters.dispatches - d0) / nGen : 0 };
}

// Warm-up: compiles every pipeline (prefill and decode shapes).
t0 = performance.now();
await model.forward({ tokens: prompt.subarray(0, 16), slots: new Int32Array(16), positions: Int32Array.from({ length: 16 }, (_, i) => i), logitRows: Int32Array.of(15) }, cache);
await model.forward({ tokens: Int32Array.of(1), slots: Int32Array.of(0), positions: Int32Array.of(16), logitRows: Int32Array.of(0) }, cache);
console.log(`warm-up ${((performance.now() - t0) / 1000).toFixed(1)} s`);

if (values.profile && gpu) {
  const show = (what: string, per: number): void => {
    const rows = gpu.profileReport();
    const total = rows.reduce((a, r) => a + r.ms, 0);
    console.log(`${what}: GPU ${(total / per).toFixed(3)} ms${per > 1 ? ' per token' : ''} in ${rows.reduce((a, r) => a + r.dispatches, 0) / per} dispatches`);
    for (const r of rows.slice(0, 14)) {
      console.log(`  ${r.kernel.padEnd(28)} ${(r.ms / per).toFixed(3).padStart(8)} ms  ${((100 * r.ms) / total).toFixed(1).padStart(5)}%  ${(r.dispatches / per).toFixed(0).padStart(4)} dispatches  ${((1000 * r.ms) / r.dispatches).toFixed(1)} us each`);
    }
    gpu.resetProfile();
  };
  gpu.resetProfile();
  let logits = await model.forward(
    { tokens: prompt, slots: new Int32Array(nPrompt), positions: Int32Array.from({ length: nPrompt }, (_, i) => i), logitRows: Int32Array.of(nPrompt - 1) },
    cache,
  );
  show(`prefill of ${nPrompt} tokens`, 1);
  for (let i = 0; i < nGen; i++) {
    logits = await model.forward({ tokens: Int32Array.of(argmax(logits)), slots: Int32Array.of(0), positions: Int32Array.of(nPrompt + i), logitRows: Int32Array.of(0) }, cache);
  }
  show(`decode (${nGen} steps)`, nGen);
  process.exit(0);
}

if (values['host-profile'] && gpu) {
  if (values.backend !== 'webgpu') throw new Error('--host-profile times WebGPU queue submits: use it with --backend webgpu');
  await hostProfile();
  process.exit(0);
}

/** Decode steps split into recording, submit and wait, then recorded only (see --host-profile above). */
async function hostProfile(): Promise<void> {
  // The submit of a decode step is the one its read() makes: wrapping the queue's submit marks
  // when recording ended, without touching the executor.
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const submit = proto.submit;
  let submitAt = 0;
  let submitMs = 0;
  let dropSubmits = false;
  proto.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>): undefined {
    submitAt = performance.now();
    if (!dropSubmits) submit.call(this, buffers);
    submitMs += performance.now() - submitAt;
    return undefined;
  };
  const us = (ms: number): string => (ms * 1000).toFixed(0).padStart(5);
  const quantile = (a: number[], q: number): number => [...a].sort((x, y) => x - y)[Math.floor(q * (a.length - 1))]!;
  const step = (tok: number, pos: number): ModelBatch => ({ tokens: Int32Array.of(tok), slots: Int32Array.of(0), positions: Int32Array.of(pos), logitRows: Int32Array.of(0) });
  let perStep = 0;
  for (let r = 0; r < runs; r++) {
    let logits = await model.forward(
      { tokens: prompt, slots: new Int32Array(nPrompt), positions: Int32Array.from({ length: nPrompt }, (_, i) => i), logitRows: Int32Array.of(nPrompt - 1) },
      cache,
    );
    const record: number[] = [];
    const submits: number[] = [];
    const wait: number[] = [];
    const d0 = gpu!.counters.dispatches;
    for (let i = 0; i < nGen; i++) {
      const batch = step(argmax(logits), nPrompt + i);
      submitMs = 0;
      const t = performance.now();
      logits = await model.forward(batch, cache);
      const end = performance.now();
      record.push(submitAt - t);
      submits.push(submitMs);
      wait.push(end - submitAt - submitMs);
    }
    perStep = (gpu!.counters.dispatches - d0) / nGen;
    const rec = median(record);
    console.log(
      `run ${r + 1}: ${nGen} decode steps, ${perStep} dispatches/step; host µs per step: record median ${us(rec)} ` +
        `(${((rec * 1000) / perStep).toFixed(2)} per dispatch), p10 ${us(quantile(record, 0.1))}; submit median ${us(median(submits))}; ` +
        `wait for logits median ${us(median(wait))}`,
    );
  }
  // Recording alone: the same decode step again and again, never submitted.
  dropSubmits = true;
  const n = 10 * nGen;
  for (let r = 0; r < runs; r++) {
    const record: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await model.forward(step(1, nPrompt), cache);
      record.push(submitAt - t);
    }
    const wallPerStep = (performance.now() - t0) / n;
    const cpu = process.cpuUsage(cpu0);
    const cpuPerStep = (cpu.user + cpu.system) / 1000 / n;
    console.log(
      `record only, run ${r + 1}: ${n} steps never submitted; µs per step: record p10 ${us(quantile(record, 0.1))}, ` +
        `median ${us(median(record))} (${((median(record) * 1000) / perStep).toFixed(2)} per dispatch); ` +
        `whole step (record + finish + readback of nothing) wall ${us(wallPerStep)}, process CPU ${us(cpuPerStep)}`,
    );
  }
  dropSubmits = false;
  proto.submit = submit;
}

const results: Run[] = [];
for (let r = 0; r < runs; r++) {
  const run = await once();
  results.push(run);
  const decodeTotal = run.decodeMs.reduce((a, b) => a + b, 0);
  console.log(
    `run ${r + 1}: prefill ${nPrompt} tokens ${run.prefillMs.toFixed(1)} ms = ${((nPrompt / run.prefillMs) * 1000).toFixed(1)} tok/s; ` +
      `decode ${nGen} tokens ${decodeTotal.toFixed(1)} ms = ${((nGen / decodeTotal) * 1000).toFixed(1)} tok/s ` +
      `(median ${median(run.decodeMs).toFixed(2)} ms/token${gpu ? `, ${run.dispatchesPerToken} dispatches/token` : ''})` +
      (gpu && !Number.isNaN(run.prefillGpuMs)
        ? `; GPU pass time: prefill ${run.prefillGpuMs.toFixed(1)} ms, decode median ${median(run.decodeGpuMs).toFixed(2)} ms/token`
        : ''),
  );
}
const bestPrefill = Math.min(...results.map((r) => r.prefillMs));
const bestDecode = Math.min(...results.map((r) => r.decodeMs.reduce((a, b) => a + b, 0)));
const summary = {
  device: backend.deviceDescription,
  fuseDecodeRounding: gpu?.fuseDecodeRounding,
  exact: gpu?.exact,
  model: modelPath,
  hparams: { arch: hp.arch, dim: hp.dim, layers: hp.nLayers, heads: hp.nHeads, kvHeads: hp.nKvHeads, ffn: hp.ffnDim, vocab: hp.vocabSize },
  prompt: nPrompt,
  gen: nGen,
  prefillTokPerS: (nPrompt / bestPrefill) * 1000,
  decodeTokPerS: (nGen / bestDecode) * 1000,
  decodeMedianMs: median(results.flatMap((r) => r.decodeMs)),
  decodeGpuMedianMs: median(results.flatMap((r) => r.decodeGpuMs)),
  prefillGpuMs: Math.min(...results.map((r) => r.prefillGpuMs)),
  dispatchesPerToken: results[0]!.dispatchesPerToken,
};
console.log(`best: prefill ${summary.prefillTokPerS.toFixed(1)} tok/s, decode ${summary.decodeTokPerS.toFixed(1)} tok/s`);
if (values.json) writeFileSync(values.json, JSON.stringify(summary, null, 2));
backend.release(cache);
model.dispose();
backend.dispose();

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}
