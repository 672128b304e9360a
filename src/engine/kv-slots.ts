// Ownership of the KV cache's slots: one slot per running sequence. A free slot remembers which
// tokens its cache positions still hold, so a new prompt sharing a prefix with them (the same chat
// history plus one turn, a common system prompt) skips recomputing that prefix, as llama.cpp's
// cache_prompt does.
import { RocforgeError } from '../errors.ts';

export interface SlotGrant {
  slot: number;
  /** Leading prompt tokens whose K/V the slot already holds at positions 0..cached-1. */
  cached: number;
}

export class KvSlots {
  private readonly owned: boolean[];
  /** Per slot: the tokens at positions 0..len-1 whose K/V are valid. */
  private readonly contents: Array<readonly number[]>;

  constructor(
    readonly total: number,
    private readonly reusePrefixes = true,
  ) {
    this.owned = new Array<boolean>(total).fill(false);
    this.contents = Array.from({ length: total }, () => []);
  }

  /**
   * A free slot, now owned by the caller, or undefined when all are busy: the one whose contents
   * share the longest prefix with `prompt` (lowest index on ties). At least the last prompt token is
   * always left to compute, since its logits are needed.
   */
  acquire(prompt: readonly number[] = []): SlotGrant | undefined {
    let best = -1;
    let bestLen = -1;
    for (let i = 0; i < this.total; i++) {
      if (this.owned[i]) continue;
      const len = this.reusePrefixes ? commonPrefix(this.contents[i]!, prompt) : 0;
      if (len > bestLen) {
        best = i;
        bestLen = len;
      }
    }
    if (best < 0) return undefined;
    this.owned[best] = true;
    this.contents[best] = [];
    return { slot: best, cached: Math.max(0, Math.min(bestLen, prompt.length - 1)) };
  }

  /** Frees a slot; `valid` are the tokens whose K/V it now holds (empty when unknown). */
  release(slot: number, valid: readonly number[] = []): void {
    if (!this.owned[slot]) throw new RocforgeError(`KV slot ${slot} released twice (engine bug)`);
    this.owned[slot] = false;
    this.contents[slot] = this.reusePrefixes ? valid : [];
  }

  get busy(): number {
    return this.owned.filter(Boolean).length;
  }

  get free(): number {
    return this.total - this.busy;
  }
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
