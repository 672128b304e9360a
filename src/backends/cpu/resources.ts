// The CPU backend's resources: plain typed arrays behind the Backend interface's opaque handles.
import { GgmlType, bytesFor, typeName } from '../../gguf/types.ts';
import { getFormat, type QuantFormat } from '../../quant/registry.ts';
import type { DeviceResource, IndexTensor, KvCache, KvCacheSpec, Tensor, Weight } from '../backend.ts';

/** A weight kept in its GGUF bytes; rows are dequantized one at a time, on demand. */
export class CpuWeight implements Weight {
  readonly kind = 'weight' as const;
  readonly rowBytes: number;
  private readonly format: QuantFormat;
  /** F32 weights are read in place: no copy per row. */
  private readonly f32: Float32Array | undefined;

  constructor(
    readonly name: string,
    readonly type: GgmlType,
    readonly rows: number,
    readonly cols: number,
    readonly data: Uint8Array,
  ) {
    this.format = getFormat(type);
    if (cols % this.format.blockSize !== 0) {
      throw new RangeError(`weight ${name}: ${cols} columns is not a multiple of ${typeName(type)}'s block of ${this.format.blockSize}`);
    }
    this.rowBytes = bytesFor(type, cols);
    if (data.length < this.rowBytes * rows) {
      throw new RangeError(`weight ${name}: ${data.length} bytes given, ${rows}x${cols} ${typeName(type)} needs ${this.rowBytes * rows}`);
    }
    this.f32 = type === GgmlType.F32 && data.byteOffset % 4 === 0 ? new Float32Array(data.buffer, data.byteOffset, rows * cols) : undefined;
  }

  /** Row `r` as f32: a view for F32 weights, else dequantized into `scratch` (length >= cols). */
  row(r: number, scratch: Float32Array): Float32Array {
    if (this.f32) return this.f32.subarray(r * this.cols, (r + 1) * this.cols);
    const start = r * this.rowBytes;
    return this.format.dequantize(this.data.subarray(start, start + this.rowBytes), this.cols, scratch);
  }

  /** The whole weight as f32 (for small vectors such as norm weights and biases). */
  vector(): Float32Array {
    if (this.f32) return this.f32;
    return this.format.dequantize(this.data, this.rows * this.cols);
  }

  get bytes(): number {
    return this.data.length;
  }
}

export class CpuTensor implements Tensor {
  readonly kind = 'tensor' as const;
  readonly data: Float32Array;
  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    this.data = new Float32Array(rows * cols);
  }
  get bytes(): number {
    return this.data.byteLength;
  }
}

export class CpuIndex implements IndexTensor {
  readonly kind = 'index' as const;
  readonly data: Int32Array;
  constructor(readonly length: number) {
    this.data = new Int32Array(length);
  }
  get bytes(): number {
    return this.data.byteLength;
  }
}

/**
 * K and V per layer as IEEE half bits, [slot][position][kvDim]. llama.cpp's default KV cache type is
 * f16 (`--cache-type-k/v f16`), so keys and values are rounded to f16 on store; storing them in f32
 * would make our logits drift from llama.cpp's by more than the oracle tolerance allows.
 */
export class CpuKvCache implements KvCache {
  readonly kind = 'kv' as const;
  readonly nLayers: number;
  readonly nSlots: number;
  readonly contextLength: number;
  readonly kvDim: number;
  readonly k: Uint16Array[];
  readonly v: Uint16Array[];

  constructor(spec: KvCacheSpec) {
    for (const key of ['nLayers', 'nSlots', 'contextLength', 'kvDim'] as const) {
      if (!Number.isInteger(spec[key]) || spec[key] <= 0) throw new RangeError(`KV cache ${key} must be a positive integer, got ${spec[key]}`);
    }
    this.nLayers = spec.nLayers;
    this.nSlots = spec.nSlots;
    this.contextLength = spec.contextLength;
    this.kvDim = spec.kvDim;
    const perLayer = spec.nSlots * spec.contextLength * spec.kvDim;
    this.k = Array.from({ length: spec.nLayers }, () => new Uint16Array(perLayer));
    this.v = Array.from({ length: spec.nLayers }, () => new Uint16Array(perLayer));
  }

  /** Offset of (slot, position) in a layer's K or V array. */
  offset(slot: number, position: number): number {
    return (slot * this.contextLength + position) * this.kvDim;
  }

  get bytes(): number {
    return 2 * this.nLayers * this.nSlots * this.contextLength * this.kvDim * 2;
  }
}

export type CpuResource = CpuWeight | CpuTensor | CpuIndex | CpuKvCache;

function foreign(what: string, r: DeviceResource): never {
  throw new TypeError(`${what} was not created by the CPU backend (kind ${r.kind}); create it with the backend that runs the op`);
}

export function asWeight(w: Weight): CpuWeight {
  return w instanceof CpuWeight ? w : foreign(`weight ${w.name}`, w);
}
export function asTensor(t: Tensor): CpuTensor {
  return t instanceof CpuTensor ? t : foreign('tensor', t);
}
export function asIndex(t: IndexTensor): CpuIndex {
  return t instanceof CpuIndex ? t : foreign('index tensor', t);
}
export function asKv(c: KvCache): CpuKvCache {
  return c instanceof CpuKvCache ? c : foreign('KV cache', c);
}

/** Throws unless `t` has the shape an op needs. */
export function expectShape(what: string, t: { rows: number; cols: number }, rows: number, cols: number): void {
  if (t.rows !== rows || t.cols !== cols) {
    throw new RangeError(`${what} must be ${rows}x${cols}, got ${t.rows}x${t.cols}`);
  }
}
