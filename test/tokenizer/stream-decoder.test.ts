// StreamDecoder: token-by-token text that never splits a UTF-8 character.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { StreamDecoder } from '../../src/tokenizer/stream-decoder.ts';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.ts';
import type { GgufValue } from '../../src/gguf/types.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const skip = missingShared('models', 'stories260K.gguf') ?? missingShared('vocab', 'ggml-vocab-gpt-2.gguf');
const seed = Date.now();
console.log(`fast-check seed: ${seed}`);

describe.skipIf(skip !== undefined)('StreamDecoder', () => {
  let stories: Tokenizer;
  let gpt2: Tokenizer;
  beforeAll(async () => {
    stories = (await loadTokenizer(sharedPath('models', 'stories260K.gguf'))).tokenizer;
    gpt2 = (await loadTokenizer(sharedPath('vocab', 'ggml-vocab-gpt-2.gguf'))).tokenizer;
  });

  it('holds back the bytes of an emoji split over four byte tokens until it is complete', () => {
    const ids = stories.encode('😀!', { addSpecial: false });
    const d = new StreamDecoder(stories);
    const out = ids.map((id) => d.push(id));
    // "▁" then F0 9F 98 80 then "!"
    expect(out).toEqual([' ', '', '', '', '😀', '!']);
    expect(d.flush()).toBe('');
  });

  it('emits U+FFFD only at flush, for a character that never completed', () => {
    const d = new StreamDecoder(stories);
    expect(d.push(0xf0 + 3)).toBe('');
    expect(d.push(0x9f + 3)).toBe('');
    expect(d.flush()).toBe('\ufffd');
  });

  it('renders or skips special tokens', () => {
    const shown = new StreamDecoder(stories);
    expect([1, 2].map((id) => shown.push(id)).join('')).toBe('<s></s>');
    const hidden = new StreamDecoder(stories, { skipSpecial: true });
    expect([1, 2].map((id) => hidden.push(id)).join('')).toBe('');
  });

  it('streams an UNKNOWN-type token (<unk>) as llama.cpp does: like BOS/EOS, "" when skipping special tokens, else its text', async () => {
    // llama.cpp's token_to_piece handles UNKNOWN and CONTROL alike (no ▅ since mid-2024).
    const { metadata } = await loadTokenizer(sharedPath('models', 'stories260K.gguf'));
    const unk = (metadata.get('tokenizer.ggml.token_type') as GgufValue[]).findIndex((t) => Number(t) === 2);
    expect(stories.tokenText(unk)).toBe('<unk>');
    const ids = [1, ...stories.encode('Once upon', { addSpecial: false }), unk, 2];
    const hidden = new StreamDecoder(stories, { skipSpecial: true });
    expect(ids.map((id) => hidden.push(id))).toEqual(['', ' Once', ' upon', '', '']);
    expect(hidden.flush()).toBe('');
    const shown = new StreamDecoder(stories);
    expect(ids.map((id) => shown.push(id)).join('') + shown.flush()).toBe('<s> Once upon<unk></s>');
  });

  it('streams the same text as decode, never showing U+FFFD for text that had none', () => {
    for (const tok of [stories, gpt2]) {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
          const ids = tok.encode(s);
          const d = new StreamDecoder(tok);
          const pieces = ids.map((id) => d.push(id));
          pieces.push(d.flush());
          expect(pieces.join('')).toBe(tok.decode(ids));
          if (!s.includes('\ufffd')) for (const p of pieces) expect(p.includes('\ufffd')).toBe(false);
        }),
        { seed, numRuns: 100 },
      );
    }
  });
});
