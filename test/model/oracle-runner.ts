// The oracle runner moved to src/diff/oracle.ts (`rocforge diff --oracle` uses it too); this keeps
// the tests' import path, and lists the long-prompt oracles the backends' suites run.
import { existsSync, readdirSync } from 'node:fs';
import type { Backend } from '../../src/backends/backend.ts';
import { readOracle, runOracle } from '../../src/diff/oracle.ts';
import { sharedPath } from '../helpers/shared.ts';

export {
  NEAR_TIE,
  alignSteps,
  readOracle,
  runOracle,
  spmPieces,
  type CaseResult,
  type ModelResult,
  type Oracle,
  type OracleCase,
  type OracleStep,
} from '../../src/diff/oracle.ts';

/**
 * Model files with a long-prompt oracle (../shared/oracle/long: prompts of 563 and 1661 tokens,
 * recorded by llama.cpp with -ub 512), sorted; empty when the folder is absent.
 */
export function longOracleModels(): string[] {
  const dir = sharedPath('oracle', 'long');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'prompts.json')
    .map((f) => f.replace(/\.json$/, '.gguf'))
    .filter((m) => existsSync(sharedPath('models', m)))
    .sort();
}

/**
 * The long cases take ~35 s per file on the CPU reference (more on lavapipe), so CI runs them on
 * `ciSubset` only; ROCFORGE_ORACLE_FULL=1 (the GPU machine) runs every file.
 */
export function longOracleSelection(ciSubset: readonly string[]): string[] {
  const all = longOracleModels();
  return process.env.ROCFORGE_ORACLE_FULL === '1' ? all : all.filter((m) => ciSubset.includes(m));
}

/** Issue 4's bound on the top-8 log-probs: 1e-3 for float files, 5e-2 for quantized ones. */
export function maxLogprobDelta(model: string): number {
  return /-(Q\w+|IQ\w+)\.gguf$/.test(model) ? 5e-2 : 1e-3;
}

/**
 * Runs the long oracle of `model` (../shared/oracle/long) on `backend` and returns what the suites
 * assert: memory back to where it was, no token that differs outside a near tie, and the largest
 * |Δ log-prob| against its bound.
 */
export async function runLongOracle(model: string, backend: Backend): Promise<{ line: string; mismatches: string[]; maxDelta: number; bound: number; leaked: number }> {
  const base = backend.memoryInUse();
  const oracle = readOracle(sharedPath('oracle', 'long', model.replace(/\.gguf$/, '.json')));
  const r = await runOracle(sharedPath('models', model), oracle, backend);
  const mismatches = r.cases
    .filter((c) => c.mismatchAt)
    .map((c) => `${c.prompt.length}-char prompt @${c.mismatchAt!.step}: ours ${c.mismatchAt!.ours}, llama.cpp ${c.mismatchAt!.oracle} (gap ${c.mismatchAt!.gap.toFixed(3)})`);
  const ties = r.cases.filter((c) => c.nearTieAt !== undefined).map((c) => `near tie @${c.nearTieAt}`);
  const line =
    `${backend.name} long ${model}: prompts of ${oracle.cases.map((c) => c.prompt_tokens.length).join(' and ')} tokens, matched ${r.matched}/${r.total} steps, ` +
    `max |Δlogprob| ${r.maxDelta.toExponential(2)}, ${(r.ms / 1000).toFixed(1)} s${ties.length ? `; ${ties.join(', ')}` : ''}`;
  return { line, mismatches, maxDelta: r.maxDelta, bound: maxLogprobDelta(model), leaked: backend.memoryInUse() - base };
}
