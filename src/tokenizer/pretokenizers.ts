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

// DeepSeek LLM's letter, punctuation and CJK classes, as listed in its tokenizer.json. Written as
// escapes: several endpoints (U+1F7D, U+1FD3, U+1FDB, U+2126, U+212A...) have canonical equivalents,
// and a normalizing editor would silently turn them into other code points.
const DEEPSEEK_LLM_LETTERS =
  '\\u{0041}-\\u{005A}\\u{0061}-\\u{007A}\\u{00B5}\\u{00C0}-\\u{00D6}\\u{00D8}-\\u{00F6}\\u{00F8}-\\u{01BA}\\u{01BC}-\\u{01BF}\\u{01C4}-\\u{0293}' +
  '\\u{0295}-\\u{02AF}\\u{0370}-\\u{0373}\\u{0376}-\\u{0377}\\u{037B}-\\u{037D}\\u{037F}\\u{0386}\\u{0388}-\\u{038A}\\u{038C}' +
  '\\u{038E}-\\u{03A1}\\u{03A3}-\\u{03F5}\\u{03F7}-\\u{0481}\\u{048A}-\\u{052F}\\u{0531}-\\u{0556}\\u{10A0}-\\u{10C5}\\u{13A0}-\\u{13F5}\\u{13F8}-\\u{13FD}' +
  '\\u{1C90}-\\u{1CBA}\\u{1CBD}-\\u{1CBF}\\u{1D00}-\\u{1D2B}\\u{1D6B}-\\u{1D77}\\u{1D79}-\\u{1D9A}\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}\\u{1F20}-\\u{1F45}' +
  '\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}\\u{1F5B}\\u{1F5D}\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}' +
  '\\u{1FBE}\\u{1FC2}-\\u{1FC4}\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}' +
  '\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}' +
  '\\u{212A}-\\u{212D}\\u{212F}-\\u{2134}\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}\\u{2183}-\\u{2184}\\u{2C00}-\\u{2C7B}' +
  '\\u{2C7E}-\\u{2CE4}\\u{2CEB}-\\u{2CEE}\\u{2CF2}-\\u{2CF3}\\u{A640}-\\u{A66D}\\u{A680}-\\u{A69B}\\u{A722}-\\u{A76F}\\u{A771}-\\u{A787}\\u{A78B}-\\u{A78E}' +
  '\\u{AB70}-\\u{ABBF}\\u{FB00}-\\u{FB06}\\u{FB13}-\\u{FB17}\\u{FF21}-\\u{FF3A}\\u{FF41}-\\u{FF5A}\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}\\u{104D8}-\\u{104FB}' +
  '\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}';
const DEEPSEEK_LLM_PUNCT = '!-/:-~\\u{FF01}-\\u{FF0F}\\u{FF1A}-\\u{FF5E}\\u{2018}-\\u{201F}\\u{3000}-\\u{3002}';
const CJK = '[\\u{4E00}-\\u{9FA5}\\u{0800}-\\u{4E00}\\u{AC00}-\\u{D7FF}]+';

/** Regex lists per pre-tokenizer family. */
const FAMILIES: Record<string, readonly string[]> = {
  default: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  gpt2: [GPT2],
  llama3: [LLAMA3],
  qwen2: [QWEN2],
  falcon: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'],
  starcoder: ['\\p{N}', GPT2],
  'deepseek-coder': ['[\\r\\n]', `${S}?\\p{L}+`, `${S}?\\p{P}+`, CJK, '\\p{N}'],
  'deepseek-llm': ['[\\r\\n]', `${S}?[${DEEPSEEK_LLM_LETTERS}]+`, `${S}?[${DEEPSEEK_LLM_PUNCT}]+`, `${S}+$`, CJK, '\\p{N}+'],
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
