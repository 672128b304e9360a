// Copies of activation tensors as llama.cpp's CPU matmul sees them (rounded to f16/bf16, or
// quantized to Q8 blocks), kept per (tensor buffer, kind) until the tensor is written again, so
// that q/k/v (or gate/up) round their shared input once. A copy is stale after any write to its
// source: a host write or a dispatch that binds the source writable.
import type { DeviceBuffer, KernelExecutor } from './executor.ts';

/** Keys of the Q8-quantized copies among a tensor's copies (act_round modes are 1..4). */
export const Q8_COPY = 100;
export const Q8K_COPY = 101;

export interface ActivationCopy {
  readonly buf: DeviceBuffer;
  /** Whether it holds the source's current contents (in recording order). */
  fresh: boolean;
}

export class ActivationCopies {
  private readonly bySource = new Map<number, Map<number, ActivationCopy>>();

  constructor(private readonly executor: KernelExecutor) {}

  /** Whether any copy exists (dispatches skip the staleness bookkeeping while none does). */
  get empty(): boolean {
    return this.bySource.size === 0;
  }

  /** The copy of kind `key` of `src`, made (stale) on first use with `bytes` bytes. */
  get(src: DeviceBuffer, key: number, bytes: number, label: string): ActivationCopy {
    let perSource = this.bySource.get(src.id);
    if (!perSource) {
      perSource = new Map();
      this.bySource.set(src.id, perSource);
    }
    let copy = perSource.get(key);
    if (!copy) {
      copy = { buf: this.executor.alloc(bytes, label, 'scratch').buf, fresh: false };
      perSource.set(key, copy);
    }
    return copy;
  }

  /** Whether `src` has a fresh copy of kind `key`. */
  isFresh(src: DeviceBuffer, key: number): boolean {
    return this.bySource.get(src.id)?.get(key)?.fresh ?? false;
  }

  /** `src` was (or will be, in order) written: its copies are stale. */
  invalidate(src: DeviceBuffer): void {
    const perSource = this.bySource.get(src.id);
    if (perSource) for (const c of perSource.values()) c.fresh = false;
  }

  /** `src` is being released: frees its copies. */
  release(src: DeviceBuffer): void {
    const perSource = this.bySource.get(src.id);
    if (!perSource) return;
    for (const c of perSource.values()) this.executor.free(c.buf);
    this.bySource.delete(src.id);
  }
}
