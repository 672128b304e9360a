// Text-only log-probs back to ids: where several ids spell one text (byte tokens that are not whole
// characters all render as U+FFFD), the alternative is read as the id whose reference log-prob is
// nearest the server's, and the server's own token as the reference's likeliest.
import { describe, expect, it } from 'vitest';
import { TokenTextMap } from '../../src/conform/token-map.ts';
import { topByText } from '../../src/server/routes/completions.ts';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.ts';

/** Ids 0..2 are bytes 0x80..0x82 (each decodes to U+FFFD), 3 is "a", 4 is "b". */
function byteVocab(): Tokenizer {
  const bytes = [[0x80], [0x81], [0x82], [0x61], [0x62]].map((b) => Uint8Array.from(b));
  const dec = new TextDecoder('utf-8');
  const partial: Partial<Tokenizer> = {
    vocabSize: bytes.length,
    decode: (ids) => dec.decode(Uint8Array.from(ids.flatMap((id) => [...bytes[id]!]))),
    tokenBytes: (id) => bytes[id]!,
  };
  return partial as Tokenizer;
}

describe('TokenTextMap', () => {
  const map = new TokenTextMap(byteVocab());
  const ref = [-0.5, -3, -7, -1, -2];
  const lp = (id: number) => ref[id]!;

  it('keeps every id that spells a text', () => {
    expect([...map.candidates('\uFFFD')].sort()).toEqual([0, 1, 2]);
    expect(map.candidates('a')).toEqual([3]);
  });

  it("reads an ambiguous alternative as the id whose reference log-prob is nearest the server's", () => {
    expect(map.nearest('\uFFFD', -6.9, lp)).toBe(2);
    expect(map.nearest('\uFFFD', -3.2, lp)).toBe(1);
    expect(map.nearest('\uFFFD', -6.9, lp, new Set([2]))).toBe(1);
    // An unambiguous text has one reading, however far its log-prob is.
    expect(map.nearest('a', -9, lp)).toBe(3);
    expect(map.nearest('zz', -1, lp)).toBeUndefined();
  });

  it("reads the server's chosen token as the reference's likeliest spelling", () => {
    expect(map.resolve('\uFFFD', lp)).toBe(0);
  });
});

describe('legacy top_logprobs keyed by text', () => {
  it('keeps the likeliest of the tokens that render alike instead of the last one listed', () => {
    const top = [
      { token: '\uFFFD', logprob: -0.5 },
      { token: 'a', logprob: -1 },
      { token: '\uFFFD', logprob: -3 },
    ];
    expect(topByText(top as Parameters<typeof topByText>[0])).toEqual({ '\uFFFD': -0.5, a: -1 });
  });
});
