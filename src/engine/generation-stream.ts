// The consumer side of one generation: an async iterable of chunks (single consumer) plus the final
// result. Breaking out of the for-await loop or calling cancel() ends the sequence at once.
import type { GenerateResult, StreamChunk } from './types.ts';

type Outcome = { ok: true; result: GenerateResult } | { ok: false; error: unknown };

export function abortError(message = 'generation was cancelled'): DOMException {
  return new DOMException(message, 'AbortError');
}

export class GenerationStream implements AsyncIterable<StreamChunk> {
  private readonly chunks: StreamChunk[] = [];
  private outcome: Outcome | undefined;
  private wakeConsumer: (() => void) | undefined;
  private readonly resultWaiters: Array<(o: Outcome) => void> = [];
  private iterated = false;

  constructor(private readonly onCancel: (reason: unknown) => void) {}

  // ---- producer side (the scheduler) ----

  push(chunk: StreamChunk): void {
    if (this.outcome) return;
    this.chunks.push(chunk);
    this.wake();
  }

  end(result: GenerateResult): void {
    this.settle({ ok: true, result });
  }

  fail(error: unknown): void {
    this.settle({ ok: false, error });
  }

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  // ---- consumer side ----

  /** Stops the generation and frees its KV slot; result() then rejects with `reason` (an AbortError by default). */
  cancel(reason: unknown = abortError()): void {
    if (!this.outcome) this.onCancel(reason);
  }

  /** The final result, once generation ends (chunks need not be consumed). */
  result(): Promise<GenerateResult> {
    return new Promise<GenerateResult>((resolve, reject) => {
      const deliver = (o: Outcome): void => (o.ok ? resolve(o.result) : reject(o.error));
      if (this.outcome) deliver(this.outcome);
      else this.resultWaiters.push(deliver);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamChunk> {
    if (this.iterated) throw new TypeError('a generation stream can be iterated only once');
    this.iterated = true;
    return {
      next: async (): Promise<IteratorResult<StreamChunk>> => {
        for (;;) {
          const c = this.chunks.shift();
          if (c) return { value: c, done: false };
          if (this.outcome) {
            if (this.outcome.ok) return { value: undefined, done: true };
            throw this.outcome.error;
          }
          await new Promise<void>((r) => (this.wakeConsumer = r));
        }
      },
      return: async (): Promise<IteratorResult<StreamChunk>> => {
        this.cancel();
        this.chunks.length = 0;
        return { value: undefined, done: true };
      },
    };
  }

  private settle(o: Outcome): void {
    if (this.outcome) return;
    this.outcome = o;
    for (const w of this.resultWaiters.splice(0)) w(o);
    this.wake();
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }
}
