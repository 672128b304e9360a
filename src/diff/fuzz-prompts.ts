// Prompts for cross-backend fuzzing: the kinds of text that break tokenizers and kernels (any
// Unicode including lone surrogates, combining marks, emoji, right-to-left text, whitespace only,
// text that spells special tokens, long runs of one token, prompts as long as the context).
// `rocforge diff --fuzz N --seed S` draws them from a seeded generator; the fast-check suites in
// test/property/ build their arbitraries from the same pools.
import { Rng } from '../engine/rng.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';

export const COMBINING_MARKS: readonly string[] = ['\u0300', '\u0301', '\u0308', '\u0323', '\u034f', '\u0361', '\u20dd', '\u1ab0', '\ufe20'];
export const EMOJI: readonly string[] = ['😀', '🦀', '👍🏽', '👩‍👩‍👧', '🏳️‍🌈', '🇫🇷', '❤️', '🧑🏿‍🚀', '🐕‍🦺', '1️⃣'];
export const RIGHT_TO_LEFT: readonly string[] = ['שלום עולם', 'مرحبا بالعالم', 'سلام', '\u202eevil\u202c', '\u200fאבג\u200e', 'ܫܠܡܐ', 'ހެލޯ'];
export const WHITESPACE: readonly string[] = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u200b', '\u2028', '\f', '\v'];
/** Special-token spellings of common vocabularies, besides the model's own. */
export const SPECIAL_SPELLINGS: readonly string[] = ['<s>', '</s>', '<unk>', '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|eot_id|>', '[INST]', '<pad>', '<0x0A>'];
export const LONE_SURROGATES: readonly string[] = ['\ud800', '\udbff', '\udc00', '\udfff', 'a\ud83d', '\ude00b'];

export type PromptKind = 'unicode' | 'combining' | 'emoji' | 'rtl' | 'whitespace' | 'special' | 'run' | 'long';
export const PROMPT_KINDS: readonly PromptKind[] = ['unicode', 'combining', 'emoji', 'rtl', 'whitespace', 'special', 'run', 'long'];

/** What the generators need from a model: its ordinary pieces and the texts of its special tokens. */
export interface PromptPools {
  /** Decoded text of ordinary (non-special) tokens. */
  readonly pieces: readonly string[];
  /** Texts of the model's special tokens, plus SPECIAL_SPELLINGS. */
  readonly specials: readonly string[];
}

export function poolsOf(tokenizer: Tokenizer): PromptPools {
  const pieces: string[] = [];
  const specials = new Set(SPECIAL_SPELLINGS);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (tokenizer.isSpecial(id)) specials.add(tokenizer.tokenText(id));
    else {
      const t = tokenizer.decode([id]);
      if (t.length > 0) pieces.push(t);
    }
  }
  return { pieces, specials: [...specials] };
}

/** A small interface over a random source, so that a seeded PRNG or fast-check can drive it. */
export interface Draw {
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
}

function pick<T>(d: Draw, xs: readonly T[]): T {
  return xs[d.int(0, xs.length - 1)]!;
}

/** Any code point, lone surrogates included, biased toward the ranges tokenizers special-case. */
function anyCodePoint(d: Draw): string {
  switch (d.int(0, 5)) {
    case 0:
      return String.fromCharCode(d.int(0, 0x7f));
    case 1:
      return String.fromCharCode(d.int(0xd800, 0xdfff));
    case 2:
      return String.fromCodePoint(d.int(0x10000, 0x10ffff));
    case 3:
      return String.fromCharCode(d.int(0x80, 0x7ff));
    default:
      return String.fromCharCode(d.int(0, 0xffff));
  }
}

/**
 * One prompt of `kind`. `maxTokens` bounds the long and run kinds (about one token per piece), so
 * that a prompt can reach the context size; the caller cuts any that tokenizes longer.
 */
export function makePrompt(d: Draw, kind: PromptKind, pools: PromptPools, maxTokens: number): string {
  const n = (hi: number) => d.int(1, Math.max(1, hi));
  const repeat = (count: number, f: () => string) => Array.from({ length: count }, f).join('');
  switch (kind) {
    case 'unicode':
      return repeat(n(24), () => (d.int(0, 7) === 0 ? pick(d, LONE_SURROGATES) : anyCodePoint(d)));
    case 'combining':
      return repeat(n(8), () => pick(d, pools.pieces).trim().slice(0, 3) + repeat(d.int(1, 4), () => pick(d, COMBINING_MARKS)));
    case 'emoji':
      return repeat(n(8), () => (d.int(0, 1) ? pick(d, EMOJI) : pick(d, pools.pieces)));
    case 'rtl':
      return repeat(n(4), () => (d.int(0, 2) ? pick(d, RIGHT_TO_LEFT) : pick(d, pools.pieces)));
    case 'whitespace':
      return repeat(n(16), () => pick(d, WHITESPACE));
    case 'special':
      return repeat(n(6), () => (d.int(0, 1) ? pick(d, pools.specials) : pick(d, pools.pieces)));
    case 'run':
      return pick(d, pools.pieces).repeat(n(maxTokens));
    case 'long':
      return repeat(d.int(Math.max(1, maxTokens >> 1), Math.max(1, maxTokens)), () => pick(d, pools.pieces));
  }
}

/** `count` prompts from `seed`, cycling through the kinds so that every kind appears. */
export function fuzzPrompts(count: number, seed: number, pools: PromptPools, maxTokens: number): Array<{ kind: PromptKind; text: string }> {
  const rng = new Rng(seed);
  const d: Draw = { int: (lo, hi) => lo + Math.floor(rng.nextFloat() * (hi - lo + 1)) };
  return Array.from({ length: count }, (_, i) => {
    const kind = PROMPT_KINDS[i % PROMPT_KINDS.length]!;
    return { kind, text: makePrompt(d, kind, pools, maxTokens) };
  });
}
