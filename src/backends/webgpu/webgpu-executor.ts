// The WebGPU runtime behind GpuBackend: Dispatch records become compute-pass commands.
//
// Ops are recorded on the host (dispatch-list.ts) and encoded as one compute pass just before the
// submit; nothing is submitted until read() (or a host write that must not overtake earlier ops).
// Each dispatch takes its uniform parameters from a slot of a shared arena and a cached bind group
// that names that slot (pipelines.ts), so the hot path creates no GPU objects. Allocation failures,
// shader errors and device loss arrive asynchronously and are thrown by the next read() or sync().
import { DeviceOutOfMemoryError, RocforgeError } from '../../errors.ts';
import { typeName } from '../../gguf/types.ts';
import type { BufferUsage, DeviceBuffer, Dispatch, KernelExecutor, KernelTime } from '../gpu/executor.ts';
import { formatBytes } from '../gpu/format.ts';
import type { OpenedDevice } from './device.ts';
import { DispatchList } from './dispatch-list.ts';
import { DispatchProfiler } from './dispatch-profiler.ts';
import { PipelineCache, WgpuBuffer } from './pipelines.ts';
import { UniformArena } from './uniform-arena.ts';

export interface WebGpuExecutorOptions {
  /** Whether WGSL fma() is fused on this device (default true); when not, the exact kernels emulate it. */
  readonly fmaFused?: boolean;
  /** Time each compute pass on the GPU (timestamp queries, where the device has them): see lastPassGpuMs. */
  readonly timestamps?: boolean;
  /** Time every dispatch on the GPU, in a pass of its own (timestamp queries): see profileReport(). */
  readonly profile?: boolean;
}

/** Usage flags per kind of buffer (GPUBufferUsage exists only once Dawn's globals are installed). */
function usageFlags(usage: BufferUsage): GPUBufferUsageFlags {
  const base = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  // Tensors are read back through a copy; the rest only ever reach the host through a tensor.
  return usage === 'tensor' ? base | GPUBufferUsage.COPY_SRC : base;
}

const NO_PROBLEM: Promise<string | null> = Promise.resolve(null);

export class WebGpuExecutor implements KernelExecutor {
  readonly api = 'WebGPU';
  readonly description: string;
  readonly software: boolean;
  readonly subgroups: boolean;
  readonly maxBindingBytes: number;
  readonly counters = { dispatches: 0, submits: 0 };
  lastPassGpuMs = Number.NaN;
  lost: string | null = null;

  private readonly device: GPUDevice;
  private readonly arena: UniformArena;
  private readonly pipelines: PipelineCache;
  private readonly live = new Set<WgpuBuffer>();
  private readonly stagingPool: GPUBuffer[] = [];
  private readonly timer: { querySet: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer } | undefined;
  private readonly profiler: DispatchProfiler | undefined;
  private profilePending = false;
  private timedPassPending = false;
  private timerBusy = false;
  private encoder: GPUCommandEncoder | null = null;
  /** Dispatches recorded since the last submit, encoded into one compute pass just before it. */
  private readonly recorded = new DispatchList();
  private deferredDestroy: GPUBuffer[] = [];
  private pendingChecks: Promise<string | null>[] = [];
  private deviceErrors: string[] = [];
  private disposed = false;

  constructor(opened: OpenedDevice, opts: WebGpuExecutorOptions = {}) {
    this.device = opened.device;
    this.description = opened.description;
    this.software = opened.software;
    this.subgroups = opened.subgroups;
    this.maxBindingBytes = Math.min(opened.limits.maxStorageBufferBindingSize, opened.limits.maxBufferSize);
    this.arena = new UniformArena(this.device);
    this.pipelines = new PipelineCache(this.device, {
      subgroups: this.subgroups,
      fmaFused: opts.fmaFused !== false,
      onCheck: (check) => this.pendingChecks.push(check),
    });
    this.device.addEventListener('uncapturederror', (ev) => {
      this.deviceErrors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
    void this.device.lost.then((info) => {
      if (!this.disposed) this.lost = `the WebGPU device was lost (${info.reason}): ${info.message}`;
    });
    if (opts.timestamps && this.device.features.has('timestamp-query')) {
      this.timer = {
        querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 }),
        resolve: this.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
        readback: this.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
      };
    }
    if (opts.profile && this.device.features.has('timestamp-query')) this.profiler = new DispatchProfiler(this.device);
  }

  profileReport(): KernelTime[] {
    return this.profiler?.report() ?? [];
  }

  resetProfile(): void {
    this.profiler?.reset();
  }

  // ---------------------------------------------------------------- buffers

  alloc(bytes: number, label: string, usage: BufferUsage): { buf: DeviceBuffer; check: Promise<string | null> } {
    const padded = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (usage === 'scratch') {
      // Scratch failures surface as uncaptured device errors (thrown by the next read or sync).
      const buf = new WgpuBuffer(this.device.createBuffer({ label, size: padded, usage: usageFlags(usage) }), padded);
      this.live.add(buf);
      return { buf, check: NO_PROBLEM };
    }
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const buffer = this.device.createBuffer({ label, size: padded, usage: usageFlags(usage) });
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    const check = Promise.all([validation, oom]).then(([v, o]) => {
      if (o) return `out of memory allocating ${label} (${formatBytes(padded)}): ${o.message}`;
      if (v) return `allocating ${label} (${formatBytes(padded)}) failed: ${v.message}`;
      return null;
    });
    if (usage !== 'weight') this.pendingChecks.push(check);
    const buf = new WgpuBuffer(buffer, padded);
    this.live.add(buf);
    return { buf, check };
  }

  write(buf: DeviceBuffer, data: Uint8Array, offsetBytes = 0): void {
    const b = buf as WgpuBuffer;
    // A host write lands on the queue at once: submit earlier ops that may use the buffer first, so
    // that they see its old contents. A buffer never bound cannot be used by them.
    if (this.pending && this.pipelines.everBound(b)) this.submit();
    const aligned = data.length & ~3;
    if (aligned > 0) this.device.queue.writeBuffer(b.buffer, offsetBytes, data.buffer, data.byteOffset, aligned);
    if (aligned < data.length) {
      const tail = new Uint8Array(4);
      tail.set(data.subarray(aligned));
      this.device.queue.writeBuffer(b.buffer, offsetBytes + aligned, tail);
    }
  }

  free(buf: DeviceBuffer): void {
    const b = buf as WgpuBuffer;
    if (!this.live.delete(b)) return;
    this.pipelines.forget(b);
    // Commands recorded but not yet submitted may still use it.
    if (this.pending) this.deferredDestroy.push(b.buffer);
    else b.buffer.destroy();
  }

  // ---------------------------------------------------------------- dispatches

  dispatch(d: Dispatch): void {
    if (this.disposed || this.lost) this.checkUsable();
    const slot = this.arena.alloc();
    const chunk = this.arena.chunk(slot);
    const base = UniformArena.byteOffset(slot) >>> 2;
    const { u32, f32 } = chunk;
    const params = d.params;
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      if (typeof p === 'number') u32[base + i] = p;
      else f32[base + i] = p.f;
    }
    const { pipeline, bindGroup } = this.pipelines.binding(slot, chunk, d);
    const g = d.groups;
    this.counters.dispatches++;
    if (this.profiler) {
      // Every dispatch in a pass of its own, bracketed by timestamps.
      const spec = d.kernel;
      this.encoder ??= this.device.createCommandEncoder({ label: 'rocforge pass' });
      const pass = this.encoder.beginComputePass(this.profiler.passFor(d.dequant !== undefined ? `${spec.name} ${typeName(d.dequant)}` : spec.name));
      this.recorded.push(pipeline, bindGroup, g[0], g[1], g[2]);
      this.recorded.encode(pass);
      pass.end();
      return;
    }
    this.recorded.push(pipeline, bindGroup, g[0], g[1], g[2]);
  }

  /** Encodes the dispatches recorded since the last submit as one compute pass. */
  private encodeRecorded(): void {
    if (this.recorded.length === 0) return;
    this.encoder ??= this.device.createCommandEncoder({ label: 'rocforge pass' });
    let pass: GPUComputePassEncoder;
    if (this.timer) {
      pass = this.encoder.beginComputePass({
        timestampWrites: { querySet: this.timer.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
      });
      this.timedPassPending = true;
    } else {
      pass = this.encoder.beginComputePass();
    }
    this.recorded.encode(pass);
    pass.end();
  }

  /** Whether commands were recorded and not yet submitted. */
  private get pending(): boolean {
    return this.encoder !== null || this.recorded.length > 0;
  }

  private submit(): void {
    this.encodeRecorded();
    this.arena.upload(this.device.queue);
    if (this.encoder) {
      if (this.profiler?.encodeResolve(this.encoder)) this.profilePending = true;
      this.device.queue.submit([this.encoder.finish()]);
      this.counters.submits++;
      this.encoder = null;
    }
    for (const b of this.deferredDestroy) b.destroy();
    this.deferredDestroy = [];
  }

  // ---------------------------------------------------------------- host side

  async read(buf: DeviceBuffer, bytes: number): Promise<Uint8Array> {
    const src = buf as WgpuBuffer;
    const staging = this.takeStaging(bytes);
    this.encodeRecorded();
    const enc = this.encoder ?? this.device.createCommandEncoder();
    this.encoder = enc;
    enc.copyBufferToBuffer(src.buffer, 0, staging, 0, bytes);
    const timer = this.timer && this.timedPassPending && !this.timerBusy ? this.timer : undefined;
    if (timer) {
      enc.resolveQuerySet(timer.querySet, 0, 2, timer.resolve, 0);
      enc.copyBufferToBuffer(timer.resolve, 0, timer.readback, 0, 16);
      this.timerBusy = true;
    }
    this.timedPassPending = false;
    this.submit();
    if (timer) {
      await timer.readback.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(timer.readback.getMappedRange().slice(0));
      timer.readback.unmap();
      this.timerBusy = false;
      this.lastPassGpuMs = Number(t[1]! - t[0]!) / 1e6;
    }
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      this.stagingPool.push(staging);
      await this.throwDeviceProblems();
      throw e;
    }
    const result = new Uint8Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    if (this.profilePending) {
      this.profilePending = false;
      await this.profiler!.collect();
    }
    this.stagingPool.push(staging);
    await this.throwDeviceProblems();
    return result;
  }

  flush(): void {
    if (this.pending) this.submit();
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.throwDeviceProblems();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder = null;
    this.recorded.clear();
    for (const b of this.live) b.buffer.destroy();
    this.live.clear();
    for (const b of this.stagingPool) b.destroy();
    this.arena.destroy();
    if (this.timer) {
      this.timer.querySet.destroy();
      this.timer.resolve.destroy();
      this.timer.readback.destroy();
    }
    this.profiler?.destroy();
    this.pipelines.clear();
    this.device.destroy();
  }

  // ---------------------------------------------------------------- internals

  private takeStaging(size: number): GPUBuffer {
    const i = this.stagingPool.findIndex((b) => b.size >= size && b.size <= size * 4 + 4096);
    if (i >= 0) return this.stagingPool.splice(i, 1)[0]!;
    return this.device.createBuffer({ label: 'rocforge readback', size: Math.max(16, Math.ceil(size / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** Surfaces asynchronous allocation failures, shader errors and device loss as exceptions. */
  private async throwDeviceProblems(): Promise<void> {
    const checks = this.pendingChecks;
    this.pendingChecks = [];
    const failures = (await Promise.all(checks)).filter((e): e is string => e !== null);
    const oom = failures.find((f) => f.startsWith('out of memory'));
    if (oom) {
      throw new DeviceOutOfMemoryError(`${oom}. The model, tensors or KV cache do not fit in GPU memory: use a smaller model, quantization or context`);
    }
    const errors = [...failures, ...this.deviceErrors];
    this.deviceErrors = [];
    if (errors.length > 0) throw new RocforgeError(`WebGPU error: ${errors.join('; ')}`);
    if (this.lost) throw new RocforgeError(this.lost);
  }

  private checkUsable(): void {
    if (this.disposed) throw new TypeError('the WebGPU backend was disposed');
    if (this.lost) throw new RocforgeError(this.lost);
  }
}
