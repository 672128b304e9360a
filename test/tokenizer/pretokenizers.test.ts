// BPE pre-tokenizers: word splits per tokenizer.ggml.pre, following the regex semantics llama.cpp uses
// (each regex splits every piece into matches and gaps; lookaheads stop at the piece's end).
import { describe, expect, it } from 'vitest';
import { UnsupportedTokenizerError } from '../../src/errors.ts';
import { preTokenizerFor } from '../../src/tokenizer/pretokenizers.ts';

const split = (pre: string, text: string) => preTokenizerFor(pre).split(text);

describe('pre-tokenizers', () => {
  it('gpt-2: contractions, optional leading space, and whitespace runs that leave one space for the next word', () => {
    expect(split('gpt-2', "Hello world  foo's 123!!")).toEqual(['Hello', ' world', ' ', ' foo', "'s", ' 123', '!!']);
    expect(split('gpt-2', 'a  ')).toEqual(['a', '  ']);
  });

  it('llama3 (and llama-bpe): case-insensitive contractions, digits in threes, newline runs', () => {
    expect(split('llama-bpe', "I'M here 12345\n\n  x")).toEqual(['I', "'M", ' here', ' ', '123', '45', '\n\n', ' ', ' x']);
    expect(split('llama3', '$hello\t\tworld')).toEqual(['$hello', '\t', '\tworld']);
    expect(preTokenizerFor('llama3').ignoreMerges).toBe(true);
  });

  it('qwen2: single digits, punctuation with trailing newlines', () => {
    expect(split('qwen2', 'abc 2024!\n\nok')).toEqual(['abc', ' ', '2', '0', '2', '4', '!\n\n', 'ok']);
  });

  it('uses Unicode properties and Unicode White_Space, not ASCII classes', () => {
    // U+3000 (ideographic space) is whitespace; U+00A0 too; letters from any script are \p{L}.
    expect(split('gpt-2', 'über\u3000日本語 ٣٤')).toEqual(['über', '\u3000', '日本語', ' ٣٤']);
    expect(split('qwen2', 'x\u00a0y')).toEqual(['x', '\u00a0y']);
    // U+FEFF is not White_Space (JS's \s would say it is): it is a symbol-run character.
    expect(split('gpt-2', 'a\ufeffb')).toEqual(['a', '\ufeff', 'b']);
  });

  it('deepseek-coder: newlines, letters, punctuation, CJK runs and single digits are separate pieces', () => {
    expect(split('deepseek-coder', 'x = 42;\n中文')).toEqual(['x', ' = ', '4', '2', ';', '\n', '中文']);
  });

  it('deepseek-llm: its letter and punctuation classes, digits in runs', () => {
    expect(split('deepseek-llm', 'Hello, 2024年')).toEqual(['Hello', ',', ' ', '2024', '年']);
  });

  it('falcon and starcoder: punctuation runs and digits split before the GPT-2 pattern', () => {
    expect(split('falcon', 'a+b=1234')).toEqual(['a', '+', 'b', '=', '123', '4']);
    expect(split('starcoder', 'x=12')).toEqual(['x', '=', '1', '2']);
  });

  it('rejects an unknown pre-tokenizer with UnsupportedTokenizerError', () => {
    expect(() => preTokenizerFor('no-such')).toThrow(UnsupportedTokenizerError);
  });
});
