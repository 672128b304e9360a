// The WebGPU backend: every op of the Backend interface as a WGSL compute kernel (shaders/*.wgsl).
//
// Ops are recorded into one pending command encoder / compute pass; nothing is submitted until
// read() (or a host write that must not overtake earlier ops). Each dispatch takes its uniform
// parameters from a shared arena (dynamic offsets) and a cached bind group, so the hot path
// creates no GPU objects. Weights stay in their GGUF bytes; a weight larger than the binding
// limit is split by rows over several buffers and its ops run one dispatch per part.
import { DeviceOutOfMemoryError, RocforgeError } from '../../errors.ts';
import { GgmlType, TYPE_LAYOUT, typeName } from '../../gguf/types.ts';
import { dequantizeTensor, UnsupportedTensorTypeError } from '../../quant/registry.ts';
import type { AttentionParams, Backend, DeviceResource, IndexTensor, KvCache, KvCacheSpec, RopeParams, Tensor, Weight } from '../backend.ts';
import { formatBytes, type OpenedDevice } from './device.ts';
import { DispatchProfiler, type KernelTime } from './dispatch-profiler.ts';
import { ATTENTION_EXACT_MAX_CTX, ATTENTION_SCRATCH_BYTES, EXACT_LANE_TASKS, EXACT_TILE, KERNELS, MATMUL_TILE, MATVEC_MAX_ROWS, MATVEC_ROWS_PER_GROUP, MATVEC_XR_MAX_COLS, Q8_BLOCK_WORDS, Q8K_BLOCK_WORDS, type KernelSpec } from '../gpu/kernels.ts';
import {
  asIndex,
  asKv,
  asTensor,
  asWeight,
  expectShape,
  GpuBuf,
  GpuIndex,
  GpuKvCache,
  GpuTensor,
  GpuWeight,
  type GpuResource,
  type WeightPart,
} from './resources.ts';
import { ropeTable } from './rope-table.ts';
import { composeShader, hasDequantShader } from './shader-composer.ts';
import { SLOT_BYTES, UniformArena, type UniformSlot } from './uniform-arena.ts';

export interface WebGpuBackendOptions {
  /** Split weights into buffers of at most this many bytes; default and cap: the device's maxStorageBufferBindingSize (tests force it small). */
  readonly maxBindingBytes?: number;
  /** Use subgroup reductions where the adapter has them (default true); false forces the workgroup-memory fallback. */
  readonly subgroups?: boolean;
  /** Refuse allocations that would take live resources above this many bytes (DeviceOutOfMemoryError), as a device of that size would. */
  readonly memoryBudgetBytes?: number;
  /** Time each compute pass on the GPU (timestamp queries, where the device has them): see lastPassGpuMs. */
  readonly timestamps?: boolean;
  /**
   * One-row matmuls round x inside the matvec (matvec_xr.wgsl) instead of a separate act_round
   * dispatch. Default off: on the H100 a 1B Q4_0 decoded at 83 tok/s with the separate pass and
   * 62 tok/s fused (every workgroup repeats the rounding), and on lavapipe the same holds.
   */
  readonly fuseDecodeRounding?: boolean;
  /**
   * Whether WGSL fma() is fused on this device (probed by createWebGpuBackend: lavapipe's is not,
   * which Vulkan allows). When not, the exact kernels emulate fused multiply-adds (exact.wgsl).
   */
  readonly fmaFused?: boolean;
  /**
   * Replay llama.cpp's CPU arithmetic bit for bit where a kernel exists for it (default true):
   * float-weight matmuls and attention; false keeps the faster f32 kernels.
   */
  readonly exact?: boolean;
  /**
   * How the exact quantized matmuls spread their work (same results either way): 'parallel' (GPUs)
   * runs eight invocations per output (matvec_q8_exact_lanes.wgsl, matvec_q8k_exact_lanes.wgsl) and
   * tiles batches of 8+ rows of legacy types (matmul_q8_exact.wgsl); 'serial' runs one invocation
   * per output (matvec_q8_exact.wgsl, matvec_q8k_exact.wgsl). Default: 'parallel', except on CPU
   * adapters (lavapipe), where 'serial' is faster (the synth-qwen2-256-Q8_0 oracle: 7.8-9.6 s
   * against 14.1 s).
   */
  readonly exactKernels?: 'serial' | 'parallel';
  /**
   * Time every dispatch on the GPU, per kernel (timestamp queries, one pass per dispatch): see
   * profileReport(). For benchmarks only: the extra passes slow a forward down.
   */
  readonly profile?: boolean;
}

/** A uniform parameter: a plain number is a u32, { f } an f32. */
type Param = number | { readonly f: number };

const MAX_GROUPS = 65535;
/** Key of the Q8-quantized copy of a tensor among its rounded copies (act_round modes are 1..4). */
const Q8_EXACT_KEY = 100;
const Q8K_EXACT_KEY = 101;

interface Pipeline {
  readonly pipeline: GPUComputePipeline;
  readonly spec: KernelSpec;
}

interface RopeTableEntry {
  buf: GpuBuf;
  positions: number;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly deviceDescription: string;
  /** Bytes per binding above which weights are split. */
  readonly maxBindingBytes: number;
  /** The device's largest storage binding: the bound for tensors and KV-cache layers. */
  readonly deviceBindingBytes: number;
  readonly subgroups: boolean;
  readonly fuseDecodeRounding: boolean;
  readonly exact: boolean;
  readonly exactKernels: 'serial' | 'parallel';
  /** Rows per sequence of the current forward pass (describeBatch); undefined when ops are run directly. */
  private batchLayout: Int32Array | undefined;

  private readonly device: GPUDevice;
  private readonly arena: UniformArena;
  private readonly live = new Set<GpuResource>();
  private readonly layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  private readonly pipelines = new Map<KernelSpec, Map<number, Pipeline>>();
  private readonly dynamicOffset = new Uint32Array(1);
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bindGroupKeysByBuffer = new Map<number, string[]>();
  private readonly ropeTables = new Map<string, RopeTableEntry>();
  /** Rounded copies of activation tensors, by tensor buffer id and act_round mode. */
  private readonly rounded = new Map<number, Map<number, { buf: GpuBuf; fresh: boolean }>>();
  private readonly stagingPool: GPUBuffer[] = [];
  private attentionScratch: GpuBuf | undefined;
  private readonly dummy: GpuBuf;
  /** Dispatches recorded and command buffers submitted since creation (for benchmarks). */
  readonly counters = { dispatches: 0, submits: 0 };
  /** GPU time of the last timed compute pass read back (ms), with `timestamps: true`; NaN until then. */
  lastPassGpuMs = Number.NaN;
  private readonly timer: { querySet: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer } | undefined;
  private readonly profiler: DispatchProfiler | undefined;
  private profilePending = false;
  private timedPassPending = false;
  private timerBusy = false;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private deferredDestroy: GPUBuffer[] = [];
  private pendingChecks: Promise<string | null>[] = [];
  private deviceErrors: string[] = [];
  private lost: string | null = null;
  private disposed = false;
  private liveBytes = 0;

  constructor(
    opened: OpenedDevice,
    private readonly opts: WebGpuBackendOptions = {},
  ) {
    this.device = opened.device;
    this.subgroups = opened.subgroups;
    this.deviceDescription = opened.description;
    this.fuseDecodeRounding = opts.fuseDecodeRounding ?? false;
    this.exact = opts.exact ?? true;
    this.exactKernels = opts.exactKernels ?? (opened.software ? 'serial' : 'parallel');
    const deviceMax = Math.min(opened.limits.maxStorageBufferBindingSize, opened.limits.maxBufferSize);
    this.deviceBindingBytes = deviceMax & ~3;
    this.maxBindingBytes = Math.min(deviceMax, opts.maxBindingBytes ?? deviceMax) & ~3;
    if (this.maxBindingBytes < 1024) throw new RangeError(`maxBindingBytes must be at least 1024, got ${opts.maxBindingBytes}`);
    this.arena = new UniformArena(this.device);
    this.device.addEventListener('uncapturederror', (ev) => {
      this.deviceErrors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
    void this.device.lost.then((info) => {
      if (!this.disposed) this.lost = `the WebGPU device was lost (${info.reason}): ${info.message}`;
    });
    this.dummy = new GpuBuf(this.device.createBuffer({ label: 'rocforge dummy', size: 16, usage: GPUBufferUsage.STORAGE }), 16);
    if (opts.timestamps && this.device.features.has('timestamp-query')) {
      this.timer = {
        querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 }),
        resolve: this.device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
        readback: this.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
      };
    }
    if (opts.profile && this.device.features.has('timestamp-query')) this.profiler = new DispatchProfiler(this.device);
  }

  /** GPU time per kernel since creation or resetProfile(), with `profile: true` (else empty). */
  profileReport(): KernelTime[] {
    return this.profiler?.report() ?? [];
  }

  resetProfile(): void {
    this.profiler?.reset();
  }

  // ---------------------------------------------------------------- resources

  async uploadWeight(name: string, type: GgmlType, rows: number, cols: number, data: Uint8Array): Promise<Weight> {
    this.checkUsable();
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
      throw new RangeError(`weight ${name}: shape must be positive integers, got ${rows}x${cols}`);
    }
    const layout = TYPE_LAYOUT[type];
    if (!layout || !hasDequantShader(type)) throw new UnsupportedTensorTypeError(type);
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
      const size = Math.ceil((n * rowBytes) / 4) * 4;
      const { buf, check } = this.allocBuffer(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, `${name}[${lo}..${lo + n})`);
      checks.push(check);
      parts.push({ buf, rowLo: lo, rows: n });
      if (buf.size > 0) this.writeBytes(buf.buffer, bytes.subarray(lo * rowBytes, (lo + n) * rowBytes));
    }
    const failures = (await Promise.all(checks)).filter((e): e is string => e !== null);
    if (failures.length > 0) {
      for (const p of parts) p.buf.buffer.destroy();
      throw new DeviceOutOfMemoryError(
        `weight ${name} (${formatBytes(total)}) does not fit in GPU memory with ${formatBytes(this.liveBytes)} already in use (${failures[0]}): ` +
          'use a smaller model or quantization, a shorter context, or --backend cpu',
      );
    }
    const w = new GpuWeight(name, type, rows, cols, storedType, rowBytes, parts);
    return this.track(w);
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
    const { buf, check } = this.allocBuffer(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, `tensor ${rows}x${cols}`);
    this.pendingChecks.push(check);
    return this.track(new GpuTensor(rows, cols, buf));
  }

  createIndex(length: number): IndexTensor {
    this.checkUsable();
    if (!Number.isInteger(length) || length <= 0) throw new RangeError(`index length must be a positive integer, got ${length}`);
    const size = length * 4;
    this.checkBudget(size, `an index of ${length}`);
    const { buf, check } = this.allocBuffer(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, `index ${length}`);
    this.pendingChecks.push(check);
    return this.track(new GpuIndex(length, buf));
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
    const k: GpuBuf[] = [];
    const v: GpuBuf[] = [];
    for (let l = 0; l < spec.nLayers; l++) {
      for (const [list, what] of [[k, 'k'], [v, 'v']] as const) {
        const { buf, check } = this.allocBuffer(perLayer, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, `kv ${what}${l}`);
        this.pendingChecks.push(check);
        list.push(buf);
      }
    }
    return this.track(new GpuKvCache(spec, k, v));
  }

  writeTensor(t: Tensor, data: Float32Array): void {
    const x = this.tensor(t);
    if (data.length !== x.rows * x.cols) throw new RangeError(`writeTensor: ${data.length} values for a ${x.rows}x${x.cols} tensor`);
    this.beforeHostWrite();
    this.invalidateRounded(x.buf.id);
    this.writeBytes(x.buf.buffer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  writeIndex(t: IndexTensor, data: Int32Array): void {
    const x = this.index(t);
    if (data.length !== x.length) throw new RangeError(`writeIndex: ${data.length} values for an index of ${x.length}`);
    this.beforeHostWrite();
    x.host.set(data);
    this.writeBytes(x.buf.buffer, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  // ---------------------------------------------------------------- ops

  getRows(table: Weight, ids: IndexTensor, out: Tensor): void {
    const w = this.weight(table);
    const ix = this.index(ids);
    const o = this.tensor(out);
    expectShape('getRows output', o, ix.length, w.cols);
    for (const id of ix.host) {
      if (id < 0 || id >= w.rows) throw new RangeError(`getRows: id ${id} is outside ${w.name}'s ${w.rows} rows`);
    }
    const groups = Math.ceil((ix.length * Math.ceil(w.cols / 4)) / 64);
    for (const part of w.parts) {
      this.dispatch(KERNELS.getRows, w.storedType, [ix.length, w.cols, w.rowBytes, part.rowLo, part.rows], [part.buf, ix.buf, o.buf], groups);
    }
  }

  rmsNorm(x: Tensor, weight: Weight, eps: number, out: Tensor): void {
    const xt = this.tensor(x);
    const w = this.weight(weight);
    const o = this.tensor(out);
    if (w.rows * w.cols !== xt.cols || w.storedType !== GgmlType.F32) {
      throw new RangeError(`rmsNorm: weight ${w.name} (${w.rows}x${w.cols}) must be a vector of ${xt.cols} values`);
    }
    expectShape('rmsNorm output', o, xt.rows, xt.cols);
    const inPlace = xt.buf === o.buf;
    this.dispatch(
      KERNELS.rmsNorm,
      undefined,
      [xt.rows, xt.cols, { f: eps }, inPlace ? 1 : 0],
      [inPlace ? this.dummy : xt.buf, w.parts[0]!.buf, o.buf],
      xt.rows,
    );
  }

  describeBatch(rowsOfSequence: Int32Array): void {
    this.batchLayout = rowsOfSequence.slice();
  }

  /**
   * The rows of a tensor of `rows` rows as runs of consecutive rows that take the same llama.cpp
   * kernel, as the CPU backend decides it: batched only when the row's sequence has two rows or more
   * in the described batch; a tensor of another row count (gathered logit rows) holds single rows;
   * without a described batch the whole tensor counts as one sequence. The exact kernels run once
   * per run, so that a sequence's arithmetic does not depend on its neighbours in the batch.
   */
  private kernelRuns(rows: number): { lo: number; n: number; batched: boolean }[] {
    const layout = this.batchLayout;
    if (!layout) return [{ lo: 0, n: rows, batched: rows >= 2 }];
    if (layout.length !== rows) return [{ lo: 0, n: rows, batched: false }];
    const runs: { lo: number; n: number; batched: boolean }[] = [];
    for (let r = 0; r < rows; r++) {
      const batched = layout[r]! >= 2;
      const last = runs[runs.length - 1];
      if (last && last.batched === batched) last.n++;
      else runs.push({ lo: r, n: 1, batched });
    }
    return runs;
  }

  matmul(weight: Weight, x: Tensor, out: Tensor, bias?: Weight): void {
    const w = this.weight(weight);
    const xt = this.tensor(x);
    const o = this.tensor(out);
    if (xt.cols !== w.cols) throw new RangeError(`matmul ${w.name}: input rows have ${xt.cols} columns, the weight has ${w.cols}`);
    expectShape(`matmul ${w.name} output`, o, xt.rows, w.rows);
    if (o.buf === xt.buf) throw new RangeError(`matmul ${w.name}: the output must not alias the input`);
    let biasBuf = this.dummy;
    if (bias) {
      const b = this.weight(bias);
      if (b.rows * b.cols !== w.rows || b.storedType !== GgmlType.F32) {
        throw new RangeError(`matmul ${w.name}: bias ${b.name} has ${b.rows * b.cols} values, need ${w.rows}`);
      }
      biasBuf = b.parts[0]!.buf;
    }
    const hasBias = bias ? 1 : 0;
    const mode = actRoundMode(w.type);
    // Decode of one row with f16/bf16/q8_0 rounding: round inside the matvec (no extra dispatch),
    // unless a rounded copy of x is already at hand.
    // Kernels follow the type the weight is stored in: a one-row quantized weight is held as f32.
    if (this.exact && isKQuant(w.storedType) && w.cols % 256 === 0) {
      // llama.cpp has no batched kernel for K-quants: every row takes ggml_vec_dot_*_q8_K.
      const xq = this.quantizedActivations(xt, 256);
      for (const part of w.parts) {
        const params = [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, 0, xt.rows];
        const bufs = [part.buf, xq, o.buf, biasBuf];
        if (this.exactKernels === 'parallel') this.dispatch(KERNELS.matvecQ8kExactLanes, w.storedType, params, bufs, Math.ceil((xt.rows * part.rows) / EXACT_LANE_TASKS));
        else this.dispatch(KERNELS.matvecQ8kExact, w.storedType, params, bufs, Math.ceil((xt.rows * part.rows) / 64));
      }
      return;
    }
    if (this.exact && legacyKernelKind(w.storedType, false, w.rows) !== undefined && w.cols % 32 === 0) {
      const xq = this.quantizedActivations(xt, 32);
      for (const run of this.kernelRuns(xt.rows)) {
        const kind = legacyKernelKind(w.storedType, run.batched, w.rows)!;
        for (const part of w.parts) {
          const params = [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, kind, run.lo, run.n];
          const bufs = [part.buf, xq, o.buf, biasBuf];
          if (this.exactKernels === 'serial') this.dispatch(KERNELS.matvecQ8Exact, w.storedType, params, bufs, Math.ceil((run.n * part.rows) / 64));
          else if (run.n >= 8 && kind !== 2) this.dispatch(KERNELS.matmulQ8Exact, w.storedType, params, bufs, Math.ceil(part.rows / EXACT_TILE) * Math.ceil(run.n / EXACT_TILE));
          else this.dispatch(KERNELS.matvecQ8ExactLanes, w.storedType, params, bufs, Math.ceil((run.n * part.rows) / EXACT_LANE_TASKS));
        }
      }
      return;
    }
    if (this.exact && floatKernelKind(w.type, 1, w.cols) !== undefined) {
      const xBuf = this.roundedActivations(xt, w.type);
      for (const run of this.kernelRuns(xt.rows)) {
        const kind = floatKernelKind(w.type, run.batched ? 2 : 1, w.cols)!;
        for (const part of w.parts) {
          this.dispatch(KERNELS.matvecExact, w.storedType, [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, kind, run.lo], [part.buf, xBuf, o.buf, biasBuf], run.n * part.rows);
        }
      }
      return;
    }
    const fuseRound = this.fuseDecodeRounding && xt.rows === 1 && mode >= 1 && mode <= 3 && xt.cols <= MATVEC_XR_MAX_COLS && !this.rounded.get(xt.buf.id)?.get(mode)?.fresh;
    const xBuf = fuseRound ? xt.buf : this.roundedActivations(xt, w.type);
    for (const part of w.parts) {
      const bufs = [part.buf, xBuf, o.buf, biasBuf];
      const groups = Math.ceil(part.rows / MATVEC_ROWS_PER_GROUP);
      if (fuseRound) {
        this.dispatch(KERNELS.matvecXr, w.storedType, [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, mode], bufs, groups);
      } else if (xt.rows <= MATVEC_MAX_ROWS) {
        this.dispatch(KERNELS.matvec, w.storedType, [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias], bufs, groups, xt.rows);
      } else {
        const gx = Math.ceil(part.rows / MATMUL_TILE);
        const gy = Math.ceil(xt.rows / MATMUL_TILE);
        if (gx > MAX_GROUPS || gy > MAX_GROUPS) throw new RangeError(`matmul ${w.name}: ${xt.rows}x${part.rows} is too large for one dispatch`);
        this.dispatch2d(KERNELS.matmul, w.storedType, [xt.rows, w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias], bufs, gx, gy);
      }
    }
  }

  rope(q: Tensor, k: Tensor, positions: IndexTensor, p: RopeParams): void {
    const qt = this.tensor(q);
    const kt = this.tensor(k);
    const pos = this.index(positions);
    if (p.ropeDim % 2 !== 0 || p.ropeDim > p.headDim) throw new RangeError(`rope: ropeDim ${p.ropeDim} must be even and at most headDim ${p.headDim}`);
    expectShape('rope q', qt, pos.length, p.nHeads * p.headDim);
    expectShape('rope k', kt, pos.length, p.nKvHeads * p.headDim);
    if (qt.buf === kt.buf) throw new RangeError('rope: q and k must be different tensors');
    let maxPos = 0;
    for (const v of pos.host) {
      if (v < 0) throw new RangeError(`rope: negative position ${v}`);
      if (v > maxPos) maxPos = v;
    }
    if (p.ropeDim === 0) return;
    const table = this.ropeTableFor(p, maxPos);
    const pairs = pos.length * (p.nHeads + p.nKvHeads) * (p.ropeDim / 2);
    this.dispatch(
      KERNELS.rope,
      undefined,
      [pos.length, p.nHeads, p.nKvHeads, p.headDim, p.ropeDim, p.neox ? 1 : 0],
      [qt.buf, kt.buf, pos.buf, table],
      Math.ceil(pairs / 64),
    );
  }

  storeKv(cache: KvCache, layer: number, k: Tensor, v: Tensor, slots: IndexTensor, positions: IndexTensor): void {
    const c = this.kv(cache);
    this.checkLayer(c, layer);
    const kt = this.tensor(k);
    const vt = this.tensor(v);
    const s = this.index(slots);
    const pos = this.index(positions);
    const rows = kt.rows;
    expectShape('storeKv k', kt, rows, c.kvDim);
    expectShape('storeKv v', vt, rows, c.kvDim);
    this.checkSlotsPositions('storeKv', c, s, pos, rows);
    this.dispatch(
      KERNELS.kvStore,
      undefined,
      [rows, c.kvDim, c.contextLength],
      [kt.buf, vt.buf, s.buf, pos.buf, c.k[layer]!, c.v[layer]!],
      Math.ceil((rows * (c.kvDim / 2)) / 64),
    );
  }

  attention(q: Tensor, cache: KvCache, layer: number, slots: IndexTensor, positions: IndexTensor, p: AttentionParams, out: Tensor): void {
    const c = this.kv(cache);
    this.checkLayer(c, layer);
    const qt = this.tensor(q);
    const o = this.tensor(out);
    const s = this.index(slots);
    const pos = this.index(positions);
    const { nHeads, nKvHeads, headDim } = p;
    if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: ${nHeads} query heads cannot be grouped over ${nKvHeads} KV heads`);
    if (nKvHeads * headDim !== c.kvDim) throw new RangeError(`attention: ${nKvHeads} KV heads of ${headDim} do not match the cache's kvDim ${c.kvDim}`);
    if (headDim % 2 !== 0 || headDim > 256) throw new RangeError(`attention: head dimension ${headDim} must be even and at most 256 on WebGPU`);
    const rows = qt.rows;
    expectShape('attention q', qt, rows, nHeads * headDim);
    expectShape('attention output', o, rows, nHeads * headDim);
    if (o.buf === qt.buf) throw new RangeError('attention: the output must not alias q');
    this.checkSlotsPositions('attention', c, s, pos, rows);
    let maxPos = 0;
    for (const v of pos.host) maxPos = Math.max(maxPos, v);
    const bufs = [qt.buf, c.k[layer]!, c.v[layer]!, s.buf, pos.buf, o.buf];
    if (!this.exact) {
      this.dispatch(KERNELS.attention, undefined, [rows, nHeads, nKvHeads, headDim, c.kvDim, c.contextLength, { f: p.scale }], bufs, rows * nHeads);
      return;
    }
    // Up to ATTENTION_EXACT_MAX_CTX cells the probabilities stay in workgroup memory; past it they go
    // to a storage scratch (variant LONG), a bounded number of rows per dispatch.
    const nkv = Math.ceil((maxPos + 1) / 32) * 32;
    const long = nkv > ATTENTION_EXACT_MAX_CTX;
    const scratch = long ? this.attentionScratchBuf() : this.dummy;
    const rowsPerDispatch = long ? Math.max(1, Math.floor(ATTENTION_SCRATCH_BYTES / 4 / (nHeads * nkv))) : rows;
    if (long && nHeads * nkv * 4 > ATTENTION_SCRATCH_BYTES) throw new RangeError(`attention: ${nHeads} heads x ${nkv} cells exceed the exact attention scratch`);
    for (const run of this.kernelRuns(rows)) {
      for (let lo = run.lo; lo < run.lo + run.n; lo += rowsPerDispatch) {
        const n = Math.min(rowsPerDispatch, run.lo + run.n - lo);
        const params = [n, nHeads, nKvHeads, headDim, c.kvDim, c.contextLength, { f: p.scale }, lo, run.batched ? 1 : 0, nkv];
        this.dispatch(KERNELS.attentionExact, undefined, params, [...bufs, scratch], n * nHeads, long ? 1 : 0);
      }
    }
  }

  /** The storage scratch of exact attention past ATTENTION_EXACT_MAX_CTX cells, made on first use. */
  private attentionScratchBuf(): GpuBuf {
    if (!this.attentionScratch) {
      const buffer = this.device.createBuffer({ label: 'rocforge attention scratch', size: ATTENTION_SCRATCH_BYTES, usage: GPUBufferUsage.STORAGE });
      this.attentionScratch = new GpuBuf(buffer, ATTENTION_SCRATCH_BYTES);
    }
    return this.attentionScratch;
  }

  swiglu(gate: Tensor, up: Tensor, out: Tensor): void {
    this.elementwise(KERNELS.swiglu, 'swiglu', gate, up, out, [this.tensor(gate).cols]);
  }

  add(a: Tensor, b: Tensor, out: Tensor): void {
    this.elementwise(KERNELS.add, 'add', a, b, out);
  }

  gatherRows(x: Tensor, rows: IndexTensor, out: Tensor): void {
    const xt = this.tensor(x);
    const ix = this.index(rows);
    const o = this.tensor(out);
    expectShape('gatherRows output', o, ix.length, xt.cols);
    if (o.buf === xt.buf) throw new RangeError('gatherRows: the output must not alias the input');
    for (const r of ix.host) {
      if (r < 0 || r >= xt.rows) throw new RangeError(`gatherRows: row ${r} is outside the input's ${xt.rows} rows`);
    }
    this.dispatch(KERNELS.gatherRows, undefined, [ix.length, xt.cols], [xt.buf, ix.buf, o.buf], Math.ceil((ix.length * xt.cols) / 256));
  }

  /**
   * x rounded to the vec-dot type llama.cpp's CPU matmul would use for weights of `type`
   * (shaders/act_round.wgsl), so that logits match the reference engine. Kept per (tensor, mode)
   * until the tensor is written again, so q/k/v (or gate/up) round their shared input once.
   */
  private roundedActivations(x: GpuTensor, type: GgmlType): GpuBuf {
    const mode = actRoundMode(type);
    if (mode === 0) return x.buf;
    const block = mode === 3 ? 32 : mode === 4 ? 256 : 1;
    const n = x.rows * x.cols;
    if (n % block !== 0) throw new RangeError(`matmul: activations of ${n} values do not split into blocks of ${block}`);
    let perTensor = this.rounded.get(x.buf.id);
    if (!perTensor) {
      perTensor = new Map();
      this.rounded.set(x.buf.id, perTensor);
    }
    let entry = perTensor.get(mode);
    if (!entry) {
      const buffer = this.device.createBuffer({ label: `rounded x ${mode}`, size: x.buf.size, usage: GPUBufferUsage.STORAGE });
      entry = { buf: new GpuBuf(buffer, x.buf.size), fresh: false };
      perTensor.set(mode, entry);
    }
    if (!entry.fresh) {
      this.dispatch(KERNELS.actRound, undefined, [n / block, mode], [x.buf, entry.buf], Math.ceil(n / block / 64));
      entry.fresh = true;
    }
    return entry.buf;
  }

  /**
   * x quantized as the CPU backend does, cached like rounded copies: blocks of 32 to Q8_0/Q8_1
   * (quantizeQ8Rows, q8_quant.wgsl), of 256 to Q8_K (quantizeQ8KRows, q8k_quant.wgsl).
   */
  private quantizedActivations(x: GpuTensor, block: 32 | 256): GpuBuf {
    const n = x.rows * x.cols;
    if (n % block !== 0) throw new RangeError(`matmul: activations of ${n} values do not split into blocks of ${block}`);
    const key = block === 32 ? Q8_EXACT_KEY : Q8K_EXACT_KEY;
    const words = block === 32 ? Q8_BLOCK_WORDS : Q8K_BLOCK_WORDS;
    let perTensor = this.rounded.get(x.buf.id);
    if (!perTensor) {
      perTensor = new Map();
      this.rounded.set(x.buf.id, perTensor);
    }
    let entry = perTensor.get(key);
    if (!entry) {
      const size = (n / block) * words * 4;
      const buffer = this.device.createBuffer({ label: `q8 x ${block}`, size, usage: GPUBufferUsage.STORAGE });
      entry = { buf: new GpuBuf(buffer, size), fresh: false };
      perTensor.set(key, entry);
    }
    if (!entry.fresh) {
      this.dispatch(block === 32 ? KERNELS.q8Quant : KERNELS.q8kQuant, undefined, [n / block], [x.buf, entry.buf], Math.ceil(n / block / 64));
      entry.fresh = true;
    }
    return entry.buf;
  }

  /** A buffer was (or will be, in order) written: rounded copies of it are stale. */
  private invalidateRounded(id: number): void {
    const perTensor = this.rounded.get(id);
    if (perTensor) for (const e of perTensor.values()) e.fresh = false;
  }

  // ---------------------------------------------------------------- host side

  async read(t: Tensor): Promise<Float32Array> {
    const x = this.tensor(t);
    const size = x.rows * x.cols * 4;
    const staging = this.takeStaging(size);
    this.endPass();
    const enc = this.encoder ?? this.device.createCommandEncoder();
    this.encoder = enc;
    enc.copyBufferToBuffer(x.buf.buffer, 0, staging, 0, size);
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
      await staging.mapAsync(GPUMapMode.READ, 0, size);
    } catch (e) {
      this.stagingPool.push(staging);
      await this.throwDeviceProblems();
      throw e;
    }
    const result = new Float32Array(staging.getMappedRange(0, size).slice(0));
    staging.unmap();
    if (this.profilePending) {
      this.profilePending = false;
      await this.profiler!.collect();
    }
    this.stagingPool.push(staging);
    await this.throwDeviceProblems();
    return result;
  }

  release(r: DeviceResource): void {
    const res = r as GpuResource;
    if (!this.live.delete(res)) return;
    this.liveBytes -= res.bytes;
    for (const b of res.buffers) {
      const perTensor = this.rounded.get(b.id);
      if (perTensor) {
        for (const e of perTensor.values()) this.destroyBuffer(e.buf);
        this.rounded.delete(b.id);
      }
      this.destroyBuffer(b);
    }
  }

  memoryInUse(): number {
    return this.liveBytes;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder = null;
    this.pass = null;
    for (const r of this.live) for (const b of r.buffers) b.buffer.destroy();
    this.live.clear();
    this.liveBytes = 0;
    for (const t of this.ropeTables.values()) t.buf.buffer.destroy();
    for (const m of this.rounded.values()) for (const e of m.values()) e.buf.buffer.destroy();
    for (const b of this.stagingPool) b.destroy();
    this.arena.destroy();
    this.dummy.buffer.destroy();
    if (this.timer) {
      this.timer.querySet.destroy();
      this.timer.resolve.destroy();
      this.timer.readback.destroy();
    }
    this.profiler?.destroy();
    this.attentionScratch?.buffer.destroy();
    this.bindGroups.clear();
    this.device.destroy();
  }

  /** Submits everything recorded so far without reading anything back (for benchmarks). */
  flush(): void {
    if (this.encoder) this.submit();
  }

  /** Resolves when the device has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.throwDeviceProblems();
  }

  // ---------------------------------------------------------------- internals

  private elementwise(spec: KernelSpec, what: string, a: Tensor, b: Tensor, out: Tensor, extra: readonly number[] = []): void {
    const at = this.tensor(a);
    const bt = this.tensor(b);
    const o = this.tensor(out);
    expectShape(`${what} b`, bt, at.rows, at.cols);
    expectShape(`${what} output`, o, at.rows, at.cols);
    const n = at.rows * at.cols;
    // A written binding may not alias a read one: an aliased input is read through the output.
    const aOut = at.buf === o.buf;
    const bOut = bt.buf === o.buf;
    this.dispatch(spec, undefined, [n, aOut ? 1 : 0, bOut ? 1 : 0, ...extra], [aOut ? this.dummy : at.buf, bOut ? this.dummy : bt.buf, o.buf], Math.ceil(n / 256));
  }

  private checkLayer(c: GpuKvCache, layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayers) throw new RangeError(`layer ${layer} is outside the KV cache's ${c.nLayers} layers`);
  }

  private checkSlotsPositions(what: string, c: GpuKvCache, s: GpuIndex, pos: GpuIndex, rows: number): void {
    if (s.length !== rows || pos.length !== rows) {
      throw new RangeError(`${what}: ${rows} rows need ${rows} slots and positions, got ${s.length} and ${pos.length}`);
    }
    for (let r = 0; r < rows; r++) {
      const slot = s.host[r]!;
      const p = pos.host[r]!;
      if (slot < 0 || slot >= c.nSlots) throw new RangeError(`slot ${slot} is outside the KV cache's ${c.nSlots} slots`);
      if (p < 0 || p >= c.contextLength) throw new RangeError(`position ${p} is outside the KV cache's context of ${c.contextLength}`);
    }
  }

  private ropeTableFor(p: RopeParams, maxPos: number): GpuBuf {
    const key = `${p.ropeDim}|${p.freqBase}|${p.freqScale}`;
    let t = this.ropeTables.get(key);
    if (!t || t.positions <= maxPos) {
      let positions = Math.max(256, t?.positions ?? 0);
      while (positions <= maxPos) positions *= 2;
      const data = ropeTable(positions, p.ropeDim, p.freqBase, p.freqScale);
      const buffer = this.device.createBuffer({ label: `rope table ${key}`, size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      this.device.queue.writeBuffer(buffer, 0, data);
      if (t) this.destroyBuffer(t.buf);
      t = { buf: new GpuBuf(buffer, data.byteLength), positions };
      this.ropeTables.set(key, t);
    }
    return t.buf;
  }

  private pipelineFor(spec: KernelSpec, type: GgmlType | undefined, nx: number): Pipeline {
    // Hot path: a numeric key per kernel, no string building.
    let perSpec = this.pipelines.get(spec);
    if (!perSpec) {
      perSpec = new Map();
      this.pipelines.set(spec, perSpec);
    }
    const numKey = (type ?? 255) * 64 + nx;
    let p = perSpec.get(numKey);
    if (p) return p;
    const reduce = spec.reduce ? (this.subgroups ? 'subgroup' : 'shared') : undefined;
    const key = `${spec.name}|${type !== undefined ? typeName(type) : ''}|${reduce ?? ''}${nx ? `|${spec.variant}=${nx}` : ''}`;
    const { pl } = this.layoutFor(spec);
    const code = composeShader({ op: spec.file, dequant: spec.dequant ? type : undefined, reduce, includes: spec.includes });
    const constants: Record<string, number> = {};
    if (spec.wg !== undefined) constants.WG = spec.wg;
    if (nx) constants[spec.variant] = nx;
    if (spec.includes.includes('exact.wgsl')) constants.FMA_FUSED = this.opts.fmaFused === false ? 0 : 1;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: key, code });
    const pipeline = this.device.createComputePipeline({ label: key, layout: pl, compute: { module, entryPoint: 'main', constants } });
    this.pendingChecks.push(this.device.popErrorScope().then((e) => (e ? `shader ${key} failed to compile: ${e.message}` : null)));
    p = { pipeline, spec };
    perSpec.set(numKey, p);
    return p;
  }

  private layoutFor(spec: KernelSpec): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    let l = this.layouts.get(spec.name);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: SLOT_BYTES } },
        ...spec.bindings.map(
          (b, i): GPUBindGroupLayoutEntry => ({
            binding: i + 1,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: b === 'read' ? 'read-only-storage' : 'storage' },
          }),
        ),
      ];
      const bgl = this.device.createBindGroupLayout({ label: spec.name, entries });
      l = { bgl, pl: this.device.createPipelineLayout({ label: spec.name, bindGroupLayouts: [bgl] }) };
      this.layouts.set(spec.name, l);
    }
    return l;
  }

  private bindGroupFor(spec: KernelSpec, slot: UniformSlot, bufs: readonly GpuBuf[]): GPUBindGroup {
    let key = spec.name + slot.chunk.id;
    for (const b of bufs) key += ',' + b.id;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      bg = this.device.createBindGroup({
        label: key,
        layout: this.layoutFor(spec).bgl,
        entries: [
          { binding: 0, resource: { buffer: slot.chunk.buffer, offset: 0, size: SLOT_BYTES } },
          ...bufs.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer } })),
        ],
      });
      this.bindGroups.set(key, bg);
      for (const b of bufs) {
        const keys = this.bindGroupKeysByBuffer.get(b.id);
        if (keys) keys.push(key);
        else this.bindGroupKeysByBuffer.set(b.id, [key]);
      }
    }
    return bg;
  }

  private dispatch(
    spec: KernelSpec,
    type: GgmlType | undefined,
    params: readonly Param[],
    bufs: readonly GpuBuf[],
    groups: number,
    nx = 0,
  ): void {
    if (groups <= 0) return;
    const gx = Math.min(groups, MAX_GROUPS);
    const gy = Math.ceil(groups / gx);
    if (gy > MAX_GROUPS) throw new RangeError(`${spec.name}: ${groups} workgroups is too many for one dispatch`);
    this.dispatch2d(spec, type, params, bufs, gx, gy, nx);
  }

  private dispatch2d(
    spec: KernelSpec,
    type: GgmlType | undefined,
    params: readonly Param[],
    bufs: readonly GpuBuf[],
    gx: number,
    gy: number,
    nx = 0,
  ): void {
    if (this.disposed || this.lost) this.checkUsable();
    const pipe = this.pipelineFor(spec, type, nx);
    const slot = this.arena.alloc();
    const base = slot.offset / 4;
    const { u32, f32 } = slot.chunk;
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      if (typeof p === 'number') u32[base + i] = p;
      else f32[base + i] = p.f;
    }
    const bg = this.bindGroupFor(spec, slot, bufs);
    if (this.rounded.size > 0) {
      for (let i = 0; i < spec.bindings.length; i++) if (spec.bindings[i] === 'rw') this.invalidateRounded(bufs[i]!.id);
    }
    if (this.profiler) {
      this.endPass();
      this.encoder ??= this.device.createCommandEncoder({ label: 'rocforge pass' });
      this.pass = this.encoder.beginComputePass(this.profiler.passFor(type !== undefined ? `${spec.name} ${typeName(type)}` : spec.name));
    }
    const pass = this.pass ?? this.beginPass();
    pass.setPipeline(pipe.pipeline);
    this.dynamicOffset[0] = slot.offset;
    pass.setBindGroup(0, bg, this.dynamicOffset, 0, 1);
    pass.dispatchWorkgroups(gx, gy);
    this.counters.dispatches++;
    if (this.profiler) this.endPass();
  }

  private beginPass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'rocforge pass' });
    if (!this.pass) {
      if (this.timer) {
        this.pass = this.encoder.beginComputePass({
          timestampWrites: { querySet: this.timer.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
        });
        this.timedPassPending = true;
      } else {
        this.pass = this.encoder.beginComputePass();
      }
    }
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private submit(): void {
    this.endPass();
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

  /** A host write lands on the queue at once: submit earlier ops first so they see the old contents. */
  private beforeHostWrite(): void {
    if (this.encoder) this.submit();
  }

  private writeBytes(buffer: GPUBuffer, bytes: Uint8Array): void {
    const aligned = bytes.length & ~3;
    if (aligned > 0) this.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, aligned);
    if (aligned < bytes.length) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(aligned));
      this.device.queue.writeBuffer(buffer, aligned, tail);
    }
  }

  private allocBuffer(size: number, usage: GPUBufferUsageFlags, label: string): { buf: GpuBuf; check: Promise<string | null> } {
    const padded = Math.max(4, Math.ceil(size / 4) * 4);
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const buffer = this.device.createBuffer({ label, size: padded, usage });
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    const check = Promise.all([validation, oom]).then(([v, o]) => {
      if (o) return `out of memory allocating ${label} (${formatBytes(padded)}): ${o.message}`;
      if (v) return `allocating ${label} (${formatBytes(padded)}) failed: ${v.message}`;
      return null;
    });
    return { buf: new GpuBuf(buffer, padded), check };
  }

  private checkBudget(bytes: number, what: string): void {
    const budget = this.opts.memoryBudgetBytes;
    if (budget !== undefined && this.liveBytes + bytes > budget) {
      throw new DeviceOutOfMemoryError(
        `${what} does not fit: ${formatBytes(this.liveBytes)} of the ${formatBytes(budget)} device memory budget is in use. ` +
          'Release other models or use a smaller model, quantization or context',
      );
    }
  }

  private destroyBuffer(b: GpuBuf): void {
    const keys = this.bindGroupKeysByBuffer.get(b.id);
    if (keys) {
      for (const k of keys) this.bindGroups.delete(k);
      this.bindGroupKeysByBuffer.delete(b.id);
    }
    // Commands recorded but not yet submitted may still use it.
    if (this.encoder) this.deferredDestroy.push(b.buffer);
    else b.buffer.destroy();
  }

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

/**
 * matvec_exact.wgsl's kind for float weights: the kernel llama.cpp's CPU backend runs for this type
 * and batch (see src/backends/cpu/matmul.ts); undefined for quantized types.
 */
export function floatKernelKind(type: GgmlType, rows: number, k: number): number | undefined {
  const tiny = rows >= 2 && k % 16 === 0;
  switch (type) {
    case GgmlType.F32:
      return tiny ? 2 : 0;
    case GgmlType.F16:
      return tiny ? 2 : 1;
    case GgmlType.BF16:
      return rows >= 2 && k % 32 === 0 ? 4 : 3;
    default:
      return undefined;
  }
}

/**
 * matvec_q8_exact.wgsl's kind for legacy-quantized weights (see src/backends/cpu/quant-dot.ts):
 * 3 for Q4_0 matrices of 8k rows (llama.cpp repacks them to q4_0_8x8), 1 for Q4_1/Q5_1, 2 for
 * IQ4_NL single rows, else 0; undefined for other types.
 */
export function legacyKernelKind(type: GgmlType, batched: boolean, weightRows: number): number | undefined {
  switch (type) {
    case GgmlType.Q4_0:
      return weightRows % 8 === 0 ? 3 : 0;
    case GgmlType.Q5_0:
    case GgmlType.Q8_0:
      return 0;
    case GgmlType.Q4_1:
    case GgmlType.Q5_1:
      return 1;
    case GgmlType.IQ4_NL:
      return batched ? 0 : 2;
    default:
      return undefined;
  }
}

function isKQuant(type: GgmlType): boolean {
  return type === GgmlType.Q2_K || type === GgmlType.Q3_K || type === GgmlType.Q4_K || type === GgmlType.Q5_K || type === GgmlType.Q6_K;
}

/**
 * act_round.wgsl mode for weights of `type`: llama.cpp's CPU vec_dot type (F16 -> f16, BF16 -> bf16,
 * 32-blocks -> Q8_0 (Q8_1 for Q4_1/Q5_1: same quants), K-quants -> Q8_K); 0 leaves x as is.
 */
export function actRoundMode(type: GgmlType): number {
  switch (type) {
    case GgmlType.F16:
      return 1;
    case GgmlType.BF16:
      return 2;
    case GgmlType.Q4_0:
    case GgmlType.Q4_1:
    case GgmlType.Q5_0:
    case GgmlType.Q5_1:
    case GgmlType.Q8_0:
    case GgmlType.IQ4_NL:
      return 3;
    case GgmlType.Q2_K:
    case GgmlType.Q3_K:
    case GgmlType.Q4_K:
    case GgmlType.Q5_K:
    case GgmlType.Q6_K:
      return 4;
    default:
      return 0;
  }
}
