// A loaded model: hyper-parameters, weights on a backend, and the forward pass over batches of rows
// that may mix sequences (each row names its KV-cache slot and position).
import type { Backend, KvCache } from '../backends/backend.ts';
import { InvalidRequestError } from '../errors.ts';
import type { GgufFile } from '../gguf/reader.ts';
import { getArchitecture, type Architecture } from './arch/index.ts';
import { BatchScratch, LogitScratch, enqueueForward, forwardPass, type GraphContext, type TapPoint } from './graph.ts';
import { readHParams, type HParams } from './hparams.ts';
import { loadWeights, type ModelWeights } from './weights.ts';

export type { HParams } from './hparams.ts';
export type { TapName, TapOp } from './graph.ts';

/** One op's output read back by forwardTapped: its rows are the batch's (or the wanted rows, after out_rows). */
export interface TapRecord extends Omit<TapPoint, 'tensor'> {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

export interface ModelBatch {
  /** Token id of each row. */
  tokens: Int32Array;
  /** KV-cache slot (sequence) of each row. */
  slots: Int32Array;
  /** Position of each row within its sequence. */
  positions: Int32Array;
  /** Indices into the batch of the rows whose logits are wanted. */
  logitRows: Int32Array;
}

export interface LoadOptions {
  /** Called after each tensor is on the backend, with bytes loaded so far and in all. */
  onProgress?: (loaded: number, total: number) => void;
}

/** Scratch sets kept per batch size; decode steps reuse a handful of sizes. */
const MAX_CACHED_SCRATCH = 4;

export class Model {
  private readonly graph: GraphContext;
  private readonly batchScratch = new Map<number, BatchScratch>();
  private readonly logitScratch = new Map<number, LogitScratch>();
  private disposed = false;

  private constructor(
    readonly hparams: HParams,
    readonly arch: Architecture,
    readonly backend: Backend,
    private readonly weights: ModelWeights,
  ) {
    this.graph = { backend, hp: hparams, arch, weights };
  }

  /** Reads hyper-parameters and uploads every weight (in its GGUF type) to the backend. */
  static async load(file: GgufFile, backend: Backend, opts: LoadOptions = {}): Promise<Model> {
    const hparams = readHParams(file);
    const arch = getArchitecture(hparams.arch);
    const weights = await loadWeights(file, backend, hparams, arch, opts.onProgress);
    return new Model(hparams, arch, backend, weights);
  }

  /** A KV cache for `nSlots` sequences of up to `contextLength` positions; release it with backend.release. */
  createKvCache(nSlots: number, contextLength: number): KvCache {
    const hp = this.hparams;
    return this.backend.createKvCache({ nLayers: hp.nLayers, nSlots, contextLength, kvDim: hp.nKvHeads * hp.headDim });
  }

  /**
   * Runs one batch through the model, storing its keys and values in `cache`, and returns the logits
   * of the rows in batch.logitRows: [logitRows.length, vocabSize], row-major. A prompt goes in as one
   * batch of rows (positions 0..n-1); rows of other sequences may share the batch.
   */
  async forward(batch: ModelBatch, cache: KvCache): Promise<Float32Array> {
    return this.run(batch, cache, (s, out) => {
      enqueueForward(this.graph, cache, s, out);
      return this.backend.read(out.logits);
    });
  }

  /**
   * forward(), reading back every op's output as it goes (the tap of src/diff): the pass waits for
   * each read before its next op, so this is slow and meant for diagnosis, never the serving path.
   */
  async forwardTapped(batch: ModelBatch, cache: KvCache): Promise<{ logits: Float32Array; taps: TapRecord[] }> {
    return this.run(batch, cache, async (s, out) => {
      const taps: TapRecord[] = [];
      for (const p of forwardPass(this.graph, cache, s, out, true)) {
        const { tensor, ...where } = p;
        taps.push({ ...where, rows: tensor.rows, cols: tensor.cols, data: await this.backend.read(tensor) });
      }
      // The pass's last tap is the logits themselves.
      return { logits: taps[taps.length - 1]!.data, taps };
    });
  }

  /** Validates the batch, writes it into scratch (cached per size) and runs `pass` on it. */
  private async run<T>(batch: ModelBatch, cache: KvCache, pass: (s: BatchScratch, out: LogitScratch) => Promise<T>): Promise<T> {
    if (this.disposed) throw new InvalidRequestError('this model was disposed: load it again to run it');
    this.validate(batch, cache);
    const n = batch.tokens.length;
    const m = batch.logitRows.length;
    // Sets made for this call join the cache only if it succeeds: a failed call (a later allocation
    // out of memory, or the device reporting one at read) gives back all it took.
    const made: Array<{ release(): void }> = [];
    try {
      const s = this.batchScratch.get(n) ?? remember(made, new BatchScratch(this.backend, this.hparams, n));
      const out = this.logitScratch.get(m) ?? remember(made, new LogitScratch(this.backend, this.hparams, m));
      this.backend.writeIndex(s.tokens, batch.tokens);
      this.backend.writeIndex(s.slots, batch.slots);
      this.backend.writeIndex(s.positions, batch.positions);
      this.backend.writeIndex(out.pick, batch.logitRows);
      this.backend.describeBatch?.(rowsOfSequence(batch.slots));
      const result = await pass(s, out);
      if (this.disposed) {
        // dispose() released the cached sets but cannot see the ones this call made.
        for (const set of made) set.release();
      } else {
        keep(this.batchScratch, n, s);
        keep(this.logitScratch, m, out);
      }
      return result;
    } catch (e) {
      for (const set of made) set.release();
      throw e;
    }
  }

  /** Releases the weights and scratch tensors (KV caches are the caller's to release). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.batchScratch.values()) s.release();
    for (const s of this.logitScratch.values()) s.release();
    this.batchScratch.clear();
    this.logitScratch.clear();
    for (const w of this.weights.all) this.backend.release(w);
  }

  private validate(b: ModelBatch, cache: KvCache): void {
    const n = b.tokens.length;
    if (n === 0) throw new InvalidRequestError('forward: the batch has no rows');
    if (b.slots.length !== n || b.positions.length !== n) {
      throw new InvalidRequestError(`forward: ${n} tokens need ${n} slots and positions, got ${b.slots.length} and ${b.positions.length}`);
    }
    if (b.logitRows.length === 0) throw new InvalidRequestError('forward: ask for at least one row of logits (logitRows is empty)');
    if (cache.nLayers !== this.hparams.nLayers || cache.kvDim !== this.hparams.nKvHeads * this.hparams.headDim) {
      throw new InvalidRequestError('forward: the KV cache was not made for this model; create it with model.createKvCache');
    }
    for (let i = 0; i < n; i++) {
      const t = b.tokens[i]!;
      const slot = b.slots[i]!;
      const pos = b.positions[i]!;
      if (t < 0 || t >= this.hparams.vocabSize) throw new InvalidRequestError(`forward: token ${t} at row ${i} is outside the vocabulary of ${this.hparams.vocabSize}`);
      if (slot < 0 || slot >= cache.nSlots) throw new InvalidRequestError(`forward: slot ${slot} at row ${i} is outside the cache's ${cache.nSlots} slots`);
      if (pos < 0 || pos >= cache.contextLength) {
        throw new InvalidRequestError(`forward: position ${pos} at row ${i} is outside the context of ${cache.contextLength}`);
      }
    }
    for (const r of b.logitRows) {
      if (r < 0 || r >= n) throw new InvalidRequestError(`forward: logit row ${r} is outside the batch of ${n} rows`);
    }
  }
}

/** Notes a scratch set made by the current call, to release if the call fails. */
function remember<T extends { release(): void }>(made: Array<{ release(): void }>, set: T): T {
  made.push(set);
  return set;
}

/**
 * Stores `set` as the most recently used for `key`; the oldest is released when too many are kept.
 * A concurrent call may have stored one for `key` meanwhile: that one stays and `set` is released.
 */
function keep<T extends { release(): void }>(map: Map<number, T>, key: number, set: T): void {
  const held = map.get(key) ?? set;
  if (held !== set) set.release();
  map.delete(key);
  map.set(key, held);
  if (map.size > MAX_CACHED_SCRATCH) {
    const oldest = map.keys().next().value!;
    map.get(oldest)!.release();
    map.delete(oldest);
  }
}

/** For each row, how many rows of the batch belong to the same sequence (KV slot). */
function rowsOfSequence(slots: Int32Array): Int32Array {
  const count = new Map<number, number>();
  for (const s of slots) count.set(s, (count.get(s) ?? 0) + 1);
  return Int32Array.from(slots, (s) => count.get(s)!);
}
