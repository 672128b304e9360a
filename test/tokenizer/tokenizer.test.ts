// createTokenizer: llama.cpp's rules for special tokens, BOS/EOS flags, EOG ids, pieces and decode.
import { beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedTokenizerError } from '../../src/errors.ts';
import type { GgufValue } from '../../src/gguf/types.ts';
import { loadTokenizer } from '../../src/tokenizer/load.ts';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer/tokenizer.ts';
import { missingShared, sharedPath } from '../helpers/shared.ts';

const skip = missingShared('vocab') ?? missingShared('models', 'stories260K.gguf');
const vocab = (name: string) => sharedPath('vocab', `ggml-vocab-${name}.gguf`);

describe.skipIf(skip !== undefined)('Tokenizer on real vocabularies', () => {
  let stories: Tokenizer;
  let gpt2: Tokenizer;
  let starcoder: Tokenizer;
  let deepseek: Tokenizer;
  let bert: Tokenizer;
  beforeAll(async () => {
    stories = (await loadTokenizer(sharedPath('models', 'stories260K.gguf'))).tokenizer;
    gpt2 = (await loadTokenizer(vocab('gpt-2'))).tokenizer;
    starcoder = (await loadTokenizer(vocab('starcoder'))).tokenizer;
    deepseek = (await loadTokenizer(vocab('deepseek-coder'))).tokenizer;
    bert = (await loadTokenizer(vocab('bert-bge'))).tokenizer;
  });

  it('reads the special ids and add_bos defaults as llama.cpp does', () => {
    expect([stories.model, stories.vocabSize, stories.bosId, stories.eosId, stories.addBos, stories.addEos]).toEqual(['llama', 512, 1, 2, true, false]);
    // stories260K stores 0xFFFFFFFF as its padding id: outside the vocabulary, so there is none.
    expect(stories.padId).toBeUndefined();
    expect([gpt2.model, gpt2.bosId, gpt2.eosId, gpt2.addBos]).toEqual(['gpt2', 50256, 50256, false]);
    expect([deepseek.bosId, deepseek.eosId, deepseek.padId, deepseek.addBos]).toEqual([32013, 32014, 32014, true]);
    expect(bert.model).toBe('bert');
  });

  it('adds BOS (SPM, BPE with add_bos_token) or CLS/SEP (WPM) only when addSpecial is on', () => {
    expect(stories.encode('Hello')).toEqual([1, 346, 306, 414]);
    expect(stories.encode('Hello', { addSpecial: false })).toEqual([346, 306, 414]);
    expect(deepseek.encode('hi')).toEqual([32013, 4821]);
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]);
    expect(bert.encode('Hello world')).toEqual([101, 7592, 2088, 102]);
    expect(bert.encode('Hello world', { addSpecial: false })).toEqual([7592, 2088]);
    expect(stories.encode('')).toEqual([1]);
    expect(stories.encode('', { addSpecial: false })).toEqual([]);
  });

  it('parses control tokens out of the text only with parseSpecial', () => {
    expect(starcoder.encode('<fim_prefix>def f', { parseSpecial: true })).toEqual([1, 610, 315]);
    const plain = starcoder.encode('<fim_prefix>def f');
    expect(plain).not.toContain(1);
    expect(starcoder.decode(plain)).toBe('<fim_prefix>def f');
    // SPM: text after a special token gets the prefix space again, as in llama.cpp.
    expect(stories.encode('<s>Hi', { parseSpecial: true, addSpecial: false })).toEqual([1, ...stories.encode('Hi', { addSpecial: false })]);
    expect(stories.encode('<s>Hi', { addSpecial: false })).not.toContain(1);
  });

  it('always cuts user-defined tokens out of the text (deepseek-coder)', () => {
    const id = deepseek.encode('<|User|>', { addSpecial: false });
    expect(id).toEqual([32019]);
    expect(deepseek.decode(deepseek.encode('a<|User|>b', { addSpecial: false }))).toBe('a<|User|>b');
  });

  it('marks EOS and end-of-turn tokens as end of generation', () => {
    expect(stories.isEog(2)).toBe(true);
    expect(stories.isEog(1)).toBe(false);
    expect(gpt2.isEog(50256)).toBe(true);
    expect(starcoder.eotId).toBe(0);
    expect(starcoder.isEog(0)).toBe(true);
    expect(starcoder.isEog(610)).toBe(false);
  });

  it('falls back to <0xNN> byte tokens for characters SPM does not know', () => {
    const ids = stories.encode('😀', { addSpecial: false });
    // "▁" then the four UTF-8 bytes F0 9F 98 80 as byte tokens (id = 3 + byte).
    expect(ids.slice(1)).toEqual([0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3]);
    expect(Array.from(stories.tokenBytes(0x41 + 3))).toEqual([0x41]);
    expect(stories.tokenText(0x41 + 3)).toBe('<0x41>');
    expect(stories.decode(ids)).toBe(' 😀');
  });

  it('renders pieces: SPM spaces, byte-level BPE bytes, special tokens as their text', () => {
    expect(new TextDecoder().decode(stories.tokenBytes(259))).toBe(' t');
    expect(stories.tokenText(259)).toBe('▁t');
    expect(new TextDecoder().decode(gpt2.tokenBytes(995))).toBe(' world');
    expect(gpt2.tokenText(995)).toBe('Ġworld');
    expect(new TextDecoder().decode(stories.tokenBytes(2))).toBe('</s>');
    expect(() => stories.tokenBytes(512)).toThrow(RangeError);
  });

  it('decodes with or without special tokens and SPM prefix space', () => {
    const ids = stories.encode('Once upon a time');
    expect(stories.decode(ids)).toBe('<s> Once upon a time');
    expect(stories.decode(ids, { skipSpecial: true })).toBe(' Once upon a time');
    expect(stories.decode(ids, { skipSpecial: true, removeSpacePrefix: true })).toBe('Once upon a time');
    // BPE decode is exact: llama.cpp's clean-up of " ," and " 's" is not applied.
    expect(gpt2.decode(gpt2.encode(" Hello , world 's"))).toBe(" Hello , world 's");
  });
});

describe.skipIf(skip !== undefined)('UNKNOWN-type tokens (<unk>, GGUF token type 2)', () => {
  // llama.cpp's token_to_piece (the oracle's commit) treats UNKNOWN as it treats CONTROL, for SPM, UGM,
  // WPM and BPE alike: nothing without special rendering (what llama-server streams), the token's
  // text with it. Only llama.cpp before mid-2024 printed U+2585 (▅) for an SPM unknown token.
  it.each([
    ['stories260K', sharedPath('models', 'stories260K.gguf')],
    ['llama-spm', vocab('llama-spm')],
  ])('%s: <unk> renders like BOS/EOS: "" when special tokens are skipped, "<unk>" when shown, never ▅', async (_, path) => {
    const { tokenizer, metadata } = await loadTokenizer(path);
    const types = metadata.get('tokenizer.ggml.token_type') as GgufValue[];
    const unknown = types.flatMap((t, id) => (Number(t) === 2 ? [id] : []));
    expect(unknown).toEqual([Number(metadata.get('tokenizer.ggml.unknown_token_id'))]);
    const unk = unknown[0]!;
    expect(tokenizer.tokenText(unk)).toBe('<unk>');
    expect(tokenizer.isSpecial(unk)).toBe(true);
    const words = tokenizer.encode('Once upon', { addSpecial: false });
    const ids = [tokenizer.bosId!, ...words, unk, ...words, tokenizer.eosId!];
    expect(tokenizer.decode(ids, { skipSpecial: true })).toBe(' Once upon Once upon');
    expect(tokenizer.decode(ids)).toBe('<s> Once upon<unk> Once upon</s>');
    expect(tokenizer.decode([unk], { skipSpecial: true })).toBe('');
    expect(tokenizer.decode([tokenizer.bosId!, tokenizer.eosId!], { skipSpecial: true })).toBe('');
  });
});

describe('createTokenizer errors', () => {
  const md = (entries: Array<[string, GgufValue]>) => new Map<string, GgufValue>(entries);

  it('throws UnsupportedTokenizerError for an unknown tokenizer.ggml.model, naming it', () => {
    expect(() => createTokenizer(md([['tokenizer.ggml.model', 't5'], ['tokenizer.ggml.tokens', ['a']]]))).toThrow(UnsupportedTokenizerError);
    expect(() => createTokenizer(md([['tokenizer.ggml.model', 't5'], ['tokenizer.ggml.tokens', ['a']]]))).toThrow(/'t5'/);
  });

  it('throws UnsupportedTokenizerError for an unknown BPE pre-tokenizer and for a missing vocabulary', () => {
    const bpe = md([
      ['tokenizer.ggml.model', 'gpt2'],
      ['tokenizer.ggml.pre', 'no-such-pre'],
      ['tokenizer.ggml.tokens', ['a', 'b']],
      ['tokenizer.ggml.merges', ['a b']],
    ]);
    expect(() => createTokenizer(bpe)).toThrow(/no-such-pre/);
    expect(() => createTokenizer(md([['general.architecture', 'llama']]))).toThrow(UnsupportedTokenizerError);
  });

  it('builds a small SPM vocabulary from metadata alone and merges by score', () => {
    const tok = createTokenizer(
      md([
        ['tokenizer.ggml.model', 'llama'],
        ['tokenizer.ggml.tokens', ['<unk>', '<s>', '</s>', '▁', 'a', 'b', 'ab', '▁ab', 'ba']],
        ['tokenizer.ggml.scores', [0, 0, 0, -1, -1, -1, -2, -3, -1]],
        ['tokenizer.ggml.token_type', [2, 3, 3, 1, 1, 1, 1, 1, 1]],
      ]),
    );
    // "▁aba": "ba" (-1) beats "ab" (-2), so the result is ▁ a ba, then nothing merges "▁a".
    expect(tok.encode('aba', { addSpecial: false })).toEqual([3, 4, 8]);
    // No byte tokens and no match: the unknown token stands in.
    expect(tok.encode('c', { addSpecial: false })).toEqual([3, 0]);
  });
});
