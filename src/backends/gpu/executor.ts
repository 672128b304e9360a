// The interface a GPU runtime implements for GpuBackend (gpu-backend.ts). The backend plans every
// op (which kernel, which parameters, buffers and grid: ops/*.ts) and hands the runtime Dispatch
// records; the WebGPU executor (../webgpu/) and the native HIP one run the same kernels (named by
// their shader file stem, kernels.ts) with the same records, so both compute the same thing.
import type { GgmlType } from '../../gguf/types.ts';
import type { KernelSpec } from './kernels.ts';

/** A kernel parameter word: a plain number is a u32, { f } an f32. */
export type Param = number | { readonly f: number };

/** A device buffer, opaque to the planner; each executor hands out its own. */
export interface DeviceBuffer {
  /** Unique per executor for the buffer's lifetime (caches are keyed by it). */
  readonly id: number;
  /** Bytes, a multiple of 4 (allocations are rounded up). */
  readonly size: number;
}

/** What a buffer holds: picks its usage flags; 'weight' allocations are checked by their caller. */
export type BufferUsage = 'weight' | 'tensor' | 'index' | 'kv' | 'scratch';

/** One kernel launch, fully decided by the planner. */
export interface Dispatch {
  /** The kernel (kernels.ts: its name is the WGSL and HIP file stem). */
  readonly kernel: KernelSpec;
  /** Weight type of the per-type (dequant) variant; undefined for kernels without one. */
  readonly dequant: GgmlType | undefined;
  /** The kernel's Params struct, field by field (32-bit words). */
  readonly params: readonly Param[];
  /** Bindings 1..n in the kernel's order (binding 0 is the params). */
  readonly buffers: readonly DeviceBuffer[];
  /** Workgroups (thread blocks) in x, y, z; each at most MAX_GROUPS. */
  readonly groups: readonly [number, number, number];
  /** Value of the kernel's variant override (kernel.variant: NX, LONG), 0 for none. */
  readonly variant: number;
}

/** GPU time spent in one kernel variant (name and weight type) since profiling started. */
export interface KernelTime {
  readonly kernel: string;
  readonly dispatches: number;
  readonly ms: number;
}

export interface KernelExecutor {
  /** The runtime's name for messages ('WebGPU', 'HIP'). */
  readonly api: string;
  /** Adapter / device in words. */
  readonly description: string;
  /** A CPU implementation (lavapipe): per-workgroup work costs more than dispatches. */
  readonly software: boolean;
  /** Whether reducing kernels use subgroup (warp) operations. */
  readonly subgroups: boolean;
  /** Largest buffer one binding may be, in bytes (HIP: the device memory). */
  readonly maxBindingBytes: number;
  /** Dispatches recorded and command batches submitted since creation (for benchmarks). */
  readonly counters: { dispatches: number; submits: number };
  /** GPU time of the last timed batch read back (ms), where the executor times them; NaN otherwise. */
  readonly lastPassGpuMs: number;
  /** Why the device can no longer run work (lost), or null. */
  readonly lost: string | null;

  /**
   * A new buffer of at least `bytes` (rounded up to 4; contents unspecified until written: WebGPU
   * zeroes them, HIP need not). `check` resolves to null or
   * to why the allocation failed (a message starting 'out of memory' when memory ran out); failures
   * of all but 'weight' allocations are also thrown by the next read() or sync().
   */
  alloc(bytes: number, label: string, usage: BufferUsage): { buf: DeviceBuffer; check: Promise<string | null> };
  /** Copies host bytes into the buffer at offsetBytes (default 0), after every dispatch recorded before it. */
  write(buf: DeviceBuffer, data: Uint8Array, offsetBytes?: number): void;
  /** Records one kernel launch (runs lazily, in order). */
  dispatch(d: Dispatch): void;
  /** Runs everything recorded, then returns the buffer's first `bytes`; throws device errors (OOM, lost). */
  read(buf: DeviceBuffer, bytes: number): Promise<Uint8Array>;
  /** Starts everything recorded without waiting (for benchmarks). */
  flush(): void;
  /** Resolves when everything recorded has run; throws device errors. */
  sync(): Promise<void>;
  /** Releases the buffer once work already recorded is done with it. */
  free(buf: DeviceBuffer): void;
  /** GPU time per kernel since creation or resetProfile(), where profiling is on (else empty). */
  profileReport(): KernelTime[];
  resetProfile(): void;
  /** Frees every buffer and the device; the executor is unusable afterwards. */
  dispose(): void;
}

/** Most workgroups per grid dimension (WebGPU's guaranteed maxComputeWorkgroupsPerDimension). */
export const MAX_GROUPS = 65535;
