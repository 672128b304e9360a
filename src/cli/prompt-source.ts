// Where the prompts of `rocforge diff` and `rocforge conform` come from (--prompts FILE, -p TEXT,
// --fuzz N --seed S, else a default set), and writing their report files: one piece for both.
import { readFileSync, writeFileSync } from 'node:fs';
import { fuzzPrompts, poolsOf } from '../diff/fuzz-prompts.ts';
import { Rng } from '../engine/rng.ts';
import { InvalidRequestError, UsageError } from '../errors.ts';
import { GgufFile } from '../gguf/reader.ts';
import { createTokenizer } from '../tokenizer/tokenizer.ts';
import { intAtLeast } from './common-options.ts';

export const DEFAULT_PROMPTS = ['Once upon a time', 'The capital of France is', 'Hello, world! 123 + 456 ='];

export interface PromptFlags {
  readonly prompts?: string;
  readonly prompt: readonly string[];
  readonly fuzz?: string;
  readonly seed?: string;
}

/**
 * The prompts the flags name; --fuzz prompts are drawn for the model's tokenizer, at most
 * maxTokens() long (asked only when fuzzing, after the flags are checked).
 */
export async function promptsFrom(v: PromptFlags, model: string, command: string, maxTokens: () => number): Promise<string[]> {
  const given = [v.prompts !== undefined, v.prompt.length > 0, v.fuzz !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('pass prompts one way: --prompts FILE, -p TEXT or --fuzz N');
  if (v.seed !== undefined && v.fuzz === undefined) throw new UsageError('--seed goes with --fuzz N');
  if (v.prompts !== undefined) return readPromptsFile(v.prompts);
  if (v.prompt.length > 0) return [...v.prompt];
  if (v.fuzz === undefined) return DEFAULT_PROMPTS;
  const count = intAtLeast('fuzz', v.fuzz, 1)!;
  const limit = maxTokens();
  const seed = v.seed !== undefined ? Number(v.seed) : Rng.randomSeed();
  console.error(`rocforge ${command}: fuzz: ${count} prompts from seed ${seed} (replay with --fuzz ${count} --seed ${seed})`);
  const file = await GgufFile.open(model);
  try {
    return fuzzPrompts(count, seed, poolsOf(createTokenizer(file.metadata)), limit).map((p) => p.text);
  } finally {
    await file.close();
  }
}

/** A JSON array of prompts, {"prompts": [...]}, or an oracle file's cases. */
export function readPromptsFile(path: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InvalidRequestError(`cannot read the prompts file ${path} (${(e as Error).message}): pass a JSON array of strings`);
  }
  const o = data as { prompts?: unknown; cases?: Array<{ prompt?: unknown }> };
  const list: unknown[] | undefined = Array.isArray(data) ? data : Array.isArray(o.prompts) ? o.prompts : Array.isArray(o.cases) ? o.cases.map((c) => c.prompt) : undefined;
  if (!list || list.length === 0 || !list.every((p): p is string => typeof p === 'string')) {
    throw new InvalidRequestError(`${path}: expected a non-empty JSON array of strings, {"prompts": [...]}, or an oracle file's "cases"`);
  }
  return list;
}

/** Writes a report file, or says which path could not be written. */
export function writeOut(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new InvalidRequestError(`cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): pass a writable path`);
  }
}
