// SPM internals: splitting at boundaries no token bridges (with a per-segment cache) must give exactly
// what merging the whole text at once gives.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { GgufFile } from '../../src/gguf/reader.ts';
import { SpmEncoder, spmTokenize } from '../../src/tokenizer/spm.ts';
import { Vocab } from '../../src/tokenizer/vocab.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const skip = missingShared('vocab', 'ggml-vocab-llama-spm.gguf');
const seed = Date.now();
console.log(`fast-check seed: ${seed}`);

describe.skipIf(skip !== undefined)('SpmEncoder', () => {
  let vocab: Vocab;
  beforeAll(async () => {
    const f = await GgufFile.open(sharedPath('vocab', 'ggml-vocab-llama-spm.gguf'));
    vocab = new Vocab(f.metadata);
    await f.close();
  });

  it('segmented, cached tokenization equals whole-text merging', () => {
    const enc = new SpmEncoder(vocab);
    const words = fc.constantFrom('the', 'The', 'a', 'Hello', 'world', '  ', ' ', '\n', 'ing', 'über', '日本', '😀', '...', "'s", '12', 'x');
    const text = fc.array(fc.oneof(words, fc.string({ unit: 'grapheme', maxLength: 3 })), { maxLength: 30 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, (s) => {
        const escaped = (' ' + s).replaceAll(' ', '\u2581');
        const whole: number[] = [];
        spmTokenize(vocab, escaped, whole);
        const seg: number[] = [];
        enc.tokenize(escaped, seg);
        expect(seg).toEqual(whole);
      }),
      { seed, numRuns: 300 },
    );
  });
});
