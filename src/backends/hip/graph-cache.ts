// When to run a command list through a HIP graph instead of launching it kernel by kernel.
//
// A decode step of a fixed batch shape records the same list every time, apart from its write data
// (token ids, positions), so it is captured once and replayed. The policy, per submitted list:
//   - a graph holds exactly these records          -> replay it with the new data
//   - a graph holds a list of the same shape        -> re-capture into it and update its executable
//     (same kernels in the same order; parameters,     (exact attention's cell count grows every 32
//     grids or buffers differ)                         steps: one update, then replays again)
//   - the list equals the one submitted before it   -> capture a new graph (the second sighting)
//   - otherwise                                     -> launch eagerly (prefill, one-off work)
// At most `max` graphs are kept (least recently used out); a graph naming a freed buffer is dropped.
import { hashWords, listBuffers, listShape, sameWords } from './command-list.ts';

export interface GraphEntry<G> {
  graph: G;
  words: Uint32Array;
  hash: number;
  shape: Uint32Array;
  buffers: Set<number>;
  lastUse: number;
}

export type Plan<G> =
  | { readonly kind: 'eager' }
  | { readonly kind: 'capture' }
  | { readonly kind: 'replay'; readonly entry: GraphEntry<G> }
  | { readonly kind: 'update'; readonly entry: GraphEntry<G> };

export class GraphCache<G> {
  private readonly entries: GraphEntry<G>[] = [];
  private previous: { words: Uint32Array; hash: number } | undefined;
  private clock = 0;

  constructor(private readonly max = 8) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`GraphCache: max must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.entries.length;
  }

  /** What to do with `words` (the records of the list about to be submitted). */
  plan(words: Uint32Array): Plan<G> {
    const hash = hashWords(words);
    for (const e of this.entries) {
      if (e.hash === hash && sameWords(e.words, words)) return { kind: 'replay', entry: e };
    }
    const shape = listShape(words);
    let best: GraphEntry<G> | undefined;
    for (const e of this.entries) {
      if (sameWords(e.shape, shape) && (!best || e.lastUse > best.lastUse)) best = e;
    }
    if (best) return { kind: 'update', entry: best };
    if (this.previous && this.previous.hash === hash && sameWords(this.previous.words, words)) return { kind: 'capture' };
    return { kind: 'eager' };
  }

  /** Records that `words` ran (whatever the plan), so that its second sighting is captured. */
  ran(words: Uint32Array): void {
    this.previous = { words: words.slice(), hash: hashWords(words) };
  }

  /** A graph was captured from `words`; returns the graphs evicted to make room (to destroy). */
  add(graph: G, words: Uint32Array): G[] {
    const evicted: G[] = [];
    while (this.entries.length >= this.max) {
      let oldest = 0;
      for (let i = 1; i < this.entries.length; i++) if (this.entries[i]!.lastUse < this.entries[oldest]!.lastUse) oldest = i;
      evicted.push(this.entries.splice(oldest, 1)[0]!.graph);
    }
    const copy = words.slice();
    this.entries.push({ graph, words: copy, hash: hashWords(copy), shape: listShape(copy), buffers: listBuffers(copy), lastUse: ++this.clock });
    return evicted;
  }

  /** The entry now holds `words` (after an update). */
  updated(e: GraphEntry<G>, words: Uint32Array): void {
    e.words = words.slice();
    e.hash = hashWords(e.words);
    e.shape = listShape(e.words);
    e.buffers = listBuffers(e.words);
    e.lastUse = ++this.clock;
  }

  /** The entry was replayed. */
  used(e: GraphEntry<G>): void {
    e.lastUse = ++this.clock;
  }

  /** Drops one entry (after its graph failed); returns its graph. */
  remove(e: GraphEntry<G>): G {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    return e.graph;
  }

  /** Drops the graphs that name `handle` (a buffer being freed); returns them. */
  forgetBuffer(handle: number): G[] {
    const out: G[] = [];
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i]!.buffers.has(handle)) out.push(this.entries.splice(i, 1)[0]!.graph);
    }
    return out;
  }

  /** Drops everything; returns the graphs. */
  clear(): G[] {
    const out = this.entries.map((e) => e.graph);
    this.entries.length = 0;
    this.previous = undefined;
    return out;
  }
}
