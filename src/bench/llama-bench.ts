// llama.cpp as the reference in `rocforge bench --llama-bench PATH`: runs llama-bench on the same
// file with the same tests (and llama-batched-bench, where it sits next to it, for the tgN@bB
// tests llama-bench has no counterpart for), and reads their JSON into rows named like ours.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ReferenceToolError } from '../errors.ts';
import { testName } from './test-name.ts';

/** One llama.cpp measurement, under rocforge's test name. */
export interface ReferenceRow {
  readonly test: string;
  readonly nPrompt: number;
  readonly nGen: number;
  readonly nSeq: number;
  /** t/s of each repetition (llama-batched-bench runs once: one sample). */
  readonly samplesTs: readonly number[];
}

/** What llama-bench says about itself and the machine, from its first row. */
export interface ReferenceInfo {
  readonly buildCommit: string;
  readonly backends: string;
  readonly gpuInfo: string;
  readonly cpuInfo: string;
  readonly modelType: string;
  readonly flashAttn: boolean;
  readonly nGpuLayers: number;
}

export interface ReferenceRun {
  readonly binary: string;
  readonly args: readonly string[];
  readonly info: ReferenceInfo | null;
  readonly rows: readonly ReferenceRow[];
  /** llama-batched-bench's binary and arguments, where it ran. */
  readonly batched?: { readonly binary: string; readonly args: readonly string[] };
}

export interface ReferenceTests {
  readonly model: string;
  readonly prompts: readonly number[];
  readonly gens: readonly number[];
  /** Sequence counts of the decode tests; 1 is llama-bench's own tg test. */
  readonly batches: readonly number[];
  readonly repetitions: number;
  readonly nBatch: number;
  readonly nUbatch: number;
}

type Json = Record<string, unknown>;

function num(o: Json, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ReferenceToolError(`${what}: field '${key}' is missing or not a number; is this llama-bench's -o json output?`);
  return v;
}

function str(o: Json, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : '';
}

/**
 * llama-bench's `-o json` output (a JSON array of tests) into rows. Text before the array (a
 * build that logs to stdout) is skipped; anything that is not such an array is an error.
 */
export function parseLlamaBenchJson(text: string): { info: ReferenceInfo | null; rows: ReferenceRow[] } {
  const start = text.indexOf('[');
  let parsed: unknown;
  try {
    parsed = JSON.parse(start >= 0 ? text.slice(start) : text);
  } catch (e) {
    throw new ReferenceToolError(`llama-bench's output is not JSON (${(e as Error).message}); run it with -o json`, { cause: e });
  }
  if (!Array.isArray(parsed)) throw new ReferenceToolError("llama-bench's JSON output is not an array of tests; run it with -o json");
  const rows = parsed.map((item, i): ReferenceRow => {
    if (typeof item !== 'object' || item === null) throw new ReferenceToolError(`llama-bench's test ${i} is not an object`);
    const o = item as Json;
    const what = `llama-bench's test ${i}`;
    const nPrompt = num(o, 'n_prompt', what);
    const nGen = num(o, 'n_gen', what);
    const samples = o.samples_ts;
    const samplesTs = Array.isArray(samples) && samples.every((x) => typeof x === 'number') ? (samples as number[]) : [num(o, 'avg_ts', what)];
    return { test: testName({ nPrompt, nGen }), nPrompt, nGen, nSeq: 1, samplesTs };
  });
  const first = parsed[0] as Json | undefined;
  const info: ReferenceInfo | null = first
    ? {
        buildCommit: str(first, 'build_commit'),
        backends: str(first, 'backends'),
        gpuInfo: str(first, 'gpu_info'),
        cpuInfo: str(first, 'cpu_info'),
        modelType: str(first, 'model_type'),
        flashAttn: first.flash_attn === true,
        nGpuLayers: typeof first.n_gpu_layers === 'number' ? first.n_gpu_layers : 0,
      }
    : null;
  return { info, rows };
}

/**
 * llama-batched-bench's `--output-format jsonl` lines into tgN@bB rows (speed_tg: all B sequences'
 * generated tokens over the generation time). Other lines (its logs) are skipped.
 */
export function parseBatchedBenchJsonl(text: string): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{') || !t.includes('"speed_tg"')) continue;
    let o: Json;
    try {
      o = JSON.parse(t) as Json;
    } catch (e) {
      throw new ReferenceToolError(`llama-batched-bench printed a line that is not JSON: ${t.slice(0, 80)}`, { cause: e });
    }
    const what = 'llama-batched-bench';
    const nGen = num(o, 'tg', what);
    const nSeq = num(o, 'pl', what);
    rows.push({ test: testName({ nPrompt: 0, nGen, nSeq }), nPrompt: 0, nGen, nSeq, samplesTs: [num(o, 'speed_tg', what)] });
  }
  return rows;
}

/** llama-bench's arguments for the same tests (all layers on the GPU, flash attention on). */
export function llamaBenchArgs(t: ReferenceTests): string[] {
  const list = (xs: readonly number[]) => (xs.length ? xs.join(',') : '0');
  const gens = t.batches.includes(1) ? t.gens : [];
  return ['-m', t.model, '-p', list(t.prompts), '-n', list(gens), '-r', String(t.repetitions), '-b', String(t.nBatch), '-ub', String(t.nUbatch), '-fa', '1', '-ngl', '99', '-o', 'json'];
}

/**
 * llama-batched-bench's arguments for the tgN@bB tests, or null when there are none. Its prompt
 * is one token per sequence (it cannot run an empty one), so each sequence decodes from position 1
 * where rocforge's start at 0; the context holds every sequence.
 */
export function batchedBenchArgs(t: ReferenceTests): string[] | null {
  const batches = t.batches.filter((b) => b > 1);
  if (batches.length === 0 || t.gens.length === 0) return null;
  const ctx = Math.max(...batches) * (1 + Math.max(...t.gens));
  return ['-m', t.model, '-c', String(ctx), '-b', String(t.nBatch), '-ub', String(t.nUbatch), '-npp', '1', '-ntg', t.gens.join(','), '-npl', batches.join(','), '-fa', '-ngl', '99', '--output-format', 'jsonl'];
}

function runTool(binary: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      reject(new ReferenceToolError(`${binary} ${args.join(' ')} failed (${err.message.split('\n')[0]})${tail ? `: ${tail}` : ''}; run it by hand to see why`, { cause: err }));
    });
  });
}

/** Where llama-batched-bench would be: next to llama-bench, as llama.cpp's build puts it. */
export function batchedBenchNextTo(llamaBench: string): string | null {
  const p = join(dirname(llamaBench), 'llama-batched-bench');
  return existsSync(p) ? p : null;
}

/** Runs llama-bench (and llama-batched-bench for tgN@bB, where it exists) on the same tests. */
export async function runReference(llamaBench: string, t: ReferenceTests, note: (line: string) => void): Promise<ReferenceRun> {
  if (!existsSync(llamaBench)) throw new ReferenceToolError(`--llama-bench ${llamaBench}: no such file; build llama.cpp (llama-bench target) or give its path`);
  const args = llamaBenchArgs(t);
  const wantsPlain = t.prompts.length > 0 || (t.gens.length > 0 && t.batches.includes(1));
  let info: ReferenceInfo | null = null;
  const rows: ReferenceRow[] = [];
  if (wantsPlain) {
    note(`running ${llamaBench} ${args.join(' ')}`);
    const parsed = parseLlamaBenchJson((await runTool(llamaBench, args)).stdout);
    info = parsed.info;
    rows.push(...parsed.rows);
  }
  const bArgs = batchedBenchArgs(t);
  if (!bArgs) return { binary: llamaBench, args, info, rows };
  const batched = batchedBenchNextTo(llamaBench);
  if (!batched) {
    note(`no llama-batched-bench next to ${llamaBench}: the @b tests have no llama.cpp figure`);
    return { binary: llamaBench, args, info, rows };
  }
  note(`running ${batched} ${bArgs.join(' ')}`);
  const out = await runTool(batched, bArgs);
  rows.push(...parseBatchedBenchJsonl(`${out.stdout}\n${out.stderr}`));
  return { binary: llamaBench, args, info, rows, batched: { binary: batched, args: bArgs } };
}
