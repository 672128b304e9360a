// The tokenizer a model's GGUF metadata describes, reproducing llama.cpp's llama_tokenize: special
// tokens are cut out of the text first (control tokens only when parseSpecial; user-defined tokens
// always), each remaining fragment goes through SPM, BPE or WPM, and BOS/EOS (or CLS/SEP) are added
// per the metadata flags.
import type { GgufValue } from '../gguf/types.ts';
import { BpeEncoder } from './bpe.ts';
import { preTokenizerFor } from './pretokenizers.ts';
import { SpmEncoder } from './spm.ts';
import { concatBytes, wellFormed } from './unicode.ts';
import { Attr, Vocab } from './vocab.ts';
import { wpmTokenize } from './wpm.ts';

export interface EncodeOptions {
  /** Add BOS/EOS (SPM, BPE) or CLS/SEP (WPM) as the metadata says. Default true. */
  addSpecial?: boolean;
  /** Recognize control tokens such as <|im_start|> written in the text. Default false. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Leave out control and unknown tokens (BOS, EOS, <|im_end|>...). Default false: they render as their text. */
  skipSpecial?: boolean;
  /**
   * Drop the one space SPM's add_space_prefix put before the first word: with it, decode is the
   * inverse of encode for SPM. Default false, which matches the text llama.cpp's server streams
   * token by token (a completion's first word keeps its space).
   */
  removeSpacePrefix?: boolean;
}

export interface Tokenizer {
  readonly model: 'llama' | 'gpt2' | 'bert' | string;
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly eotId?: number;
  readonly padId?: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  encode(text: string, opts?: EncodeOptions): number[];
  /**
   * Text of the ids: the concatenated token bytes, decoded as UTF-8 (malformed sequences become
   * U+FFFD). llama.cpp's clean_up_tokenization_spaces pass is not applied, so decode is the exact
   * inverse of encode for byte-level BPE.
   */
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** The bytes a token contributes to the output (special tokens as their text). */
  tokenBytes(id: number): Uint8Array;
  /** The raw vocabulary piece, for display. */
  tokenText(id: number): string;
  /** True for control and unknown tokens (the ones skipSpecial leaves out). */
  isSpecial(id: number): boolean;
  /** EOS, EOT and the other end-of-generation tokens. */
  isEog(id: number): boolean;
}

type Fragment = string | number;

class GgufTokenizer implements Tokenizer {
  readonly model: string;
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly eotId?: number;
  readonly padId?: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  private readonly bpe?: BpeEncoder;
  private readonly spm?: SpmEncoder;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly vocab: Vocab) {
    this.model = vocab.model;
    this.vocabSize = vocab.size;
    this.bosId = vocab.bosId;
    this.eosId = vocab.eosId;
    this.eotId = vocab.eotId;
    this.padId = vocab.padId;
    this.addBos = vocab.addBos;
    this.addEos = vocab.addEos;
    if (vocab.type === 'bpe') this.bpe = new BpeEncoder(vocab, preTokenizerFor(vocab.pre));
    if (vocab.type === 'spm') this.spm = new SpmEncoder(vocab);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const addSpecial = opts.addSpecial ?? true;
    const v = this.vocab;
    const fragments = this.partition(wellFormed(text), opts.parseSpecial ?? false);
    const out: number[] = [];
    switch (v.type) {
      case 'spm': {
        if (addSpecial && v.addBos && v.bosId !== undefined) out.push(v.bosId);
        // The prefix space goes before the first text and before text that follows a special token.
        let prevSpecial = true;
        for (const f of fragments) {
          if (typeof f === 'number') {
            out.push(f);
            prevSpecial = true;
            continue;
          }
          const t = (v.addSpacePrefix && prevSpecial ? ' ' : '') + f;
          this.spm!.tokenize(t.replaceAll(' ', '\u2581'), out);
          prevSpecial = false;
        }
        if (addSpecial && v.addEos && v.eosId !== undefined) out.push(v.eosId);
        break;
      }
      case 'bpe': {
        if (addSpecial && v.addBos && v.bosId !== undefined) out.push(v.bosId);
        for (const f of fragments) {
          if (typeof f === 'number') out.push(f);
          else this.bpe!.tokenize(f, out);
        }
        if (addSpecial && v.addEos && v.eosId !== undefined) out.push(v.eosId);
        break;
      }
      case 'wpm': {
        if (addSpecial && v.bosId !== undefined) out.push(v.bosId);
        for (const f of fragments) {
          if (typeof f === 'number') out.push(f);
          else wpmTokenize(v, f, out);
        }
        if (addSpecial && v.sepId !== undefined) out.push(v.sepId);
        break;
      }
    }
    return out;
  }

  /**
   * Cuts special tokens out of the text, longest token first, as llama.cpp's tokenizer_st_partition.
   * Without parseSpecial only user-defined tokens are cut (control and unknown tokens stay text).
   */
  private partition(text: string, parseSpecial: boolean): Fragment[] {
    if (text.length === 0) return [];
    const v = this.vocab;
    let frags: Fragment[] = [text];
    for (const id of v.specialTokens) {
      const attr = v.attrs[id]!;
      if (!parseSpecial && attr & (Attr.CONTROL | Attr.UNKNOWN)) continue;
      const tok = v.texts[id]!;
      const next: Fragment[] = [];
      let changed = false;
      for (const f of frags) {
        if (typeof f === 'number' || !f.includes(tok)) {
          next.push(f);
          continue;
        }
        changed = true;
        let from = 0;
        for (let at = f.indexOf(tok); at >= 0; at = f.indexOf(tok, from)) {
          let left = f.slice(from, at);
          if (attr & Attr.LSTRIP) left = left.replace(/[ \t\n\v\f\r]+$/, '');
          if (left.length > 0) next.push(left);
          next.push(id);
          from = at + tok.length;
          if (attr & Attr.RSTRIP) while (from < f.length && ' \t\n\v\f\r'.includes(f[from]!)) from++;
        }
        if (from < f.length) next.push(f.slice(from));
      }
      if (changed) frags = next;
    }
    return frags;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const v = this.vocab;
    const parts: Uint8Array[] = [];
    let stripSpace = (opts.removeSpacePrefix ?? false) && v.addSpacePrefix;
    for (const id of ids) {
      const special = v.isControlOrUnknown(id);
      if (opts.skipSpecial && special) continue;
      let p = v.piece(id);
      // The prefix space belongs to the first text token (encode adds it after BOS too).
      if (stripSpace && !special) {
        if (p.length > 0 && p[0] === 0x20) p = p.subarray(1);
        stripSpace = false;
      }
      parts.push(p);
    }
    return this.decoder.decode(concatBytes(parts));
  }

  tokenBytes(id: number): Uint8Array {
    return this.vocab.piece(id);
  }

  tokenText(id: number): string {
    const t = this.vocab.texts[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    return t;
  }

  isSpecial(id: number): boolean {
    return this.vocab.isControlOrUnknown(id);
  }

  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }
}

/**
 * Builds the tokenizer described by GGUF metadata (tokenizer.ggml.*). Throws UnsupportedTokenizerError
 * for a tokenizer.ggml.model or tokenizer.ggml.pre it cannot reproduce.
 */
export function createTokenizer(metadata: ReadonlyMap<string, GgufValue>): Tokenizer {
  return new GgufTokenizer(new Vocab(metadata));
}
