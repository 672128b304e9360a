// BPE pre-tokenizers: the word-splitting regexes selected by tokenizer.ggml.pre, applied the way
// llama.cpp's unicode_regex_split applies them. Each regex in a list splits every current piece into
// its matches and the gaps between them (gaps are kept as pieces too), and lookaheads and `$` see only
// the piece they run on. Regexes use the `u` flag and Unicode properties; `\s` is spelled out as
// Unicode White_Space (WS) because JS's `\s` differs from it (U+FEFF, U+0085).
import { UnsupportedTokenizerError } from '../errors.ts';
import { WS } from './unicode.ts';

const S = `[${WS}]`;
const NOT_S = `[^${WS}]`;

/** GPT-2's pattern. \p{Cn} (unassigned) is excluded from the symbol run and split one by one, as llama.cpp's hand-written matcher does. */
const GPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}\\p{Cn}]+|${S}+(?!${NOT_S})|\\p{Cn}`;

const CONTRACTIONS = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const LLAMA3 =
  `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NOT_S})|${S}+`;
const QWEN2 =
  `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NOT_S})|${S}+`;

// DeepSeek LLM's letter and punctuation classes, as listed in its tokenizer.json.
const DEEPSEEK_LLM_LETTERS =
  'A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃';
const CJK = '[一-龥ࠀ-一가-퟿]+';

/** Regex lists per pre-tokenizer family. */
const FAMILIES: Record<string, readonly string[]> = {
  default: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  gpt2: [GPT2],
  llama3: [LLAMA3],
  qwen2: [QWEN2],
  falcon: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'],
  starcoder: ['\\p{N}', GPT2],
  'deepseek-coder': ['[\\r\\n]', `${S}?\\p{L}+`, `${S}?\\p{P}+`, CJK, '\\p{N}'],
  'deepseek-llm': ['[\\r\\n]', `${S}?[${DEEPSEEK_LLM_LETTERS}]+`, `${S}?[!-/:-~！-／：-～‘-‟　-。]+`, `${S}+$`, CJK, '\\p{N}+'],
};

/** tokenizer.ggml.pre values -> family, following llama.cpp's mapping. */
const PRE_TO_FAMILY: Record<string, string> = {
  default: 'default',
  llama3: 'llama3', 'llama-v3': 'llama3', 'llama-bpe': 'llama3', falcon3: 'llama3', 'falcon-h1': 'llama3', pixtral: 'llama3',
  dbrx: 'llama3', 'smaug-bpe': 'llama3',
  'deepseek-llm': 'deepseek-llm',
  'deepseek-coder': 'deepseek-coder',
  falcon: 'falcon',
  starcoder: 'starcoder', refact: 'starcoder', 'command-r': 'starcoder', smollm: 'starcoder', codeshell: 'starcoder', exaone: 'starcoder',
  minerva: 'starcoder',
  'gpt-2': 'gpt2', 'phi-2': 'gpt2', 'jina-es': 'gpt2', 'jina-de': 'gpt2', 'jina-v1-en': 'gpt2', 'jina-v2-es': 'gpt2',
  'jina-v2-de': 'gpt2', 'jina-v2-code': 'gpt2', 'roberta-bpe': 'gpt2', mpt: 'gpt2', olmo: 'gpt2', jais: 'gpt2', trillion: 'gpt2',
  gigachat: 'gpt2', mellum: 'gpt2',
  qwen2: 'qwen2', 'deepseek-r1-qwen': 'qwen2', stablelm2: 'qwen2', hunyuan: 'qwen2',
};

/** Pre-types whose whole word is looked up in the vocabulary before merging (llama.cpp's ignore_merges). */
const IGNORE_MERGES = new Set(['llama3']);

export interface PreTokenizer {
  readonly family: string;
  readonly ignoreMerges: boolean;
  split(text: string): string[];
}

export function preTokenizerFor(pre: string): PreTokenizer {
  const family = PRE_TO_FAMILY[pre];
  if (family === undefined) {
    throw new UnsupportedTokenizerError(
      `tokenizer.ggml.pre '${pre}' is not supported: known pre-tokenizers are ${Object.keys(PRE_TO_FAMILY).join(', ')}`,
    );
  }
  const regexes = FAMILIES[family]!.map((src) => new RegExp(src, 'gu'));
  return {
    family,
    ignoreMerges: IGNORE_MERGES.has(family),
    split: (text) => {
      let pieces = text.length > 0 ? [text] : [];
      for (const re of regexes) pieces = splitAll(pieces, re);
      return pieces;
    },
  };
}

/** Splits each piece into matches of `re` and the gaps between them, in order. */
function splitAll(pieces: readonly string[], re: RegExp): string[] {
  const out: string[] = [];
  for (const piece of pieces) {
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(piece); m !== null; m = re.exec(piece)) {
      const len = m[0].length;
      if (len === 0) {
        // An empty match splits nothing; step over one code point (the `u` flag keeps pairs whole).
        re.lastIndex = m.index + (piece.codePointAt(m.index)! > 0xffff ? 2 : 1);
        continue;
      }
      if (m.index > last) out.push(piece.slice(last, m.index));
      out.push(m[0]);
      last = m.index + len;
    }
    if (last < piece.length) out.push(piece.slice(last));
  }
  return out;
}
