// Byte-level BPE (tokenizer.ggml.model = gpt2), as llama.cpp's llm_tokenizer_bpe: split the text into
// words with the pre-tokenizer, map each word's UTF-8 bytes to GPT-2's printable chars, then merge the
// adjacent pair with the lowest merge rank (ties: leftmost) until none applies. Pieces that are not
// tokens fall back to one token per byte. A heap keeps merging O(n log n) per word; results are
// cached per word because natural text repeats words constantly.
import { MinHeap } from './heap.ts';
import type { PreTokenizer } from './pretokenizers.ts';
import { byteEncode } from './unicode.ts';
import type { Vocab } from './vocab.ts';

interface Bigram {
  left: number;
  right: number;
  rank: number;
  /** Length of the merged text. Symbols only grow or empty, so a pair is stale exactly when a side
   * is empty or the lengths no longer add up (the same test as llama.cpp's text comparison). */
  size: number;
}

const bigramFirst = (a: Bigram, b: Bigram) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
const CACHE_LIMIT = 100_000;

export class BpeEncoder {
  private readonly cache = new Map<string, readonly number[]>();

  constructor(
    private readonly vocab: Vocab,
    private readonly pre: PreTokenizer,
  ) {}

  tokenize(text: string, out: number[]): void {
    for (const word of this.pre.split(text)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(byteEncode(word));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Merges one byte-encoded word (every char is one byte, so UTF-16 units are symbols). */
  private encodeWord(word: string): number[] {
    const vocab = this.vocab;
    if (this.pre.ignoreMerges) {
      const whole = vocab.idOf.get(word);
      if (whole !== undefined) return [whole];
    }
    const n = word.length;
    const sym: string[] = Array.from(word);
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const heap = new MinHeap<Bigram>(bigramFirst);
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const rank = vocab.mergeRanks.get(sym[left]!)?.get(sym[right]!);
      if (rank === undefined) return;
      heap.push({ left, right, rank, size: sym[left]!.length + sym[right]!.length });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    for (let b = heap.pop(); b !== undefined; b = heap.pop()) {
      const l = b.left;
      const r = b.right;
      if (sym[l] === '' || sym[r] === '' || sym[l]!.length + sym[r]!.length !== b.size) continue;
      sym[l] = sym[l]! + sym[r]!;
      sym[r] = '';
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      tryAdd(prev[l]!, l);
      tryAdd(l, next[l]!);
    }
    const ids: number[] = [];
    for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]!) {
      const piece = sym[i]!;
      const id = vocab.idOf.get(piece);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      for (const ch of piece) {
        const bt = vocab.idOf.get(ch);
        if (bt !== undefined) ids.push(bt);
      }
    }
    return ids;
  }
}
