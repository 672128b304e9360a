// Ownership of the KV cache's slots: one slot per running sequence, lowest free slot first.
import { RocforgeError } from '../errors.ts';

export class KvSlots {
  private readonly owned: boolean[];

  constructor(readonly total: number) {
    this.owned = new Array<boolean>(total).fill(false);
  }

  /** A free slot, now owned by the caller, or undefined when all are busy. */
  acquire(): number | undefined {
    const i = this.owned.indexOf(false);
    if (i < 0) return undefined;
    this.owned[i] = true;
    return i;
  }

  release(slot: number): void {
    if (!this.owned[slot]) throw new RocforgeError(`KV slot ${slot} released twice (engine bug)`);
    this.owned[slot] = false;
  }

  get busy(): number {
    return this.owned.filter(Boolean).length;
  }

  get free(): number {
    return this.total - this.busy;
  }
}
