// The CPU backend: every op of the Backend interface in plain TypeScript, run eagerly on the host.
// It is the readable reference the other backends are differential-tested against.
import { cpus } from 'node:os';
import type { GgmlType } from '../../gguf/types.ts';
import type {
  AttentionParams,
  Backend,
  DeviceResource,
  IndexTensor,
  KvCache,
  KvCacheSpec,
  RopeParams,
  Tensor,
  Weight,
} from '../backend.ts';
import { add } from './add.ts';
import { attention } from './attention.ts';
import { gatherRows } from './gather-rows.ts';
import { geglu } from './gelu.ts';
import { getRows } from './get-rows.ts';
import { matmul } from './matmul.ts';
import { rmsNorm } from './rmsnorm.ts';
import { rope } from './rope.ts';
import { scale, softcap } from './scale.ts';
import { storeKv } from './store-kv.ts';
import { swiglu } from './swiglu.ts';
import {
  CpuIndex,
  CpuKvCache,
  CpuTensor,
  CpuWeight,
  asIndex,
  asKv,
  asTensor,
  asWeight,
  type CpuResource,
} from './resources.ts';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly deviceDescription = `CPU (${cpus()[0]?.model.trim() ?? 'unknown'}, TypeScript reference ops)`;
  private readonly live = new Set<CpuResource>();
  /** Rows per sequence of the current forward pass (describeBatch); undefined when ops are run directly. */
  private batchLayout: Int32Array | undefined;

  describeBatch(rowsOfSequence: Int32Array): void {
    this.batchLayout = rowsOfSequence.slice();
  }

  /**
   * Whether row r of a tensor of `rows` rows takes llama.cpp's batched kernel: its sequence has two
   * rows or more in this batch. Without a described batch, the whole tensor counts as one sequence.
   */
  private batchedRows(rows: number): (r: number) => boolean {
    const layout = this.batchLayout;
    if (!layout) return () => rows >= 2;
    if (layout.length !== rows) return () => false;
    return (r) => layout[r]! >= 2;
  }

  /** Keeps `data` as given (no copy): the caller must not modify it afterwards. */
  async uploadWeight(name: string, type: GgmlType, rows: number, cols: number, data: Uint8Array): Promise<Weight> {
    return this.track(new CpuWeight(name, type, rows, cols, data));
  }

  createTensor(rows: number, cols: number): Tensor {
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) {
      throw new RangeError(`tensor shape must be positive integers, got ${rows}x${cols}`);
    }
    return this.track(new CpuTensor(rows, cols));
  }

  createIndex(length: number): IndexTensor {
    if (!Number.isInteger(length) || length <= 0) throw new RangeError(`index length must be a positive integer, got ${length}`);
    return this.track(new CpuIndex(length));
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    return this.track(new CpuKvCache(spec));
  }

  writeTensor(t: Tensor, data: Float32Array): void {
    const x = this.tensor(t);
    if (data.length !== x.data.length) throw new RangeError(`writeTensor: ${data.length} values for a ${x.rows}x${x.cols} tensor`);
    x.data.set(data);
  }

  writeIndex(t: IndexTensor, data: Int32Array): void {
    const x = this.index(t);
    if (data.length !== x.length) throw new RangeError(`writeIndex: ${data.length} values for an index of ${x.length}`);
    x.data.set(data);
  }

  getRows(table: Weight, ids: IndexTensor, out: Tensor): void {
    getRows(this.weight(table), this.index(ids), this.tensor(out));
  }

  rmsNorm(x: Tensor, weight: Weight, eps: number, out: Tensor): void {
    rmsNorm(this.tensor(x), this.weight(weight), eps, this.tensor(out));
  }

  matmul(w: Weight, x: Tensor, out: Tensor, bias?: Weight): void {
    matmul(this.weight(w), this.tensor(x), this.tensor(out), bias && this.weight(bias), this.batchedRows(x.rows));
  }

  rope(q: Tensor, k: Tensor, positions: IndexTensor, p: RopeParams): void {
    rope(this.tensor(q), this.tensor(k), this.index(positions), p);
  }

  storeKv(cache: KvCache, layer: number, k: Tensor, v: Tensor, slots: IndexTensor, positions: IndexTensor): void {
    storeKv(this.kv(cache), layer, this.tensor(k), this.tensor(v), this.index(slots), this.index(positions));
  }

  attention(q: Tensor, cache: KvCache, layer: number, slots: IndexTensor, positions: IndexTensor, p: AttentionParams, out: Tensor): void {
    attention(this.tensor(q), this.kv(cache), layer, this.index(slots), this.index(positions), p, this.tensor(out), this.batchedRows(q.rows));
  }

  swiglu(gate: Tensor, up: Tensor, out: Tensor): void {
    swiglu(this.tensor(gate), this.tensor(up), this.tensor(out));
  }

  geglu(gate: Tensor, up: Tensor, out: Tensor): void {
    geglu(this.tensor(gate), this.tensor(up), this.tensor(out));
  }

  scale(x: Tensor, s: number, out: Tensor): void {
    scale(this.tensor(x), s, this.tensor(out));
  }

  softcap(x: Tensor, cap: number, out: Tensor): void {
    softcap(this.tensor(x), cap, this.tensor(out));
  }

  add(a: Tensor, b: Tensor, out: Tensor): void {
    add(this.tensor(a), this.tensor(b), this.tensor(out));
  }

  gatherRows(x: Tensor, rows: IndexTensor, out: Tensor): void {
    gatherRows(this.tensor(x), this.index(rows), this.tensor(out));
  }

  /** Ops run eagerly, so this is a copy of the tensor as it is now. */
  async read(t: Tensor): Promise<Float32Array> {
    return this.tensor(t).data.slice();
  }

  release(r: DeviceResource): void {
    this.live.delete(r as CpuResource);
  }

  memoryInUse(): number {
    let bytes = 0;
    for (const r of this.live) bytes += r.bytes;
    return bytes;
  }

  dispose(): void {
    this.live.clear();
  }

  private track<T extends CpuResource>(r: T): T {
    this.live.add(r);
    return r;
  }

  private alive<T extends CpuResource>(r: T): T {
    if (!this.live.has(r)) throw new TypeError(`a ${r.kind} was used after it was released (or after the backend was disposed)`);
    return r;
  }

  private weight(w: Weight): CpuWeight {
    return this.alive(asWeight(w));
  }
  private tensor(t: Tensor): CpuTensor {
    return this.alive(asTensor(t));
  }
  private index(t: IndexTensor): CpuIndex {
    return this.alive(asIndex(t));
  }
  private kv(c: KvCache): CpuKvCache {
    return this.alive(asKv(c));
  }
}

export function createCpuBackend(): Backend {
  return new CpuBackend();
}
