// Continuous batching. One loop runs steps; each step is ONE forward batch holding a decode row for
// every running sequence plus up to `prefillChunk` prompt rows of sequences still prefilling (chunked
// prefill), so new requests join between steps without stalling running streams for long.
// Sequences that finish or are cancelled free their KV slot at once; the next owner of a slot writes
// positions from 0 and attention only reads positions it has written, so slots need no clearing.
import { QueueFullError, RocforgeError } from '../errors.ts';
import { KvSlots } from './kv-slots.ts';
import type { Sequence } from './sequence.ts';
import type { EngineStats } from './types.ts';

export interface ForwardBatch {
  tokens: Int32Array;
  slots: Int32Array;
  positions: Int32Array;
  /** Batch rows whose logits are wanted, in the order the logits come back. */
  logitRows: Int32Array;
}

/** What the scheduler needs from a model bound to its KV cache. */
export interface BatchModel {
  readonly vocabSize: number;
  /** Logits [logitRows.length, vocabSize]. */
  forward(batch: ForwardBatch): Promise<Float32Array>;
}

export interface SchedulerOptions {
  nSlots: number;
  contextLength: number;
  /** Requests that may wait for a slot; more are refused with QueueFullError. */
  maxQueue: number;
  /** Prompt rows per step, over all prefilling sequences. */
  prefillChunk: number;
  /** Reuse a free slot's cached prefix (default true). */
  promptCache?: boolean;
}

export class Scheduler {
  private readonly slots: KvSlots;
  private readonly waiting: Sequence[] = [];
  private readonly active: Sequence[] = [];
  private loop: Promise<void> | undefined;
  private closed = false;
  private promptTokensTotal = 0;
  private promptTokensCachedTotal = 0;
  private generatedTokensTotal = 0;
  private requestsTotal = 0;
  private stepsTotal = 0;

  constructor(
    private readonly model: BatchModel,
    private readonly opts: SchedulerOptions,
  ) {
    this.slots = new KvSlots(opts.nSlots, opts.promptCache ?? true);
  }

  /** Queues a sequence (taking a free slot at once when there is one). */
  submit(seq: Sequence): void {
    if (this.closed) throw new RocforgeError('the engine has been disposed: create a new one');
    if (seq.promptTokens.length + seq.maxTokens > this.opts.contextLength || seq.promptTokens.length === 0) {
      throw new RocforgeError(`sequence ${seq.id} does not fit the context (engine bug: the engine validates this)`);
    }
    const grant = this.slots.acquire(seq.promptTokens);
    if (grant === undefined) {
      if (this.waiting.length >= this.opts.maxQueue) {
        throw new QueueFullError(
          `the request queue is full (${this.waiting.length} waiting, ${this.opts.nSlots} running): retry later, or raise maxQueue / parallel`,
        );
      }
      this.waiting.push(seq);
    } else {
      this.begin(seq, grant.slot, grant.cached);
    }
    this.requestsTotal++;
    this.kick();
  }

  /** Ends a queued or running sequence now; its slot is free on return. */
  cancel(seq: Sequence, reason: unknown, kvValid = true): void {
    if (seq.state === 'finished') return;
    const w = this.waiting.indexOf(seq);
    if (w >= 0) this.waiting.splice(w, 1);
    this.retire(seq, kvValid);
    seq.fail(reason);
  }

  stats(): EngineStats {
    let used = 0;
    for (const s of this.active) used += s.nPast;
    return {
      activeSequences: this.active.length,
      queued: this.waiting.length,
      slotsTotal: this.opts.nSlots,
      slotsBusy: this.slots.busy,
      kvCacheUsedTokens: used,
      kvCacheTotalTokens: this.opts.nSlots * this.opts.contextLength,
      promptTokensTotal: this.promptTokensTotal,
      generatedTokensTotal: this.generatedTokensTotal,
      requestsTotal: this.requestsTotal,
      stepsTotal: this.stepsTotal,
      promptTokensCachedTotal: this.promptTokensCachedTotal,
    };
  }

  /** Fails every sequence with `reason` and waits for an in-flight step to return. */
  async close(reason: unknown): Promise<void> {
    this.closed = true;
    for (const s of [...this.waiting, ...this.active]) this.cancel(s, reason);
    await this.loop;
  }

  private kick(): void {
    if (this.loop || this.closed) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      if (this.hasWork()) this.kick();
    });
  }

  private hasWork(): boolean {
    return !this.closed && this.active.length > 0;
  }

  private async run(): Promise<void> {
    while (this.hasWork()) {
      // A macrotask turn between steps lets new requests, aborts and I/O in before the next batch.
      await new Promise<void>((r) => setImmediate(r));
      if (!this.hasWork()) break;
      await this.step();
    }
  }

  private async step(): Promise<void> {
    const tokens: number[] = [];
    const slots: number[] = [];
    const positions: number[] = [];
    const logitRows: number[] = [];
    const owners: Sequence[] = [];
    const advance: Array<[Sequence, number]> = [];
    const { contextLength } = this.opts;

    for (const s of [...this.active]) {
      if (s.state !== 'decode') continue;
      if (s.nPast >= contextLength) {
        // Unreachable when requests are validated; kept so a bug can never write past the slot.
        this.complete(s, 'length');
        continue;
      }
      logitRows.push(tokens.length);
      owners.push(s);
      tokens.push(s.nextToken);
      slots.push(s.slot);
      positions.push(s.nPast);
      advance.push([s, 1]);
    }
    let budget = this.opts.prefillChunk;
    for (const s of this.active) {
      if (budget <= 0) break;
      if (s.state !== 'prefill') continue;
      const n = Math.min(budget, s.promptRemaining);
      for (let i = 0; i < n; i++) {
        tokens.push(s.promptTokens[s.nPast + i]!);
        slots.push(s.slot);
        positions.push(s.nPast + i);
      }
      if (n === s.promptRemaining) {
        logitRows.push(tokens.length - 1);
        owners.push(s);
      }
      advance.push([s, n]);
      budget -= n;
    }
    if (tokens.length === 0) return;
    // A step of only mid-prompt chunks needs no logits, but forward wants at least one row: take
    // the last row's and drop it.
    const discardLogits = logitRows.length === 0;
    if (discardLogits) logitRows.push(tokens.length - 1);

    let logits: Float32Array;
    try {
      logits = await this.model.forward({
        tokens: Int32Array.from(tokens),
        slots: Int32Array.from(slots),
        positions: Int32Array.from(positions),
        logitRows: Int32Array.from(logitRows),
      });
    } catch (e) {
      // The cache contents of these slots are unknown now: do not offer them for reuse.
      for (const [s] of advance) this.cancel(s, e, false);
      return;
    }
    this.stepsTotal++;
    for (const [s, n] of advance) {
      if (s.state === 'finished') continue; // cancelled while the step ran
      s.nPast += n;
      if (s.state === 'prefill') this.promptTokensTotal += n;
    }
    if (discardLogits) return;
    const V = this.model.vocabSize;
    owners.forEach((s, i) => {
      if (s.state === 'finished') return;
      const before = s.generated.length;
      let reason;
      try {
        reason = s.accept(logits.subarray(i * V, (i + 1) * V));
      } catch (e) {
        this.cancel(s, e);
        return;
      }
      this.generatedTokensTotal += s.generated.length - before;
      if (reason) this.retire(s);
    });
  }

  private complete(s: Sequence, reason: 'stop' | 'length'): void {
    this.retire(s);
    s.finishWith(reason);
  }

  private begin(seq: Sequence, slot: number, cached: number): void {
    seq.start(slot, cached);
    this.promptTokensCachedTotal += cached;
    this.active.push(seq);
  }

  /** Drops a sequence from the running set and frees its slot, admitting the next waiting one. */
  private retire(s: Sequence, kvValid = true): void {
    const i = this.active.indexOf(s);
    if (i >= 0) this.active.splice(i, 1);
    if (s.slot >= 0) {
      this.slots.release(s.slot, kvValid ? s.kvTokens() : []);
      s.slot = -1;
    }
    while (this.waiting.length > 0 && this.slots.free > 0 && !this.closed) {
      const next = this.waiting.shift()!;
      const grant = this.slots.acquire(next.promptTokens)!;
      this.begin(next, grant.slot, grant.cached);
    }
  }
}
