// Writes GGUF files as a stream: the header (metadata and tensor infos) first, then each tensor's
// data in order, in as many chunks as the caller likes, so a model is never held in memory whole.
// The layout follows ggml's gguf writer: every tensor starts at a multiple of the alignment and is
// followed by zero padding up to the next multiple (the last one too).
import { open, rm, type FileHandle } from 'node:fs/promises';
import { GgufError, InvalidRequestError } from '../errors.ts';
import {
  GgufValueType,
  typeName,
  type GgmlType,
  type GgufScalar,
  type GgufTypeDesc,
  type GgufTypedValue,
  type GgufValue,
  type TensorInfo,
} from './types.ts';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAX_DIMS,
  GGUF_MAX_TENSOR_NAME,
  MAX_ARRAY_DEPTH,
  alignUp,
  tensorBytes,
} from './validate.ts';

/** Shorthands for typed metadata values. */
export const meta = {
  u8: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.UINT8 }, value }),
  i8: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.INT8 }, value }),
  u16: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.UINT16 }, value }),
  i16: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.INT16 }, value }),
  u32: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.UINT32 }, value }),
  i32: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.INT32 }, value }),
  f32: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.FLOAT32 }, value }),
  bool: (value: boolean): GgufTypedValue => ({ desc: { type: GgufValueType.BOOL }, value }),
  str: (value: string): GgufTypedValue => ({ desc: { type: GgufValueType.STRING }, value }),
  u64: (value: bigint): GgufTypedValue => ({ desc: { type: GgufValueType.UINT64 }, value }),
  i64: (value: bigint): GgufTypedValue => ({ desc: { type: GgufValueType.INT64 }, value }),
  f64: (value: number): GgufTypedValue => ({ desc: { type: GgufValueType.FLOAT64 }, value }),
  /** An array of scalars or strings, all of type `items`. */
  array: (items: Exclude<GgufValueType, GgufValueType.ARRAY>, values: readonly GgufScalar[]): GgufTypedValue => ({
    desc: { type: GgufValueType.ARRAY, items },
    value: values as GgufScalar[],
  }),
  /** An array whose elements are themselves arrays (each with its own element type). */
  nested: (elements: readonly GgufTypedValue[]): GgufTypedValue => ({
    desc: { type: GgufValueType.ARRAY, items: GgufValueType.ARRAY, inner: elements.map((e) => e.desc) },
    value: elements.map((e) => e.value),
  }),
};

export interface GgufTensorSpec {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
}

export interface GgufWriterOptions {
  /** Keys in the order they are to be written. */
  readonly metadata: Iterable<readonly [string, GgufTypedValue]>;
  /** Tensor infos in the order their data will be written. */
  readonly tensors: readonly GgufTensorSpec[];
  /**
   * Alignment of tensor data when the metadata has no general.alignment (which always wins); a value
   * other than the default 32 is also recorded as general.alignment so that readers honour it.
   */
  readonly alignment?: number;
  readonly version?: 2 | 3;
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): void {
    const at = this.reserve(1);
    this.buf.writeUInt8(v, at);
  }
  i8(v: number): void {
    const at = this.reserve(1);
    this.buf.writeInt8(v, at);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.buf.writeUInt16LE(v, at);
  }
  i16(v: number): void {
    const at = this.reserve(2);
    this.buf.writeInt16LE(v, at);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v, at);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.buf.writeInt32LE(v, at);
  }
  f32(v: number): void {
    const at = this.reserve(4);
    this.buf.writeFloatLE(v, at);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.buf.writeDoubleLE(v, at);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.buf.writeBigUInt64LE(v, at);
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.buf.writeBigInt64LE(v, at);
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(BigInt(n));
    const at = this.reserve(n); // before touching this.buf: reserve may replace it
    this.buf.write(s, at, n, 'utf8');
  }

  padTo(alignment: number): void {
    this.reserve(alignUp(this.length, alignment) - this.length); // Buffer.alloc zero-fills
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const INT_RANGE: Partial<Record<GgufValueType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};

function encodeValue(out: ByteSink, desc: GgufTypeDesc, value: GgufValue, where: string, depth: number): void {
  const bad = (why: string): never => {
    throw new InvalidRequestError(`cannot write metadata ${where}: ${why}`);
  };
  const t = desc.type;
  const range = INT_RANGE[t];
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      bad(`${String(value)} is not a ${GgufValueType[t]}`);
    }
  }
  switch (t) {
    case GgufValueType.UINT8: return out.u8(value as number);
    case GgufValueType.INT8: return out.i8(value as number);
    case GgufValueType.UINT16: return out.u16(value as number);
    case GgufValueType.INT16: return out.i16(value as number);
    case GgufValueType.UINT32: return out.u32(value as number);
    case GgufValueType.INT32: return out.i32(value as number);
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof value !== 'number') bad(`${String(value)} is not a number`);
      return t === GgufValueType.FLOAT32 ? out.f32(value as number) : out.f64(value as number);
    case GgufValueType.BOOL:
      if (typeof value !== 'boolean') bad(`${String(value)} is not a boolean`);
      return out.u8(value ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof value !== 'string') bad(`${String(value)} is not a string`);
      return out.str(value as string);
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      if (typeof value !== 'bigint') bad(`${String(value)} is not a bigint (64-bit values are written from bigint)`);
      const v = value as bigint;
      if (t === GgufValueType.UINT64 ? v < 0n || v >= 1n << 64n : v < -(1n << 63n) || v >= 1n << 63n) {
        bad(`${v} does not fit ${GgufValueType[t]}`);
      }
      return t === GgufValueType.UINT64 ? out.u64(v) : out.i64(v);
    }
    case GgufValueType.ARRAY: {
      if (!Array.isArray(value)) bad('an ARRAY value must be a JavaScript array');
      const items = desc.items;
      if (items === undefined || items < 0 || items > GgufValueType.FLOAT64) bad('an ARRAY needs its element type in desc.items');
      if (depth >= MAX_ARRAY_DEPTH) bad(`arrays nest more than ${MAX_ARRAY_DEPTH} deep`);
      const arr = value as GgufValue[];
      out.u32(items!);
      out.u64(BigInt(arr.length));
      if (items === GgufValueType.ARRAY) {
        if (!desc.inner || desc.inner.length !== arr.length) bad('an array of arrays needs one desc.inner entry per element');
        arr.forEach((v, i) => encodeValue(out, desc.inner![i]!, v, `${where}[${i}]`, depth + 1));
      } else {
        const elem: GgufTypeDesc = { type: items! };
        arr.forEach((v, i) => encodeValue(out, elem, v, `${where}[${i}]`, depth + 1));
      }
      return;
    }
    default:
      bad(`unknown value type ${String(t)}`);
  }
}

export class GgufWriter {
  private current = 0;
  private writtenInCurrent = 0;
  private pos: number;
  private finished = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly alignment: number,
    readonly dataOffset: number,
    /** The tensors with the absolute offsets they will have. */
    readonly tensors: readonly TensorInfo[],
  ) {
    this.pos = dataOffset;
  }

  /** Size of the finished file. */
  get fileSize(): number {
    const last = this.tensors[this.tensors.length - 1];
    return last ? alignUp(last.offset + last.nbytes, this.alignment) : this.dataOffset;
  }

  /** Creates the file and writes its header. */
  static async create(path: string, opts: GgufWriterOptions): Promise<GgufWriter> {
    const entries = [...opts.metadata];
    const keys = new Set<string>();
    for (const [k] of entries) {
      if (keys.has(k)) throw new InvalidRequestError(`cannot write ${path}: metadata key ${k} appears twice`);
      keys.add(k);
    }
    const alignEntry = entries.find(([k]) => k === 'general.alignment')?.[1];
    let alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
    if (alignEntry) {
      if (alignEntry.desc.type !== GgufValueType.UINT32 || typeof alignEntry.value !== 'number') {
        throw new InvalidRequestError(`cannot write ${path}: general.alignment must be a UINT32`);
      }
      alignment = alignEntry.value;
    } else if (alignment !== GGUF_DEFAULT_ALIGNMENT) {
      entries.push(['general.alignment', meta.u32(alignment)]);
    }
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
      throw new InvalidRequestError(`cannot write ${path}: alignment ${alignment} is not a power of two`);
    }

    const h = new ByteSink();
    h.u8(0x47); h.u8(0x47); h.u8(0x55); h.u8(0x46); // "GGUF"
    h.u32(opts.version ?? 3);
    h.u64(BigInt(opts.tensors.length));
    h.u64(BigInt(entries.length));
    for (const [key, tv] of entries) {
      h.str(key);
      h.u32(tv.desc.type);
      encodeValue(h, tv.desc, tv.value, key, 0);
    }

    const names = new Set<string>();
    const infos: TensorInfo[] = [];
    let rel = 0;
    for (const t of opts.tensors) {
      if (names.has(t.name)) throw new InvalidRequestError(`cannot write ${path}: tensor ${t.name} appears twice`);
      names.add(t.name);
      if (Buffer.byteLength(t.name) > GGUF_MAX_TENSOR_NAME) {
        throw new InvalidRequestError(`cannot write ${path}: tensor name ${t.name} is longer than ${GGUF_MAX_TENSOR_NAME} bytes`);
      }
      if (t.dims.length < 1 || t.dims.length > GGUF_MAX_DIMS || !t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new InvalidRequestError(`cannot write ${path}: tensor ${t.name} has bad dims [${t.dims.join(', ')}] (1 to 4 non-negative integers)`);
      }
      const size = tensorBytes(t.type, t.dims.map(BigInt));
      if (typeof size === 'string') throw new InvalidRequestError(`cannot write ${path}: tensor ${t.name} (${typeName(t.type)}): ${size}`);
      h.str(t.name);
      h.u32(t.dims.length);
      for (const d of t.dims) h.u64(BigInt(d));
      h.u32(t.type);
      h.u64(BigInt(rel));
      const nbytes = Number(size.nbytes);
      infos.push({ name: t.name, dims: [...t.dims], type: t.type, offset: rel, nbytes, nElements: Number(size.nElements) });
      rel = alignUp(rel + nbytes, alignment);
    }
    // no data section without tensors: vocab-only files end right after the header
    if (infos.length > 0) h.padTo(alignment);
    const dataOffset = h.length;
    const tensors = infos.map((t) => ({ ...t, offset: t.offset + dataOffset }));

    const fh = await open(path, 'w');
    try {
      await writeAll(fh, h.bytes(), 0);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new GgufWriter(path, fh, alignment, dataOffset, tensors);
  }

  /** The tensor whose data is expected next, or undefined when all have been written. */
  get next(): TensorInfo | undefined {
    this.skipEmpty();
    return this.tensors[this.current];
  }

  /** Appends the next bytes of tensor `name`, which must be the tensor being written or the next one. */
  async write(name: string, chunk: Uint8Array): Promise<void> {
    if (this.finished) throw new GgufError(this.path, `cannot write tensor ${name}: the writer is finished`);
    if (chunk.length === 0) return;
    this.skipEmpty();
    const t = this.tensors[this.current];
    if (!t || t.name !== name) {
      throw new GgufError(this.path, `tensor data out of order: got ${name}, expected ${t ? t.name : 'no more tensors'}`);
    }
    if (this.writtenInCurrent + chunk.length > t.nbytes) {
      throw new GgufError(this.path, `tensor ${name} is ${t.nbytes} bytes but ${this.writtenInCurrent + chunk.length} were written`);
    }
    await writeAll(this.fh, chunk, this.pos);
    this.pos += chunk.length;
    this.writtenInCurrent += chunk.length;
    if (this.writtenInCurrent === t.nbytes) await this.endTensor();
  }

  /** Checks that every tensor was written in full and closes the file. */
  async finish(): Promise<void> {
    this.skipEmpty();
    const t = this.tensors[this.current];
    if (t) {
      await this.abort();
      throw new GgufError(this.path, `finished with tensor ${t.name} incomplete (${this.writtenInCurrent} of ${t.nbytes} bytes); the partial file was removed`);
    }
    this.finished = true;
    await this.fh.close();
  }

  /** Closes and deletes a partial file. */
  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.fh.close();
    await rm(this.path, { force: true });
  }

  private skipEmpty(): void {
    while (this.tensors[this.current]?.nbytes === 0 && this.writtenInCurrent === 0) this.current++;
  }

  private async endTensor(): Promise<void> {
    const pad = alignUp(this.pos, this.alignment) - this.pos;
    if (pad > 0) await writeAll(this.fh, new Uint8Array(pad), this.pos);
    this.pos += pad;
    this.current++;
    this.writtenInCurrent = 0;
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Where the bytes of one tensor come from when writing a whole file at once. */
export type TensorSource = (
  info: TensorInfo,
  index: number,
) => Uint8Array | Promise<Uint8Array> | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes a complete GGUF file, pulling each tensor's data from `source` in order (a source that
 * yields chunks keeps memory bounded). A failure removes the partial file.
 */
export async function writeGguf(path: string, opts: GgufWriterOptions & { readonly source: TensorSource }): Promise<void> {
  const w = await GgufWriter.create(path, opts);
  try {
    for (const [i, info] of w.tensors.entries()) {
      const data = await opts.source(info, i);
      if (data instanceof Uint8Array) {
        await w.write(info.name, data);
      } else {
        for await (const chunk of data) await w.write(info.name, chunk);
      }
    }
    await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
