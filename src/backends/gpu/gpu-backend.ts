// A Backend on top of a KernelExecutor: the GPU resources (weights in their GGUF bytes, split by
// rows over several buffers when larger than one binding; f32 tensors; int32 indices; f16 KV cache),
// their validation and memory accounting, and the ops, each planned in ops/*.ts into Dispatch
// records. Everything that decides which kernel runs with which parameters and grid lives here, so
// the WebGPU and HIP runtimes run the same kernels the same way.
import { DeviceOutOfMemoryError, RocforgeError } from '../../errors.ts';
import { GgmlType, TYPE_LAYOUT, typeName } from '../../gguf/types.ts';
import { dequantizeTensor, UnsupportedTensorTypeError } from '../../quant/registry.ts';
import type { AttentionParams, Backend, BackendName, DeviceResource, IndexTensor, KvCache, KvCacheSpec, RopeParams, Tensor, Weight } from '../backend.ts';
import type { DeviceBuffer, KernelExecutor, KernelTime } from './executor.ts';
import { formatBytes } from './format.ts';
import { GPU_WEIGHT_TYPES } from './kernels.ts';
import { attention } from './ops/attention.ts';
import { OpContext } from './ops/context.ts';
import { add, geglu, rmsNorm, scale, softcap, swiglu } from './ops/elementwise.ts';
import { storeKv } from './ops/kv-store.ts';
import { matmul } from './ops/matmul.ts';
import { rope } from './ops/rope.ts';
import { gatherRows, getRows } from './ops/rows.ts';
import { asIndex, asKv, asTensor, asWeight, GpuIndex, GpuKvCache, GpuTensor, GpuWeight, type GpuResource, type WeightPart } from './resources.ts';

export interface GpuBackendOptions {
  /** Split weights into buffers of at most this many bytes; default and cap: the executor's maxBindingBytes (tests force it small). */
  readonly maxBindingBytes?: number;
  /** Refuse allocations that would take live resources above this many bytes (DeviceOutOfMemoryError), as a device of that size would. */
  readonly memoryBudgetBytes?: number;
  /**
   * One-row matmuls round x inside the matvec (matvec_xr) instead of a separate act_round
   * dispatch. Default off: on the H100 a 1B Q4_0 decoded at 83 tok/s with the separate pass and
   * 62 tok/s fused (every workgroup repeats the rounding), and on lavapipe the same holds.
   */
  readonly fuseDecodeRounding?: boolean;
  /**
   * Replay llama.cpp's CPU arithmetic bit for bit where a kernel exists for it (default true):
   * float-weight matmuls and attention; false keeps the faster f32 kernels.
   */
  readonly exact?: boolean;
  /**
   * How the exact quantized matmuls spread their work (same results either way): 'parallel' (GPUs)
   * runs eight invocations per output (matvec_q8_exact_lanes, matvec_q8k_exact_lanes) and tiles
   * batches of 8+ rows of legacy types (matmul_q8_exact); 'serial' runs one invocation per output
   * (matvec_q8_exact, matvec_q8k_exact). Default: 'parallel', except on software devices
   * (lavapipe), where 'serial' is faster (the synth-qwen2-256-Q8_0 oracle: 7.8-9.6 s against 14.1 s).
   */
  readonly exactKernels?: 'serial' | 'parallel';
}

export class GpuBackend implements Backend {
  readonly deviceDescription: string;
  /** Bytes per binding above which weights are split. */
  readonly maxBindingBytes: number;
  /** The device's largest binding: the bound for tensors and KV-cache layers. */
  readonly deviceBindingBytes: number;
  readonly subgroups: boolean;
  readonly fuseDecodeRounding: boolean;
  readonly exact: boolean;
  readonly exactKernels: 'serial' | 'parallel';

  private readonly ops: OpContext;
  private readonly live = new Set<GpuResource>();
  private liveBytes = 0;
  private disposed = false;

  constructor(
    readonly name: BackendName,
    protected readonly executor: KernelExecutor,
    private readonly opts: GpuBackendOptions = {},
  ) {
    this.deviceDescription = executor.description;
    this.subgroups = executor.subgroups;
    this.fuseDecodeRounding = opts.fuseDecodeRounding ?? false;
    this.exact = opts.exact ?? true;
    this.exactKernels = opts.exactKernels ?? (executor.software ? 'serial' : 'parallel');
    const deviceMax = executor.maxBindingBytes;
    // Arithmetic, not `& ~3`: binding sizes reach 2^31 and beyond, past int32 bitwise operations.
    this.deviceBindingBytes = alignDown4(deviceMax);
    this.maxBindingBytes = alignDown4(Math.min(deviceMax, opts.maxBindingBytes ?? deviceMax));
    if (this.maxBindingBytes < 1024) throw new RangeError(`maxBindingBytes must be at least 1024, got ${opts.maxBindingBytes}`);
    this.ops = new OpContext(executor, { exact: this.exact, exactKernels: this.exactKernels, fuseDecodeRounding: this.fuseDecodeRounding });
  }

  /** Dispatches recorded and command batches submitted since creation (for benchmarks). */
  get counters(): { readonly dispatches: number; readonly submits: number } {
    return this.executor.counters;
  }

  /** GPU time of the last timed pass read back (ms), where the executor times passes; NaN until then. */
  get lastPassGpuMs(): number {
    return this.executor.lastPassGpuMs;
  }

  /** GPU time per kernel since creation or resetProfile(), where profiling is on (else empty). */
  profileReport(): KernelTime[] {
    return this.executor.profileReport();
  }

  resetProfile(): void {
    this.executor.resetProfile();
  }

  // ---------------------------------------------------------------- resources

  async uploadWeight(name: string, type: GgmlType, rows: number, cols: number, data: Uint8Array): Promise<Weight> {
    this.checkUsable();
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
      throw new RangeError(`weight ${name}: shape must be positive integers, got ${rows}x${cols}`);
    }
    const layout = TYPE_LAYOUT[type];
    if (!layout || !GPU_WEIGHT_TYPES.has(type)) throw new UnsupportedTensorTypeError(type);
    if (cols % layout.blockSize !== 0) {
      throw new RangeError(`weight ${name}: ${cols} columns is not a multiple of ${typeName(type)}'s block of ${layout.blockSize}`);
    }
    let rowBytes = (cols / layout.blockSize) * layout.typeSize;
    if (data.length < rowBytes * rows) {
      throw new RangeError(`weight ${name}: ${data.length} bytes given, ${rows}x${cols} ${typeName(type)} needs ${rowBytes * rows}`);
    }
    // Vectors (norm weights, biases) are read element-wise by several kernels: hold them as f32.
    let storedType = type;
    let bytes = data.subarray(0, rowBytes * rows);
    if (rows === 1 && type !== GgmlType.F32) {
      const f = dequantizeTensor(type, bytes, cols);
      bytes = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
      storedType = GgmlType.F32;
      rowBytes = cols * 4;
    }
    const rowsPerPart = Math.floor(this.maxBindingBytes / rowBytes);
    if (rowsPerPart === 0) {
      throw new DeviceOutOfMemoryError(
        `weight ${name}: one row is ${formatBytes(rowBytes)}, more than the device's largest binding (${formatBytes(this.maxBindingBytes)})`,
      );
    }
    const total = Math.ceil((rows * rowBytes) / 4) * 4;
    this.checkBudget(total, `weight ${name} (${formatBytes(total)})`);
    const parts: WeightPart[] = [];
    const checks: Promise<string | null>[] = [];
    for (let lo = 0; lo < rows; lo += rowsPerPart) {
      const n = Math.min(rowsPerPart, rows - lo);
      const { buf, check } = this.executor.alloc(n * rowBytes, `${name}[${lo}..${lo + n})`, 'weight');
      checks.push(check);
      parts.push({ buf, rowLo: lo, rows: n });
      this.executor.write(buf, bytes.subarray(lo * rowBytes, (lo + n) * rowBytes));
    }
    const failures = (await Promise.all(checks)).filter((e): e is string => e !== null);
    if (failures.length > 0) {
      for (const p of parts) this.executor.free(p.buf);
      throw new DeviceOutOfMemoryError(
        `weight ${name} (${formatBytes(total)}) does not fit in GPU memory with ${formatBytes(this.liveBytes)} already in use (${failures[0]}): ` +
          'use a smaller model or quantization, a shorter context, or --backend cpu',
      );
    }
    return this.track(new GpuWeight(name, type, rows, cols, storedType, rowBytes, parts));
  }

  createTensor(rows: number, cols: number): Tensor {
    this.checkUsable();
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
      throw new RangeError(`tensor shape must be positive integers, got ${rows}x${cols}`);
    }
    const size = rows * cols * 4;
    if (size > this.deviceBindingBytes) {
      throw new DeviceOutOfMemoryError(
        `a ${rows}x${cols} f32 tensor (${formatBytes(size)}) is larger than the device's largest binding (${formatBytes(this.deviceBindingBytes)}): process fewer rows at a time`,
      );
    }
    this.checkBudget(size, `a ${rows}x${cols} tensor`);
    return this.track(new GpuTensor(rows, cols, this.executor.alloc(size, `tensor ${rows}x${cols}`, 'tensor').buf));
  }

  createIndex(length: number): IndexTensor {
    this.checkUsable();
    if (!Number.isInteger(length) || length <= 0) throw new RangeError(`index length must be a positive integer, got ${length}`);
    const size = length * 4;
    this.checkBudget(size, `an index of ${length}`);
    return this.track(new GpuIndex(length, this.executor.alloc(size, `index ${length}`, 'index').buf));
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    this.checkUsable();
    for (const key of ['nLayers', 'nSlots', 'contextLength', 'kvDim'] as const) {
      if (!Number.isInteger(spec[key]) || spec[key] <= 0) throw new RangeError(`KV cache ${key} must be a positive integer, got ${spec[key]}`);
    }
    if (spec.kvDim % 2 !== 0) throw new RangeError(`KV cache kvDim must be even (f16 pairs), got ${spec.kvDim}`);
    const perLayer = spec.nSlots * spec.contextLength * spec.kvDim * 2;
    if (perLayer > this.deviceBindingBytes) {
      throw new DeviceOutOfMemoryError(
        `one layer of the KV cache (${spec.nSlots} slots x ${spec.contextLength} positions x ${spec.kvDim} f16 = ${formatBytes(perLayer)}) ` +
          `is larger than the device's largest binding (${formatBytes(this.deviceBindingBytes)}): use a shorter context or fewer slots`,
      );
    }
    this.checkBudget(perLayer * 2 * spec.nLayers, `a KV cache of ${formatBytes(perLayer * 2 * spec.nLayers)}`);
    const k: DeviceBuffer[] = [];
    const v: DeviceBuffer[] = [];
    for (let l = 0; l < spec.nLayers; l++) {
      for (const [list, what] of [[k, 'k'], [v, 'v']] as const) list.push(this.executor.alloc(perLayer, `kv ${what}${l}`, 'kv').buf);
    }
    return this.track(new GpuKvCache(spec, k, v));
  }

  writeTensor(t: Tensor, data: Float32Array): void {
    const x = this.tensor(t);
    if (data.length !== x.rows * x.cols) throw new RangeError(`writeTensor: ${data.length} values for a ${x.rows}x${x.cols} tensor`);
    this.ops.copies.invalidate(x.buf);
    this.executor.write(x.buf, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  writeIndex(t: IndexTensor, data: Int32Array): void {
    const x = this.index(t);
    if (data.length !== x.length) throw new RangeError(`writeIndex: ${data.length} values for an index of ${x.length}`);
    x.host.set(data);
    this.executor.write(x.buf, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  // ---------------------------------------------------------------- ops (planned in ops/)

  describeBatch(rowsOfSequence: Int32Array): void {
    this.ops.batchLayout = rowsOfSequence.slice();
  }

  getRows(table: Weight, ids: IndexTensor, out: Tensor): void {
    getRows(this.ops, this.weight(table), this.index(ids), this.tensor(out));
  }

  rmsNorm(x: Tensor, weight: Weight, eps: number, out: Tensor): void {
    rmsNorm(this.ops, this.tensor(x), this.weight(weight), eps, this.tensor(out));
  }

  matmul(w: Weight, x: Tensor, out: Tensor, bias?: Weight): void {
    matmul(this.ops, this.weight(w), this.tensor(x), this.tensor(out), bias && this.weight(bias));
  }

  rope(q: Tensor, k: Tensor, positions: IndexTensor, p: RopeParams): void {
    rope(this.ops, this.tensor(q), this.tensor(k), this.index(positions), p);
  }

  storeKv(cache: KvCache, layer: number, k: Tensor, v: Tensor, slots: IndexTensor, positions: IndexTensor): void {
    storeKv(this.ops, this.kv(cache), layer, this.tensor(k), this.tensor(v), this.index(slots), this.index(positions));
  }

  attention(q: Tensor, cache: KvCache, layer: number, slots: IndexTensor, positions: IndexTensor, p: AttentionParams, out: Tensor): void {
    attention(this.ops, this.tensor(q), this.kv(cache), layer, this.index(slots), this.index(positions), p, this.tensor(out));
  }

  swiglu(gate: Tensor, up: Tensor, out: Tensor): void {
    swiglu(this.ops, this.tensor(gate), this.tensor(up), this.tensor(out));
  }

  geglu(gate: Tensor, up: Tensor, out: Tensor): void {
    geglu(this.ops, this.tensor(gate), this.tensor(up), this.tensor(out));
  }

  scale(x: Tensor, s: number, out: Tensor): void {
    scale(this.ops, this.tensor(x), s, this.tensor(out));
  }

  softcap(x: Tensor, cap: number, out: Tensor): void {
    softcap(this.ops, this.tensor(x), cap, this.tensor(out));
  }

  add(a: Tensor, b: Tensor, out: Tensor): void {
    add(this.ops, this.tensor(a), this.tensor(b), this.tensor(out));
  }

  gatherRows(x: Tensor, rows: IndexTensor, out: Tensor): void {
    gatherRows(this.ops, this.tensor(x), this.index(rows), this.tensor(out));
  }

  // ---------------------------------------------------------------- host side

  async read(t: Tensor): Promise<Float32Array> {
    const x = this.tensor(t);
    const bytes = await this.executor.read(x.buf, x.rows * x.cols * 4);
    return new Float32Array(bytes.buffer, bytes.byteOffset, x.rows * x.cols);
  }

  /** Resolves when the device has finished all recorded work; throws device errors. */
  sync(): Promise<void> {
    return this.executor.sync();
  }

  /** Submits everything recorded so far without reading anything back (for benchmarks). */
  flush(): void {
    this.executor.flush();
  }

  release(r: DeviceResource): void {
    const res = r as GpuResource;
    if (!this.live.delete(res)) return;
    this.liveBytes -= res.bytes;
    for (const b of res.buffers) {
      this.ops.copies.release(b);
      this.executor.free(b);
    }
  }

  memoryInUse(): number {
    return this.liveBytes;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.live.clear();
    this.liveBytes = 0;
    this.executor.dispose();
  }

  // ---------------------------------------------------------------- internals

  private checkBudget(bytes: number, what: string): void {
    const budget = this.opts.memoryBudgetBytes;
    if (budget !== undefined && this.liveBytes + bytes > budget) {
      throw new DeviceOutOfMemoryError(
        `${what} does not fit: ${formatBytes(this.liveBytes)} of the ${formatBytes(budget)} device memory budget is in use. ` +
          'Release other models or use a smaller model, quantization or context',
      );
    }
  }

  private checkUsable(): void {
    if (this.disposed) throw new TypeError(`the ${this.executor.api} backend was disposed`);
    if (this.executor.lost) throw new RocforgeError(this.executor.lost);
  }

  private track<T extends GpuResource>(r: T): T {
    this.live.add(r);
    this.liveBytes += r.bytes;
    return r;
  }

  private alive<T extends GpuResource>(r: T): T {
    if (!this.live.has(r)) throw new TypeError(`a ${r.kind} was used after it was released (or after the backend was disposed)`);
    return r;
  }

  private weight(w: Weight): GpuWeight {
    return this.alive(asWeight(w));
  }
  private tensor(t: Tensor): GpuTensor {
    return this.alive(asTensor(t));
  }
  private index(t: IndexTensor): GpuIndex {
    return this.alive(asIndex(t));
  }
  private kv(c: KvCache): GpuKvCache {
    return this.alive(asKv(c));
  }
}

function alignDown4(n: number): number {
  return n - (n % 4);
}
