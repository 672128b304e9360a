// The vocabulary as llama.cpp loads it from GGUF metadata: token texts, scores and attributes, the
// special-token ids with llama.cpp's defaults per tokenizer model, the add_bos/add_eos flags, the
// end-of-generation set and the token -> piece table used for output.
import { UnsupportedTokenizerError } from '../errors.ts';
import type { GgufValue } from '../gguf/types.ts';
import { BYTE_TO_CHAR, CHAR_TO_BYTE, utf8Encode } from './unicode.ts';

/** Token attributes (llama.cpp's llama_token_attr bits). */
export const Attr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  NORMALIZED: 1 << 6,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
  SINGLE_WORD: 1 << 9,
} as const;

/** tokenizer.ggml.token_type values (gguf-py's TokenType) -> attribute. */
const TYPE_TO_ATTR: Record<number, number> = {
  1: Attr.NORMAL,
  2: Attr.UNKNOWN,
  3: Attr.CONTROL,
  4: Attr.USER_DEFINED,
  5: Attr.UNUSED,
  6: Attr.BYTE,
};

export type VocabType = 'spm' | 'bpe' | 'wpm';

/** Texts llama.cpp treats as end-of-generation wherever they appear in a vocab. */
const EOG_TEXTS = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<end_of_turn>', '<|endoftext|>',
  '<|eom_id|>', '<EOT>', '_<EOT>', '<|end_of_text|>', '<end_of_utterance>', '<｜end▁of▁sentence｜>',
]);
/** Fill-in-the-middle pad/repo/file-separator tokens, which llama.cpp also counts as end-of-generation. */
const FIM_EOG_TEXTS = new Set([
  '<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>',
  '<|file_sep|>',
]);
/** Texts that identify the end-of-turn token when the metadata names none. */
const EOT_TEXTS = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>',
  '<｜end▁of▁sentence｜>', '<end_of_utterance>',
]);

export class Vocab {
  readonly model: string;
  readonly type: VocabType;
  readonly pre: string;
  readonly texts: readonly string[];
  readonly scores: Float32Array;
  readonly attrs: Uint16Array;
  readonly idOf = new Map<string, number>();
  /** BPE merge ranks: mergeRanks.get(left)?.get(right). */
  readonly mergeRanks = new Map<string, Map<string, number>>();
  readonly maxTokenLength: number;

  bosId: number | undefined;
  eosId: number | undefined;
  eotId: number | undefined;
  unkId: number | undefined;
  sepId: number | undefined;
  padId: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSep: boolean;
  readonly addSpacePrefix: boolean;
  /** BERT normalizer options (WPM). */
  readonly lowercase: boolean;
  readonly stripAccents: boolean;
  readonly eog = new Set<number>();
  /** Control, user-defined and unknown tokens, longest text first: matched in the text before tokenizing. */
  readonly specialTokens: readonly number[];
  private readonly pieces: Uint8Array[];

  constructor(md: ReadonlyMap<string, GgufValue>) {
    const str = (k: string): string | undefined => {
      const v = md.get(k);
      return typeof v === 'string' ? v : undefined;
    };
    const num = (k: string): number | undefined => {
      const v = md.get(k);
      return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined;
    };
    const bool = (k: string): boolean | undefined => {
      const v = md.get(k);
      return typeof v === 'boolean' ? v : undefined;
    };

    const model = str('tokenizer.ggml.model');
    if (model === undefined) {
      throw new UnsupportedTokenizerError('the GGUF metadata has no tokenizer.ggml.model: use a model file that includes its vocabulary');
    }
    this.model = model;
    this.pre = str('tokenizer.ggml.pre') ?? 'default';
    const tokens = md.get('tokenizer.ggml.tokens');
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) {
      throw new UnsupportedTokenizerError('tokenizer.ggml.tokens is missing or not a string array: the GGUF file has no usable vocabulary');
    }
    const n = tokens.length;
    // Defaults per model type, as llama.cpp's llama_vocab::load sets them before reading the metadata.
    let addBos = false;
    let addEos = false;
    let addSep = false;
    let addSpacePrefix = false;
    let bos: number | undefined;
    let eos: number | undefined;
    let unk: number | undefined;
    let sep: number | undefined;
    let pad: number | undefined;
    if (model === 'llama') {
      this.type = 'spm';
      [bos, eos, unk] = [1, 2, 0];
      addSpacePrefix = true;
      addBos = true;
    } else if (model === 'gpt2') {
      this.type = 'bpe';
      [bos, eos] = [11, 11];
      const merges = md.get('tokenizer.ggml.merges');
      if (!Array.isArray(merges)) throw new UnsupportedTokenizerError('tokenizer.ggml.merges is missing: a gpt2 (BPE) vocabulary needs its merges');
      merges.forEach((m, rank) => {
        const s = String(m);
        const at = s.indexOf(' ', 1);
        // A line without a separator merges nothing (llama.cpp stores it as an empty pair).
        const [left, right] = at < 0 ? ['', ''] : [s.slice(0, at), s.slice(at + 1)];
        let inner = this.mergeRanks.get(left);
        if (inner === undefined) this.mergeRanks.set(left, (inner = new Map()));
        if (!inner.has(right)) inner.set(right, rank);
      });
      if (['llama3', 'llama-v3', 'llama-bpe', 'falcon3'].includes(this.pre)) addBos = true;
      if (this.pre === 'chatglm-bpe' || this.pre === 'glm4') bos = undefined;
    } else if (model === 'bert') {
      this.type = 'wpm';
      [bos, unk, sep, pad] = [101, 100, 102, 0];
      addBos = true;
      addSep = true;
    } else {
      throw new UnsupportedTokenizerError(
        `tokenizer.ggml.model '${model}' is not supported: rocforge reads 'llama' (SPM), 'gpt2' (BPE) and 'bert' (WPM) vocabularies`,
      );
    }
    addSpacePrefix = bool('tokenizer.ggml.add_space_prefix') ?? addSpacePrefix;

    this.texts = tokens.map((t, i) => ((t as string).length === 0 ? `[EMPTY_${i}]` : (t as string)));
    const scores = md.get('tokenizer.ggml.scores');
    this.scores = new Float32Array(n);
    if (Array.isArray(scores)) for (let i = 0; i < n; i++) this.scores[i] = Number(scores[i] ?? 0);
    const types = md.get('tokenizer.ggml.token_type');
    this.attrs = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      this.attrs[i] = Array.isArray(types) ? (TYPE_TO_ATTR[Number(types[i])] ?? Attr.UNDEFINED) : Attr.NORMAL;
    }
    let maxLen = 0;
    this.texts.forEach((t, i) => {
      if (!this.idOf.has(t)) this.idOf.set(t, i);
      maxLen = Math.max(maxLen, t.length);
    });
    this.maxTokenLength = maxLen;

    // Metadata ids override the defaults; ids outside the vocabulary are ignored (stories260K stores
    // 0xFFFFFFFF for "none"), and defaults outside it are dropped.
    const special = (key: string, dflt: number | undefined): number | undefined => {
      let id = dflt !== undefined && dflt < n ? dflt : undefined;
      const v = num(key);
      if (v !== undefined && v >= 0 && v < n) id = v;
      return id;
    };
    this.bosId = special('tokenizer.ggml.bos_token_id', bos);
    this.eosId = special('tokenizer.ggml.eos_token_id', eos);
    this.eotId = special('tokenizer.ggml.eot_token_id', undefined);
    const eomId = special('tokenizer.ggml.eom_token_id', undefined);
    this.unkId = special('tokenizer.ggml.unknown_token_id', unk);
    this.sepId = special('tokenizer.ggml.seperator_token_id', sep);
    this.padId = special('tokenizer.ggml.padding_token_id', pad);
    this.addBos = bool('tokenizer.ggml.add_bos_token') ?? addBos;
    this.addEos = bool('tokenizer.ggml.add_eos_token') ?? addEos;
    this.addSep = bool('tokenizer.ggml.add_sep_token') ?? addSep;
    this.addSpacePrefix = addSpacePrefix;
    this.lowercase = bool('tokenizer.ggml.normalizer.lowercase') ?? true;
    this.stripAccents = bool('tokenizer.ggml.normalizer.strip_accents') ?? this.lowercase;

    // End-of-turn / end-of-generation detection by token text, as llama.cpp does for vocabs whose
    // metadata does not list them; such tokens are treated as control tokens.
    this.texts.forEach((t, i) => {
      if (this.eotId === undefined && EOT_TEXTS.has(t)) {
        this.eotId = i;
        this.attrs[i]! |= Attr.CONTROL;
      }
      if (EOG_TEXTS.has(t) || FIM_EOG_TEXTS.has(t)) {
        this.eog.add(i);
        this.attrs[i]! |= Attr.CONTROL;
      }
      if (this.attrs[i]! & Attr.CONTROL && t.includes('unused')) this.attrs[i]! |= Attr.UNUSED;
    });
    for (const id of [this.eosId, this.eotId, eomId]) if (id !== undefined) this.eog.add(id);

    const specials: number[] = [];
    for (let i = 0; i < n; i++) if (this.attrs[i]! & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) specials.push(i);
    specials.sort((a, b) => utf8Bytes(this.texts[b]!) - utf8Bytes(this.texts[a]!));
    this.specialTokens = specials;

    // Phi-3 chat tokens swallow the whitespace that follows them (llama.cpp sets RSTRIP by model name).
    const name = (str('general.name') ?? '').toLowerCase();
    if (name.includes('phi-3') || name.includes('phi3')) {
      for (const id of specials) this.attrs[id]! |= Attr.RSTRIP;
      const set = (t: string, on: boolean) => {
        const id = this.idOf.get(t);
        if (id !== undefined) this.attrs[id] = on ? this.attrs[id]! | Attr.RSTRIP : this.attrs[id]! & ~Attr.RSTRIP;
      };
      set('</s>', true);
      for (const t of ['<unk>', '<s>', '<|endoftext|>']) set(t, false);
    }

    this.pieces = this.texts.map((_, i) => this.computePiece(i));
  }

  get size(): number {
    return this.texts.length;
  }

  isControlOrUnknown(id: number): boolean {
    return (this.attrs[id]! & (Attr.CONTROL | Attr.UNKNOWN)) !== 0;
  }

  /** The bytes a token renders as, with special (control/unknown) tokens rendered as their text. */
  piece(id: number): Uint8Array {
    const p = this.pieces[id];
    if (p === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.size - 1})`);
    return p;
  }

  /** The token for one raw byte: `<0xNN>` for SPM, the byte-level char for BPE/WPM. */
  byteToken(byte: number): number | undefined {
    if (this.type === 'spm') {
      const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
      return this.idOf.get(hex) ?? this.idOf.get(String.fromCharCode(byte));
    }
    return this.idOf.get(BYTE_TO_CHAR[byte]!);
  }

  private computePiece(id: number): Uint8Array {
    const attr = this.attrs[id]!;
    const text = this.texts[id]!;
    if (attr & (Attr.CONTROL | Attr.UNKNOWN | Attr.USER_DEFINED)) return utf8Encode(text);
    if (attr & Attr.NORMAL) {
      if (this.type === 'bpe') return decodeByteLevel(text);
      return utf8Encode(text.replaceAll('\u2581', ' '));
    }
    if (attr & Attr.BYTE) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      return m ? Uint8Array.of(parseInt(m[1]!, 16)) : new Uint8Array(0);
    }
    // Unused and undefined tokens render as nothing, like llama.cpp's token_to_piece.
    return new Uint8Array(0);
  }
}

function utf8Bytes(s: string): number {
  return utf8Encode(s).length;
}

/** Byte-level BPE token text -> bytes; a char outside the byte table renders as llama.cpp does. */
function decodeByteLevel(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else {
      const raw = utf8Encode(ch);
      const hex = Array.from(raw, (x) => x.toString(16).padStart(2, '0')).join('');
      out.push(...utf8Encode(`[UNK_BYTE_0x${hex}${text}]`));
    }
  }
  return Uint8Array.from(out);
}
