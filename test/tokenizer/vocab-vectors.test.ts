// llama.cpp's own tokenizer test vectors (shared/vocab): every string must tokenize to exactly the ids
// llama.cpp produced (no BOS/EOS, special tokens not parsed).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const VOCABS = ['llama-spm', 'gpt-2', 'falcon', 'starcoder', 'deepseek-coder', 'bert-bge'];

function readVectors(base: string): Array<{ text: string; ids: number[] }> {
  const texts = readFileSync(`${base}.inp`, 'utf8').split('\n__ggml_vocab_test__\n');
  texts.pop(); // the file ends with a separator
  const lines = readFileSync(`${base}.out`, 'utf8').split('\n');
  return texts.map((text, i) => ({ text, ids: lines[i]!.trim() === '' ? [] : lines[i]!.trim().split(/\s+/).map(Number) }));
}

const skip = missingShared('vocab');

describe.skipIf(skip !== undefined)('llama.cpp vocab test vectors', () => {
  for (const name of VOCABS) {
    it(`ggml-vocab-${name}: every test string gives llama.cpp's ids`, async () => {
      const base = sharedPath('vocab', `ggml-vocab-${name}.gguf`);
      const { tokenizer } = await loadTokenizer(base);
      const vectors = readVectors(base);
      expect(vectors.length).toBeGreaterThan(40);
      const misses = vectors
        .map((v) => ({ ...v, got: tokenizer.encode(v.text, { addSpecial: false }) }))
        .filter((v) => JSON.stringify(v.got) !== JSON.stringify(v.ids));
      console.log(`ggml-vocab-${name}: ${vectors.length - misses.length}/${vectors.length}`);
      expect(misses.map((m) => ({ text: m.text, expected: m.ids, got: m.got }))).toEqual([]);
    });
  }
});
