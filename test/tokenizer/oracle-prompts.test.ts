// Prompt tokenization against llama.cpp's server (shared/oracle and shared/new-archs/oracle, short and
// long prompts): each model's own vocabulary, BOS added.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

interface OracleFile {
  cases: Array<{ prompt: string; prompt_tokens: number[] }>;
}

const skip = missingShared('oracle') ?? missingShared('models');

describe.skipIf(skip !== undefined)('oracle prompt_tokens', () => {
  it('every oracle case tokenizes to llama.cpp prompt_tokens with its model metadata', async () => {
    // [directory holding models/ and oracle/, oracle subdirectory]
    const dirs: Array<[string, string]> = [['.', '.'], ['.', 'long'], ['new-archs', '.'], ['new-archs', 'long']];
    const files = dirs.flatMap(([dir, sub]) => {
      const at = sharedPath(dir, 'oracle', sub);
      return existsSync(at) ? readdirSync(at).filter((f) => f.endsWith('.json') && f !== 'prompts.json').map((f) => ({ dir, f, path: join(at, f) })) : [];
    });
    expect(files.length).toBeGreaterThan(0);
    let total = 0;
    const misses: unknown[] = [];
    for (const { dir, f, path } of files) {
      const oracle = JSON.parse(readFileSync(path, 'utf8')) as OracleFile;
      const { tokenizer } = await loadTokenizer(sharedPath(dir, 'models', f.replace(/\.json$/, '.gguf')));
      for (const c of oracle.cases) {
        total++;
        const got = tokenizer.encode(c.prompt);
        if (JSON.stringify(got) !== JSON.stringify(c.prompt_tokens)) misses.push({ model: f, prompt: c.prompt.slice(0, 60), expected: c.prompt_tokens, got });
      }
    }
    console.log(`oracle prompt_tokens: ${total - misses.length}/${total}`);
    expect(misses).toEqual([]);
  });
});
