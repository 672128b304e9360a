// Prompt tokenization against llama.cpp's server (shared/oracle): each model's own vocabulary, BOS added.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

interface OracleFile {
  cases: Array<{ prompt: string; prompt_tokens: number[] }>;
}

const skip = missingShared('oracle') ?? missingShared('models');

describe.skipIf(skip !== undefined)('oracle prompt_tokens', () => {
  it('every oracle case tokenizes to llama.cpp prompt_tokens with its model metadata', async () => {
    const files = readdirSync(sharedPath('oracle')).filter((f) => f.endsWith('.json') && f !== 'prompts.json');
    expect(files.length).toBeGreaterThan(0);
    let total = 0;
    const misses: unknown[] = [];
    for (const f of files) {
      const oracle = JSON.parse(readFileSync(sharedPath('oracle', f), 'utf8')) as OracleFile;
      const { tokenizer } = await loadTokenizer(sharedPath('models', f.replace(/\.json$/, '.gguf')));
      for (const c of oracle.cases) {
        total++;
        const got = tokenizer.encode(c.prompt);
        if (JSON.stringify(got) !== JSON.stringify(c.prompt_tokens)) misses.push({ model: f, prompt: c.prompt, expected: c.prompt_tokens, got });
      }
    }
    console.log(`oracle prompt_tokens: ${total - misses.length}/${total}`);
    expect(misses).toEqual([]);
  });
});
