// A forward pass as one packed command list for rf_submit / the graph calls (record format:
// native-hip/include/rocforge_hip.h, "Command list"). Records go into `words`; the bytes of host
// writes go into `data`, apart, so that two passes that differ only in their inputs (token ids,
// positions) have identical records and can share a captured graph.
import type { Param } from '../gpu/executor.ts';

export const OP_LAUNCH = 1;
export const OP_WRITE = 2;
export const OP_MEMSET = 3;
/** Words of a launch record before its params and buffer handles. */
export const LAUNCH_FIXED = 11;
export const MAX_BUFS = 8;

export interface LaunchRecord {
  readonly kernel: number;
  readonly groups: readonly [number, number, number];
  /** Threads per workgroup, 0 for the kernel's fixed size. */
  readonly wg: number;
  readonly dequant: number;
  readonly variant: number;
  /** 1: warp (subgroup) reductions, 0: shared memory. */
  readonly reduce: number;
  readonly params: readonly Param[];
  readonly buffers: readonly number[];
}

export class CommandList {
  private w = new Uint32Array(4096);
  private n = 0;
  private d = new Uint32Array(1024);
  private nd = 0;
  private readonly bits = new DataView(new ArrayBuffer(4));
  /** Launch records, in order (with their kernel index, for labelling profiles). */
  readonly launchKernels: number[] = [];

  get empty(): boolean {
    return this.n === 0;
  }

  /** The records (a view: valid until the next change). */
  get words(): Uint32Array {
    return this.w.subarray(0, this.n);
  }

  /** The write data (a view: valid until the next change). */
  get data(): Uint32Array {
    return this.d.subarray(0, this.nd);
  }

  launch(r: LaunchRecord): void {
    const np = r.params.length;
    const nb = r.buffers.length;
    if (nb > MAX_BUFS) throw new RangeError(`a launch binds at most ${MAX_BUFS} buffers, got ${nb}`);
    const len = LAUNCH_FIXED + np + nb;
    const w = this.reserve(len);
    let at = this.n;
    w[at++] = OP_LAUNCH | (len << 8);
    w[at++] = r.kernel;
    w[at++] = r.groups[0];
    w[at++] = r.groups[1];
    w[at++] = r.groups[2];
    w[at++] = r.wg;
    w[at++] = r.dequant;
    w[at++] = r.variant;
    w[at++] = r.reduce;
    w[at++] = np;
    w[at++] = nb;
    for (const p of r.params) {
      if (typeof p === 'number') {
        w[at++] = p >>> 0;
      } else {
        this.bits.setFloat32(0, p.f, true);
        w[at++] = this.bits.getUint32(0, true);
      }
    }
    for (const b of r.buffers) w[at++] = b;
    this.n = at;
    this.launchKernels.push(r.kernel);
  }

  /** Copies `bytes` (taken now: the caller may reuse its array) into the buffer at offset. */
  write(handle: number, offset: number, bytes: Uint8Array): void {
    const words = Math.ceil(bytes.length / 4);
    const first = this.nd;
    if (this.nd + words > this.d.length) this.d = grow(this.d, this.nd + words);
    // The last word's padding bytes are zeroed so that equal inputs give equal data.
    if (words > 0) this.d[first + words - 1] = 0;
    new Uint8Array(this.d.buffer, first * 4, bytes.length).set(bytes);
    this.nd += words;
    this.sixWords(OP_WRITE, handle, offset, bytes.length, first);
  }

  memset(handle: number, offset: number, bytes: number, value: number): void {
    this.sixWords(OP_MEMSET, handle, offset, bytes, value & 0xff);
  }

  clear(): void {
    this.n = 0;
    this.nd = 0;
    this.launchKernels.length = 0;
  }

  private sixWords(op: number, handle: number, offset: number, bytes: number, last: number): void {
    if (bytes > 0xffffffff) throw new RangeError(`a command-list write or memset is at most 4 GiB, got ${bytes} bytes`);
    const w = this.reserve(6);
    const at = this.n;
    w[at] = op | (6 << 8);
    w[at + 1] = handle;
    w[at + 2] = offset >>> 0;
    w[at + 3] = Math.floor(offset / 2 ** 32);
    w[at + 4] = bytes;
    w[at + 5] = last;
    this.n += 6;
  }

  private reserve(words: number): Uint32Array {
    if (this.n + words > this.w.length) this.w = grow(this.w, this.n + words);
    return this.w;
  }
}

function grow(a: Uint32Array, need: number): Uint32Array<ArrayBuffer> {
  let cap = a.length * 2;
  while (cap < need) cap *= 2;
  const b = new Uint32Array(cap);
  b.set(a);
  return b;
}

/** What a list does, apart from its parameters and buffers: each record's header and kernel. */
export function listShape(words: Uint32Array): Uint32Array {
  const out: number[] = [];
  for (let at = 0; at < words.length; ) {
    const header = words[at]!;
    const len = header >>> 8;
    out.push(header & 0xff, (header & 0xff) === OP_LAUNCH ? words[at + 1]! : 0, len);
    if (len === 0) throw new RangeError(`command list: empty record at word ${at}`);
    at += len;
  }
  return Uint32Array.from(out);
}

/** Buffer handles a list names (bindings and write/memset targets). */
export function listBuffers(words: Uint32Array): Set<number> {
  const out = new Set<number>();
  for (let at = 0; at < words.length; ) {
    const header = words[at]!;
    const len = header >>> 8;
    if ((header & 0xff) === OP_LAUNCH) {
      const np = words[at + 9]!;
      const nb = words[at + 10]!;
      for (let i = 0; i < nb; i++) out.add(words[at + LAUNCH_FIXED + np + i]!);
    } else {
      out.add(words[at + 1]!);
    }
    if (len === 0) throw new RangeError(`command list: empty record at word ${at}`);
    at += len;
  }
  return out;
}

/** FNV-1a over the words: a cheap key for finding a captured list again. */
export function hashWords(words: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i]!, 0x01000193) >>> 0;
  }
  return h;
}

export function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
