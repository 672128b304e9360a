// The HIP runtime behind GpuBackend: Dispatch records are packed into one command list
// (command-list.ts) and handed to the native library in ONE call when a result is needed (read,
// sync) or flush() asks, so a forward pass costs one FFI call instead of one per kernel. A list
// that repeats (a decode step) runs as a captured HIP graph (graph-cache.ts says when).
//
// Nothing waits for the GPU except read() and sync(), and they wait on a worker thread (koffi
// async), so the event loop keeps serving. Buffers are freed only once the work recorded before
// their release has finished (after the next read or sync), since a free must never overtake it.
import { DeviceOutOfMemoryError, KernelLaunchError, RocforgeError } from '../../errors.ts';
import { typeName } from '../../gguf/types.ts';
import type { BufferUsage, DeviceBuffer, Dispatch, KernelExecutor, KernelTime } from '../gpu/executor.ts';
import { formatBytes } from '../gpu/format.ts';
import { CommandList } from './command-list.ts';
import { GraphCache } from './graph-cache.ts';
import { RF, type DeviceInfo, type HipApi, type NativeGraph, type NativeStream } from './native.ts';

export interface HipExecutorOptions {
  /** Reducing kernels use warp operations (default true); false: the shared-memory fallback. */
  readonly subgroups?: boolean;
  /** Capture repeating command lists as graphs and replay them (default true; ROCFORGE_HIP_GRAPHS=0 turns it off). */
  readonly graphs?: boolean;
  /** Most graphs kept (default 8). */
  readonly maxGraphs?: number;
  /** Synchronize after every kernel so that a fault names its kernel (debugging; ROCFORGE_HIP_SYNC=1). Turns graphs off. */
  readonly syncEachKernel?: boolean;
  /** Time every kernel (events around each launch): see profileReport(). Turns graphs off. */
  readonly profile?: boolean;
}

/** Host writes up to this size ride in the command list; larger ones (weights) are uploaded at once. */
const INLINE_WRITE_BYTES = 1 << 20;
/** Ids of buffers whose allocation failed (never valid native handles). */
const FAILED_ID_BASE = 0x80000000;

class HipBuffer implements DeviceBuffer {
  constructor(
    readonly id: number,
    readonly size: number,
    readonly label: string,
    /** False when the allocation failed: the buffer is a placeholder until the error is thrown. */
    readonly valid: boolean,
  ) {}
}

type Graph = NativeGraph;

export class HipExecutor implements KernelExecutor {
  readonly api = 'HIP';
  readonly description: string;
  readonly software = false;
  readonly subgroups: boolean;
  readonly maxBindingBytes: number;
  readonly counters = { dispatches: 0, submits: 0 };
  /** How submitted lists ran (graph-cache.ts's plans), for tests and benchmarks. */
  readonly graphPlans = { eager: 0, capture: 0, replay: 0, update: 0 };
  lastPassGpuMs = Number.NaN;
  lost: string | null = null;

  private readonly kernelIndex = new Map<string, number>();
  private readonly list = new CommandList();
  private readonly graphs: GraphCache<Graph> | undefined;
  private readonly live = new Map<number, HipBuffer>();
  /** Handles released since the last wait; freed once the work before them is known done. */
  private pendingFree: number[] = [];
  private pendingGraphDestroy: Graph[] = [];
  /** Failures to throw from the next read() or sync() (allocation failures, flush errors). */
  private deferred: Error[] = [];
  private failedIds = FAILED_ID_BASE;
  private readonly profile = new Map<string, { dispatches: number; ms: number }>();
  private profileLabels: string[] = [];
  private disposed = false;
  /** Why graphs were turned off after a failure, if they were. */
  graphsOff: string | undefined;

  constructor(
    private readonly lib: HipApi,
    private readonly stream: NativeStream,
    readonly device: DeviceInfo,
    private readonly opts: HipExecutorOptions = {},
  ) {
    this.subgroups = opts.subgroups ?? true;
    // Kernels index their bindings with 32-bit arithmetic as the WGSL twins do: weights larger
    // than this are split by rows (GpuBackend) as on WebGPU.
    this.maxBindingBytes = Math.min(device.totalBytes, 2 ** 31 - 4);
    this.description =
      `HIP ${device.name} (${device.arch}, ${device.platform}, ${device.multiprocessors} CUs/SMs, warp ${device.warpSize}, ` +
      `${formatBytes(device.totalBytes)}), library ${lib.buildInfo}${this.subgroups ? ', warp reductions' : ', shared-memory reductions'}`;
    lib.kernelNames.forEach((name, i) => this.kernelIndex.set(name, i));
    const debugSync = opts.syncEachKernel ?? false;
    if (debugSync) this.check(lib.setDebugSync(stream, true), 'turning on per-kernel synchronization');
    if (opts.profile) this.check(lib.setProfile(stream, true), 'turning on profiling');
    if ((opts.graphs ?? true) && !debugSync && !opts.profile) this.graphs = new GraphCache<Graph>(opts.maxGraphs ?? 8);
  }

  /** Graphs held now (for tests and benchmarks). */
  get graphCount(): number {
    return this.graphs?.size ?? 0;
  }

  profileReport(): KernelTime[] {
    return [...this.profile].map(([kernel, t]) => ({ kernel, dispatches: t.dispatches, ms: t.ms })).sort((a, b) => b.ms - a.ms);
  }

  resetProfile(): void {
    this.profile.clear();
  }

  // ---------------------------------------------------------------- buffers

  alloc(bytes: number, label: string, usage: BufferUsage): { buf: DeviceBuffer; check: Promise<string | null> } {
    this.checkUsable();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    let r = this.lib.alloc(size);
    if (r.rc === RF.ERR_OOM && this.pendingFree.length > 0) {
      // Memory released but not yet freed: wait for the GPU, free it, try again.
      this.flushOrDefer();
      if (this.lib.streamSync(this.stream) === RF.OK) this.releasePending(this.pendingFree.splice(0), this.pendingGraphDestroy.splice(0));
      r = this.lib.alloc(size);
    }
    if (r.rc !== RF.OK) {
      const why = this.lib.lastError();
      const message = r.rc === RF.ERR_OOM ? `out of memory allocating ${label} (${formatBytes(size)}): ${why}` : `allocating ${label} (${formatBytes(size)}) failed: ${why}`;
      if (r.rc === RF.ERR_DEVICE) this.lost = `the HIP device failed: ${why}`;
      // The caller of a weight allocation checks; others fail the next read or sync.
      if (usage !== 'weight') this.deferred.push(r.rc === RF.ERR_OOM ? this.oomError(message) : new RocforgeError(message));
      const buf = new HipBuffer(this.failedIds++, size, label, false);
      return { buf, check: Promise.resolve(message) };
    }
    const buf = new HipBuffer(r.handle, size, label, true);
    this.live.set(buf.id, buf);
    // WebGPU hands out zeroed buffers and the kernels may read padding (KV cells past a sequence's
    // end); weights are written at once, so only they skip the memset.
    if (usage !== 'weight') this.check(this.lib.memset(this.stream, buf.id, 0, 0, size), `zeroing ${label}`);
    return { buf, check: Promise.resolve(null) };
  }

  write(buf: DeviceBuffer, data: Uint8Array, offsetBytes = 0): void {
    this.checkUsable();
    const b = buf as HipBuffer;
    if (!b.valid) return; // its allocation error is thrown by the next read or sync
    if (offsetBytes + data.length > b.size) {
      throw new RangeError(`write of ${data.length} bytes at ${offsetBytes} past the end of ${b.label} (${b.size} bytes)`);
    }
    if (data.length === 0) return;
    if (data.length <= INLINE_WRITE_BYTES) {
      this.list.write(b.id, offsetBytes, data);
      return;
    }
    // Large (weights): run what was recorded before it, then copy directly (waits for the copy).
    this.flushOrThrow();
    this.check(this.lib.upload(this.stream, b.id, offsetBytes, data), `uploading ${b.label}`);
  }

  free(buf: DeviceBuffer): void {
    const b = buf as HipBuffer;
    if (!b.valid || !this.live.delete(b.id)) return;
    this.pendingFree.push(b.id);
    if (this.graphs) this.pendingGraphDestroy.push(...this.graphs.forgetBuffer(b.id));
  }

  // ---------------------------------------------------------------- dispatches

  dispatch(d: Dispatch): void {
    if (this.disposed || this.lost) this.checkUsable();
    const spec = d.kernel;
    const kernel = this.kernelIndex.get(spec.name);
    if (kernel === undefined) {
      throw new KernelLaunchError(
        spec.name,
        `the HIP library (${this.lib.path}) has no kernel ${spec.name}: it was built from other sources; rebuild it (npm run build:hip)`,
      );
    }
    // An empty grid runs nothing, as an empty WebGPU dispatch.
    if (d.groups[0] === 0 || d.groups[1] === 0 || d.groups[2] === 0) return;
    const buffers = d.buffers.map((b) => (b as HipBuffer).id);
    this.list.launch({
      kernel,
      groups: d.groups,
      wg: spec.wg ?? 0,
      dequant: d.dequant ?? 0,
      variant: d.variant,
      reduce: spec.reduce && this.subgroups ? 1 : 0,
      params: d.params,
      buffers,
    });
    if (this.opts.profile) this.profileLabels.push(d.dequant !== undefined ? `${spec.name} ${typeName(d.dequant)}` : spec.name);
    this.counters.dispatches++;
  }

  // ---------------------------------------------------------------- host side

  async read(buf: DeviceBuffer, bytes: number): Promise<Uint8Array> {
    this.checkUsable();
    const b = buf as HipBuffer;
    this.throwDeferred();
    if (!b.valid) throw new RocforgeError(`read of ${b.label}, whose allocation failed`);
    if (bytes > b.size) throw new RangeError(`read of ${bytes} bytes from ${b.label} (${b.size} bytes)`);
    this.flushOrThrow();
    const frees = this.pendingFree.splice(0);
    const graphs = this.pendingGraphDestroy.splice(0);
    const begin = this.lib.readBegin(this.stream, b.id, 0, bytes);
    this.check(begin.rc, `reading ${b.label}`);
    const waited = await this.lib.readWaitAsync(begin.ticket);
    const waitError = waited === RF.OK ? undefined : this.lib.lastError();
    const out = new Uint8Array(bytes);
    const taken = this.lib.readTake(begin.ticket, waited === RF.OK ? out : null);
    if (waitError !== undefined) this.fail(waited, waitError, `reading ${b.label}`);
    this.check(taken, `reading ${b.label}`);
    this.releasePending(frees, graphs);
    if (this.opts.profile) this.collectProfile();
    return out;
  }

  flush(): void {
    this.flushOrDefer();
  }

  async sync(): Promise<void> {
    this.checkUsable();
    this.throwDeferred();
    this.flushOrThrow();
    const frees = this.pendingFree.splice(0);
    const graphs = this.pendingGraphDestroy.splice(0);
    const rc = await this.lib.streamSyncAsync(this.stream);
    this.check(rc, 'waiting for the GPU');
    this.releasePending(frees, graphs);
    if (this.opts.profile) this.collectProfile();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.list.clear();
    // Synchronous: the interface's dispose returns nothing, and freeing must wait for the GPU.
    this.lib.streamSync(this.stream);
    const graphs = [...this.pendingGraphDestroy, ...(this.graphs?.clear() ?? [])];
    this.releasePending([...this.pendingFree, ...this.live.keys()], graphs);
    this.pendingFree = [];
    this.pendingGraphDestroy = [];
    this.live.clear();
    this.lib.streamDestroy(this.stream);
  }

  // ---------------------------------------------------------------- internals

  /** Submits the recorded list (eagerly or through a graph); throws what went wrong. */
  private flushOrThrow(): void {
    if (this.list.empty) return;
    const words = this.list.words;
    const data = this.list.data;
    try {
      this.counters.submits++;
      if (!this.graphs || this.graphsOff !== undefined) {
        this.check(this.lib.submit(this.stream, words, data), 'submitting a command list');
        return;
      }
      if (!this.runThroughGraph(words, data)) this.check(this.lib.submit(this.stream, words, data), 'submitting a command list');
      this.graphs.ran(words);
    } finally {
      this.list.clear();
    }
  }

  /** Runs the list through a graph when the cache says so; false: run it eagerly instead. */
  private runThroughGraph(words: Uint32Array, data: Uint32Array): boolean {
    const graphs = this.graphs!;
    const plan = graphs.plan(words);
    this.graphPlans[plan.kind]++;
    if (plan.kind === 'eager') return false;
    let rc: number;
    if (plan.kind === 'replay') {
      rc = this.lib.graphLaunch(plan.entry.graph, this.stream, data);
      if (rc === RF.OK) graphs.used(plan.entry);
    } else if (plan.kind === 'update') {
      rc = this.lib.graphUpdate(plan.entry.graph, this.stream, words, data);
      if (rc === RF.OK) graphs.updated(plan.entry, words);
    } else {
      const r = this.lib.graphCapture(this.stream, words, data);
      rc = r.rc;
      if (rc === RF.OK) this.pendingGraphDestroy.push(...graphs.add(r.graph!, words));
    }
    if (rc === RF.OK) return true;
    const why = this.lib.lastError();
    if (plan.kind !== 'capture') this.pendingGraphDestroy.push(graphs.remove(plan.entry));
    // A kernel that cannot launch fails the same way eagerly: report it (nothing ran).
    if (rc === RF.ERR_LAUNCH || rc === RF.ERR_OOM || rc === RF.ERR_NO_KERNEL_IMAGE) this.fail(rc, why, 'running a command list as a graph');
    // Otherwise the runtime refused the graph itself (nothing ran): graphs off for this executor,
    // this list and the following ones eagerly (a broken device fails those too, and says so).
    this.graphsOff = `graphs turned off after: ${why}`;
    this.pendingGraphDestroy.push(...graphs.clear());
    return false;
  }

  private flushOrDefer(): void {
    try {
      this.flushOrThrow();
    } catch (e) {
      this.deferred.push(e as Error);
    }
  }

  private releasePending(handles: number[], graphs: Graph[]): void {
    for (const g of graphs) this.lib.graphDestroy(g);
    for (const h of handles) this.lib.free(h);
  }

  private collectProfile(): void {
    const labels = this.profileLabels;
    this.profileLabels = [];
    const r = this.lib.profileTake(this.stream, Math.max(labels.length, 1));
    this.check(r.rc, 'collecting the profile');
    let total = 0;
    r.pairs.forEach(([, us], i) => {
      const label = labels[i] ?? 'unknown';
      const t = this.profile.get(label) ?? { dispatches: 0, ms: 0 };
      t.dispatches++;
      t.ms += us / 1000;
      total += us / 1000;
      this.profile.set(label, t);
    });
    if (r.pairs.length > 0) this.lastPassGpuMs = total;
  }

  private throwDeferred(): void {
    if (this.deferred.length === 0) return;
    const errors = this.deferred;
    this.deferred = [];
    // Work recorded against a failed allocation must not run.
    this.list.clear();
    this.profileLabels = [];
    throw errors.find((e) => e instanceof DeviceOutOfMemoryError) ?? errors[0]!;
  }

  private oomError(message: string): DeviceOutOfMemoryError {
    return new DeviceOutOfMemoryError(`${message}. The model, tensors or KV cache do not fit in GPU memory: use a smaller model, quantization or context`);
  }

  /** Throws the typed error for a failed call (rc != RF_OK). */
  private check(rc: number, what: string): void {
    if (rc !== RF.OK) this.fail(rc, this.lib.lastError(), what);
  }

  private fail(rc: number, why: string, what: string): never {
    if (this.opts.profile) {
      // Drop the timings of the launches that did run, so that the next report lines up.
      this.profileLabels = [];
      this.lib.profileTake(this.stream, 0);
    }
    if (rc === RF.ERR_OOM) throw this.oomError(`${what}: ${why}`);
    if (rc === RF.ERR_LAUNCH || rc === RF.ERR_NO_KERNEL_IMAGE) {
      const kernel = /^kernel (\S+)/.exec(why)?.[1] ?? 'unknown';
      throw new KernelLaunchError(kernel, `HIP ${why}`);
    }
    if (rc === RF.ERR_DEVICE) {
      // Faults while running (illegal address...) leave the device unusable for this process.
      this.lost = `the HIP device failed (${what}): ${why}. Restart the process; ROCFORGE_HIP_SYNC=1 names the failing kernel`;
      throw new RocforgeError(this.lost);
    }
    throw new RocforgeError(`HIP: ${what} failed: ${why}`);
  }

  private checkUsable(): void {
    if (this.disposed) throw new TypeError('the HIP backend was disposed');
    if (this.lost) throw new RocforgeError(this.lost);
  }
}
