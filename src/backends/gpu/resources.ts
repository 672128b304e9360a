// The GPU backend's resources: executor buffers behind the Backend interface's opaque handles.
import type { GgmlType } from '../../gguf/types.ts';
import type { DeviceResource, IndexTensor, KvCache, KvCacheSpec, Tensor, Weight } from '../backend.ts';
import type { DeviceBuffer } from './executor.ts';

/** A run of whole rows of a weight in one buffer (a weight over the binding limit has several). */
export interface WeightPart {
  readonly buf: DeviceBuffer;
  readonly rowLo: number;
  readonly rows: number;
}

export class GpuWeight implements Weight {
  readonly kind = 'weight' as const;
  constructor(
    readonly name: string,
    readonly type: GgmlType,
    readonly rows: number,
    readonly cols: number,
    /** The type the device holds: `type`, except 1-row weights (norms, biases), held as F32. */
    readonly storedType: GgmlType,
    readonly rowBytes: number,
    readonly parts: readonly WeightPart[],
  ) {}

  get bytes(): number {
    return this.parts.reduce((s, p) => s + p.buf.size, 0);
  }

  get buffers(): DeviceBuffer[] {
    return this.parts.map((p) => p.buf);
  }
}

export class GpuTensor implements Tensor {
  readonly kind = 'tensor' as const;
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly buf: DeviceBuffer,
  ) {}
  get bytes(): number {
    return this.buf.size;
  }
  get buffers(): DeviceBuffer[] {
    return [this.buf];
  }
}

export class GpuIndex implements IndexTensor {
  readonly kind = 'index' as const;
  /** Host copy of the last values written: ops validate ids and positions before encoding. */
  readonly host: Int32Array;
  constructor(
    readonly length: number,
    readonly buf: DeviceBuffer,
  ) {
    this.host = new Int32Array(length);
  }
  get bytes(): number {
    return this.buf.size;
  }
  get buffers(): DeviceBuffer[] {
    return [this.buf];
  }
}

/** K and V per layer, each an f16 buffer [slot][position][kvDim] (two halves per u32). */
export class GpuKvCache implements KvCache {
  readonly kind = 'kv' as const;
  readonly nLayers: number;
  readonly nSlots: number;
  readonly contextLength: number;
  readonly kvDim: number;
  constructor(
    spec: KvCacheSpec,
    readonly k: readonly DeviceBuffer[],
    readonly v: readonly DeviceBuffer[],
  ) {
    this.nLayers = spec.nLayers;
    this.nSlots = spec.nSlots;
    this.contextLength = spec.contextLength;
    this.kvDim = spec.kvDim;
  }
  get bytes(): number {
    return [...this.k, ...this.v].reduce((s, b) => s + b.size, 0);
  }
  get buffers(): DeviceBuffer[] {
    return [...this.k, ...this.v];
  }
}

export type GpuResource = GpuWeight | GpuTensor | GpuIndex | GpuKvCache;

function foreign(what: string, r: DeviceResource): never {
  throw new TypeError(`${what} was not created by this GPU backend (kind ${r.kind}); create it with the backend that runs the op`);
}

export function asWeight(w: Weight): GpuWeight {
  return w instanceof GpuWeight ? w : foreign(`weight ${w.name}`, w);
}
export function asTensor(t: Tensor): GpuTensor {
  return t instanceof GpuTensor ? t : foreign('tensor', t);
}
export function asIndex(t: IndexTensor): GpuIndex {
  return t instanceof GpuIndex ? t : foreign('index tensor', t);
}
export function asKv(c: KvCache): GpuKvCache {
  return c instanceof GpuKvCache ? c : foreign('KV cache', c);
}

export function expectShape(what: string, t: { rows: number; cols: number }, rows: number, cols: number): void {
  if (t.rows !== rows || t.cols !== cols) throw new RangeError(`${what} must be ${rows}x${cols}, got ${t.rows}x${t.cols}`);
}

export function checkLayer(c: GpuKvCache, layer: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayers) throw new RangeError(`layer ${layer} is outside the KV cache's ${c.nLayers} layers`);
}

/** Every row's slot and position must lie inside the cache (checked on the host copies of the indices). */
export function checkSlotsPositions(what: string, c: GpuKvCache, s: GpuIndex, pos: GpuIndex, rows: number): void {
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
