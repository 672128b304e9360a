// The oracle runner moved to src/diff/oracle.ts (`rocforge diff --oracle` uses it too); this keeps
// the tests' import path, and lists the long-prompt oracles the backends' suites run.
import { existsSync, readdirSync } from 'node:fs';
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
