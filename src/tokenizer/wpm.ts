// WordPiece (tokenizer.ggml.model = bert), as llama.cpp's llm_tokenizer_wpm: BERT-style normalization
// (lowercase; accents stripped by mapping each code point to the first code point of its NFD form and
// dropping marks), split on whitespace and around punctuation and CJK ideographs, then per word the
// longest-prefix match over "▁word" (the GGUF vocabulary marks word starts with U+2581 instead of
// marking continuations with ##). A word with any unmatched remainder becomes [UNK].
import { isWhitespace } from './unicode.ts';
import type { Vocab } from './vocab.ts';

const CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const MARK = /^\p{M}$/u;
const PUNCT = /^\p{P}$/u;
const SYMBOL = /^\p{S}$/u;

function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function firstCodePoint(s: string): number {
  return s.codePointAt(0)!;
}

export function wpmPreprocess(text: string, lowercase: boolean, stripAccents: boolean): string[] {
  const words: string[] = [''];
  for (const ch of text) {
    let cp = firstCodePoint(ch);
    if (stripAccents) cp = firstCodePoint(ch.normalize('NFD'));
    const c = String.fromCodePoint(cp);
    if (isWhitespace(cp)) {
      if (words[words.length - 1] !== '') words.push('');
      continue;
    }
    if (cp === 0 || cp === 0xfffd || CONTROL.test(c)) continue;
    if (stripAccents && MARK.test(c)) continue;
    const s = lowercase ? String.fromCodePoint(firstCodePoint(c.toLowerCase())) : c;
    if (PUNCT.test(c) || (cp < 0x7f && SYMBOL.test(c)) || isChineseChar(cp)) {
      if (words[words.length - 1] !== '') words.push('');
      words[words.length - 1] = s;
      words.push('');
    } else {
      words[words.length - 1] += s;
    }
  }
  if (words[words.length - 1] === '') words.pop();
  return words;
}

export function wpmTokenize(vocab: Vocab, text: string, out: number[]): void {
  for (const word of wpmPreprocess(text, vocab.lowercase, vocab.stripAccents)) {
    if (word.length === 0) continue;
    const w = '\u2581' + word;
    const n = w.length;
    const before = out.length;
    for (let i = 0; i < n; ) {
      let matched = -1;
      for (let j = Math.min(n, i + vocab.maxTokenLength); j > i; j--) {
        const id = vocab.idOf.get(w.slice(i, j));
        if (id !== undefined) {
          out.push(id);
          matched = j;
          break;
        }
      }
      if (matched < 0) {
        out.length = before;
        break;
      }
      i = matched;
    }
    if (out.length === before && vocab.unkId !== undefined) out.push(vocab.unkId);
  }
}
