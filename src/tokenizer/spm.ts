// SentencePiece-style BPE over scores (tokenizer.ggml.model = llama), as llama.cpp's llm_tokenizer_spm:
// start from single code points, repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring token (ties: leftmost), then emit each final piece as its token or, when it is not
// in the vocabulary, as byte-fallback tokens <0xNN>. A heap of candidate pairs and a linked list of
// symbols keep this O(n log n).
//
// Speed-up that keeps the result exact: a merge can only span the boundary between two adjacent code
// points if some vocabulary token contains that pair. Boundaries no token bridges split the text into
// independent segments (merges in one never affect another, and the heap's score/leftmost order
// restricted to a segment is the segment's own order), so each segment is tokenized on its own and
// its result cached: natural text repeats its segments (roughly words) constantly.
import { MinHeap } from './heap.ts';
import { utf8Encode } from './unicode.ts';
import type { Vocab } from './vocab.ts';

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** Length (UTF-16 units) of the merged text, to detect pairs made stale by an earlier merge. */
  size: number;
}

const bigramFirst = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);

const CACHE_LIMIT = 100_000;

export class SpmEncoder {
  /** Adjacent code-point pairs that occur inside some token, as 2-code-point strings. */
  private readonly bridges = new Set<string>();
  private readonly cache = new Map<string, readonly number[]>();

  constructor(private readonly vocab: Vocab) {
    for (const t of vocab.texts) {
      const cps = Array.from(t);
      for (let i = 1; i < cps.length; i++) this.bridges.add(cps[i - 1]! + cps[i]!);
    }
  }

  /** Tokenizes escaped text (spaces as U+2581, prefix space already added); appends ids to `out`. */
  tokenize(text: string, out: number[]): void {
    let segStart = 0;
    let prev = '';
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const n = cp > 0xffff ? 2 : 1;
      const ch = text.substr(i, n);
      if (i > 0 && !this.bridges.has(prev + ch)) {
        this.segment(text.slice(segStart, i), out);
        segStart = i;
      }
      prev = ch;
      i += n;
    }
    if (segStart < text.length) this.segment(text.slice(segStart), out);
  }

  private segment(seg: string, out: number[]): void {
    let ids = this.cache.get(seg);
    if (ids === undefined) {
      const fresh: number[] = [];
      spmTokenize(this.vocab, seg, fresh);
      ids = fresh;
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(seg, ids);
    }
    for (const id of ids) out.push(id);
  }
}

/**
 * Tokenizes text that is already escaped (spaces as U+2581, prefix space added by the caller).
 * Appends ids to `out`.
 */
export function spmTokenize(vocab: Vocab, text: string, out: number[]): void {
  if (text.length === 0) return;
  // Symbols are code points: start offset and length in UTF-16 units, linked both ways.
  const start: number[] = [];
  const len: number[] = [];
  for (let i = 0; i < text.length; ) {
    const n = text.codePointAt(i)! > 0xffff ? 2 : 1;
    start.push(i);
    len.push(n);
    i += n;
  }
  const count = start.length;
  const prev = Int32Array.from({ length: count }, (_, i) => i - 1);
  const next = Int32Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
  const heap = new MinHeap<Bigram>(bigramFirst);

  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const size = len[left]! + len[right]!;
    const id = vocab.idOf.get(text.substr(start[left]!, size));
    if (id === undefined) return;
    heap.push({ left, right, score: vocab.scores[id]!, size });
  };

  for (let i = 1; i < count; i++) tryAdd(i - 1, i);

  for (let b = heap.pop(); b !== undefined; b = heap.pop()) {
    const l = b.left;
    const r = b.right;
    if (len[l] === 0 || len[r] === 0 || len[l]! + len[r]! !== b.size) continue;
    len[l] = len[l]! + len[r]!;
    len[r] = 0;
    next[l] = next[r]!;
    if (next[r]! >= 0) prev[next[r]!] = l;
    tryAdd(prev[l]!, l);
    tryAdd(l, next[l]!);
  }

  for (let i = 0; i !== -1; i = next[i]!) {
    const piece = text.substr(start[i]!, len[i]!);
    const id = vocab.idOf.get(piece);
    if (id !== undefined) {
      out.push(id);
      continue;
    }
    // Only single code points can be missing (merges only form tokens): fall back to their bytes.
    for (const byte of utf8Encode(piece)) {
      const bt = vocab.byteToken(byte) ?? vocab.unkId;
      if (bt !== undefined) out.push(bt);
    }
  }
}
