// Per-kernel GPU time, for benchmarks: with `profile: true` every dispatch gets its own compute pass
// whose timestamps bracket it (WebGPU has timestamps per pass, not per dispatch). The extra passes
// cost a few microseconds each, so totals are for finding the heavy kernels, not for tok/s figures.
import type { KernelTime } from '../gpu/executor.ts';

const CAPACITY = 2048; // dispatches per command buffer (WebGPU allows 4096 queries); more go untimed

export class DispatchProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;
  private labels: string[] = [];
  private readonly totals = new Map<string, { dispatches: number; ns: bigint }>();

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * CAPACITY });
    this.resolve = device.createBuffer({ size: 16 * CAPACITY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readback = device.createBuffer({ size: 16 * CAPACITY, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** The descriptor of the pass for the next dispatch, labelled `kernel`; undefined when full. */
  passFor(kernel: string): GPUComputePassDescriptor | undefined {
    const i = this.labels.length;
    if (i >= CAPACITY) return undefined;
    this.labels.push(kernel);
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  /** Records the copy of this command buffer's timestamps (call before finishing the encoder). */
  encodeResolve(enc: GPUCommandEncoder): boolean {
    const n = this.labels.length;
    if (n === 0) return false;
    enc.resolveQuerySet(this.querySet, 0, 2 * n, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16 * n);
    return true;
  }

  /** After the command buffer with encodeResolve completed: adds its times to the totals. */
  async collect(): Promise<void> {
    const labels = this.labels;
    this.labels = [];
    if (labels.length === 0) return;
    await this.readback.mapAsync(GPUMapMode.READ, 0, 16 * labels.length);
    const t = new BigUint64Array(this.readback.getMappedRange(0, 16 * labels.length).slice(0));
    this.readback.unmap();
    labels.forEach((k, i) => {
      const e = this.totals.get(k) ?? { dispatches: 0, ns: 0n };
      e.dispatches++;
      e.ns += t[2 * i + 1]! - t[2 * i]!;
      this.totals.set(k, e);
    });
  }

  /** Totals per kernel, the most expensive first. */
  report(): KernelTime[] {
    return [...this.totals]
      .map(([kernel, e]) => ({ kernel, dispatches: e.dispatches, ms: Number(e.ns) / 1e6 }))
      .sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
    this.readback.destroy();
  }
}
