// Checks a GGUF file before anything trusts it.
//
// scanHeader walks the header (counts, keys, value types, lengths, tensor infos) straight from a
// file handle in bounded chunks, without materialising values, and checks every count and length
// against the bytes that remain. Only a header that passes is handed to @huggingface/gguf: on
// hostile input that library reads zeros past the end of the file (a 100-byte truncation "parses"
// into 48 nameless tensors) and a 64-byte file of nested arrays makes it allocate ~130 MB for
// several seconds. validateTensors then checks the tensor layout against the file size.
import type { FileHandle } from 'node:fs/promises';
import { GgufError } from '../errors.ts';
import { GgufValueType, TYPE_LAYOUT, typeName, type GgufTypeDesc, type TensorInfo } from './types.ts';

export const GGUF_MAGIC = 'GGUF';
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS: llama.cpp rejects tensors with more dimensions. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME (64) including the terminating NUL: longer tensor names do not load in llama.cpp. */
export const GGUF_MAX_TENSOR_NAME = 63;

// Limits of @huggingface/gguf 0.4.x, checked here first so that the library never sees input it
// would reject (or mis-read): it keeps the whole header in one buffer of at most 50e6 bytes and
// fetches 2e6-byte chunks, so a header must end well before that.
export const LIB_MAX_HEADER_BYTES = 45_000_000;
const LIB_MAX_STRING = 10_000_000;
const LIB_MAX_ARRAY = 1_000_000;
const LIB_MAX_KV = 100_000;
/** Array nesting levels (a top-level array counts as one); the library refuses a fifth. */
export const MAX_ARRAY_DEPTH = 4;
const LIB_MAX_DIM = 2n ** 32n;

const SCALAR_SIZE: Readonly<Record<number, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Fewest bytes one value of a type can occupy (a string or array needs at least its length field). */
function minValueSize(t: GgufValueType): number {
  if (t === GgufValueType.STRING) return 8;
  if (t === GgufValueType.ARRAY) return 12;
  return SCALAR_SIZE[t]!;
}

export function isValueType(t: number): t is GgufValueType {
  return Number.isInteger(t) && t >= 0 && t <= GgufValueType.FLOAT64;
}

/** Size in bytes of a fixed-size value type, undefined for strings and arrays. */
export function scalarSize(t: GgufValueType): number | undefined {
  return SCALAR_SIZE[t];
}

// Shared descriptors for scalars, so a scan does not allocate one object per value.
const SCALAR_DESC: readonly GgufTypeDesc[] = Array.from({ length: 13 }, (_, t) => Object.freeze({ type: t }));
const ARRAY_DESC: readonly GgufTypeDesc[] = Array.from({ length: 13 }, (_, t) =>
  Object.freeze({ type: GgufValueType.ARRAY, items: t }),
);

export interface ScannedTensor {
  readonly name: string;
  readonly dims: readonly bigint[];
  readonly type: number;
  /** Relative to the start of the data section. */
  readonly relOffset: bigint;
}

export interface StringFixup {
  readonly path: readonly [string, ...number[]];
  readonly value: string;
}

/** The library's read chunk: strings that cross a multiple of it may come back truncated. */
const LIB_CHUNK = 2_000_000;

export interface HeaderScan {
  readonly version: number;
  /** Keys in file order, with the type of each value. */
  readonly types: ReadonlyMap<string, GgufTypeDesc>;
  /** general.alignment (checked: a UINT32 power of two), or 32 when absent. */
  readonly alignment: number;
  readonly tensors: readonly ScannedTensor[];
  /** Offset of the first byte after the tensor infos (before alignment padding). */
  readonly headerEnd: number;
  /**
   * Strings the library decodes wrongly, with their true value, addressed as [key, ...array indices]:
   * it uses a default TextDecoder, which drops a leading BOM (llama-spm has the token "\uFEFF"),
   * and it silently truncates a string that crosses the end of one of its 2,000,000-byte chunks when
   * nothing after it in the same value fails to read. The reader applies these.
   */
  readonly stringFixups: readonly StringFixup[];
}

const CHUNK = 1 << 20;

/** Sequential reads from a file handle through a 1 MiB window; never reads at or past `limit`. */
class Cursor {
  pos = 0;
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly fileSize: number,
    readonly limit: number,
  ) {}

  get remaining(): number {
    return this.limit - this.pos;
  }

  fail(problem: string): never {
    throw new GgufError(this.path, `${problem}; the file is corrupt or not a GGUF model: re-download or re-convert it`);
  }

  /** Makes sure n bytes at pos are in the window, or fails naming what was being read. */
  private async need(n: number, what: string): Promise<void> {
    if (n > this.remaining) {
      if (this.limit < this.fileSize) {
        this.fail(`${what} at byte ${this.pos} lies beyond ${this.limit} bytes, the largest GGUF header this reader accepts`);
      }
      this.fail(`truncated: ${what} at byte ${this.pos} needs ${n} bytes but the file ends at byte ${this.fileSize}`);
    }
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    const len = Math.min(Math.max(n, CHUNK), this.remaining);
    const buf = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.fh.read(buf, done, len - done, this.pos + done);
      if (bytesRead === 0) this.fail(`file shrank while being read (${what} at byte ${this.pos + done})`);
      done += bytesRead;
    }
    this.buf = buf;
    this.bufStart = this.pos;
  }

  async u32(what: string): Promise<number> {
    await this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos - this.bufStart);
    this.pos += 4;
    return v;
  }

  async u64(what: string): Promise<bigint> {
    await this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos - this.bufStart);
    this.pos += 8;
    return v;
  }

  /**
   * Skips a string of `len` bytes, but returns its value when the library would decode it wrongly
   * (see HeaderScan.stringFixups).
   */
  async skipString(len: number, what: string): Promise<string | undefined> {
    let suspect = len > 0 && Math.floor(this.pos / LIB_CHUNK) !== Math.floor((this.pos + len - 1) / LIB_CHUNK);
    if (!suspect && len >= 3) {
      await this.need(3, what);
      const at = this.pos - this.bufStart;
      suspect = this.buf[at] === 0xef && this.buf[at + 1] === 0xbb && this.buf[at + 2] === 0xbf;
    }
    if (suspect) return (await this.bytes(len, what)).toString('utf8'); // keeps a BOM
    this.skip(len, what);
    return undefined;
  }

  async bytes(n: number, what: string): Promise<Buffer> {
    await this.need(n, what);
    const at = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(at, at + n);
  }

  skip(n: number, what: string): void {
    if (n > this.remaining) {
      this.fail(`truncated: ${what} at byte ${this.pos} needs ${n} bytes but only ${this.remaining} remain`);
    }
    this.pos += n;
  }

  /** A length or count field, checked so that `count` items of at least `minSize` bytes fit in what remains. */
  async count(what: string, minSize: number, libMax: number): Promise<number> {
    const v = await this.u64(what);
    if (v > BigInt(libMax)) this.fail(`${what} ${v} exceeds the limit of ${libMax}`);
    const n = Number(v);
    if (n * minSize > this.remaining) {
      this.fail(`${what} ${n} needs at least ${n * minSize} bytes at byte ${this.pos} but only ${this.remaining} remain`);
    }
    return n;
  }

  async string(what: string, maxLen: number): Promise<string> {
    const len = await this.count(`length of ${what}`, 1, maxLen);
    return (await this.bytes(len, what)).toString('utf8');
  }
}

/**
 * Walks the header of an open GGUF file. Fails with GgufError on a bad magic or version, an unknown
 * value type, any count or length that the rest of the file cannot hold, duplicate keys or tensor
 * names, or a tensor with too many dimensions.
 */
export async function scanHeader(path: string, fh: FileHandle, fileSize: number): Promise<HeaderScan> {
  const c = new Cursor(fh, path, fileSize, Math.min(fileSize, LIB_MAX_HEADER_BYTES));
  if (fileSize < 4) c.fail(`only ${fileSize} bytes long, too short for a GGUF header`);
  const magic = (await c.bytes(4, 'magic')).toString('latin1');
  if (magic !== GGUF_MAGIC) {
    throw new GgufError(path, `not a GGUF file (starts with ${JSON.stringify(magic)}, expected "GGUF"): pass a .gguf model file`);
  }
  const version = await c.u32('version');
  if (version === 1) c.fail('GGUF version 1 is not supported (only versions 2 and 3): re-convert the model with a current llama.cpp');
  if (version !== 2 && version !== 3) c.fail(`unsupported GGUF version ${version} (only 2 and 3 are known)`);
  const tensorCount = await c.count('tensor count', 8 + 4 + 8 + 4 + 8, Number.MAX_SAFE_INTEGER);
  const kvCount = await c.count('metadata key count', 8 + 4 + 1, LIB_MAX_KV);

  const types = new Map<string, GgufTypeDesc>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const stringFixups: StringFixup[] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = await c.string(`metadata key #${i}`, LIB_MAX_STRING);
    if (types.has(key)) c.fail(`duplicate metadata key ${JSON.stringify(key)}`);
    const t = await c.u32(`type of ${key}`);
    if (!isValueType(t)) c.fail(`metadata key ${JSON.stringify(key)} has unknown value type ${t}`);
    if (key === 'general.alignment') {
      // read here rather than after the library: it would reject a bad value with a vaguer message
      if (t !== GgufValueType.UINT32) c.fail(`general.alignment must be a UINT32, found ${GgufValueType[t]}`);
      alignment = await c.u32('general.alignment');
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) c.fail(`general.alignment ${alignment} is not a power of two`);
      types.set(key, SCALAR_DESC[t]!);
      continue;
    }
    types.set(key, await scanValue(c, t, [key], stringFixups));
  }

  const tensors: ScannedTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = await c.string(`name of tensor #${i}`, LIB_MAX_STRING);
    if (Buffer.byteLength(name) > GGUF_MAX_TENSOR_NAME) {
      c.fail(`tensor name ${JSON.stringify(name.slice(0, 80))} is longer than ${GGUF_MAX_TENSOR_NAME} bytes`);
    }
    if (names.has(name)) c.fail(`duplicate tensor name ${JSON.stringify(name)}`);
    names.add(name);
    const nDims = await c.u32(`dimension count of tensor ${name}`);
    if (nDims < 1 || nDims > GGUF_MAX_DIMS) c.fail(`tensor ${name} has ${nDims} dimensions (1 to ${GGUF_MAX_DIMS} allowed)`);
    const dims: bigint[] = [];
    for (let d = 0; d < nDims; d++) {
      const v = await c.u64(`dimension ${d} of tensor ${name}`);
      if (v > LIB_MAX_DIM) c.fail(`tensor ${name} dimension ${d} is ${v}, larger than any real model's`);
      dims.push(v);
    }
    const type = await c.u32(`type of tensor ${name}`);
    const relOffset = await c.u64(`data offset of tensor ${name}`);
    tensors.push({ name, dims, type, relOffset });
  }
  return { version, types, alignment, tensors, headerEnd: c.pos, stringFixups };
}

async function scanValue(
  c: Cursor,
  t: GgufValueType,
  path: readonly [string, ...number[]],
  fixups: StringFixup[],
): Promise<GgufTypeDesc> {
  const depth = path.length - 1;
  const key = path.length === 1 ? path[0] : `${path[0]}[${path.slice(1).join('][')}]`;
  const size = SCALAR_SIZE[t];
  if (size !== undefined) {
    c.skip(size, `value of ${key}`);
    return SCALAR_DESC[t]!;
  }
  if (t === GgufValueType.STRING) {
    const len = await c.count(`length of string ${key}`, 1, LIB_MAX_STRING);
    const value = await c.skipString(len, `string value of ${key}`);
    if (value !== undefined) fixups.push({ path, value });
    return SCALAR_DESC[t]!;
  }
  // ARRAY
  if (depth >= MAX_ARRAY_DEPTH) c.fail(`metadata key ${JSON.stringify(key)} nests arrays more than ${MAX_ARRAY_DEPTH} deep`);
  const items = await c.u32(`array element type of ${key}`);
  if (!isValueType(items)) c.fail(`array ${JSON.stringify(key)} has unknown element type ${items}`);
  const n = await c.count(`element count of array ${key}`, minValueSize(items), LIB_MAX_ARRAY);
  const itemSize = SCALAR_SIZE[items];
  if (itemSize !== undefined) {
    c.skip(n * itemSize, `elements of array ${key}`);
    return ARRAY_DESC[items]!;
  }
  if (items === GgufValueType.STRING) {
    for (let i = 0; i < n; i++) {
      const len = await c.count(`length of string ${key}[${i}]`, 1, LIB_MAX_STRING);
      const value = await c.skipString(len, `string ${key}[${i}]`);
      if (value !== undefined) fixups.push({ path: [...path, i], value });
    }
    return ARRAY_DESC[items]!;
  }
  const inner: GgufTypeDesc[] = [];
  for (let i = 0; i < n; i++) inner.push(await scanValue(c, GgufValueType.ARRAY, [...path, i], fixups));
  return { type: GgufValueType.ARRAY, items, inner };
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Bytes held by a tensor of this type and shape, or a reason why the shape is impossible. */
export function tensorBytes(type: number, dims: readonly bigint[]): { nElements: bigint; nbytes: bigint } | string {
  const layout = TYPE_LAYOUT[type];
  if (!layout) return `unknown tensor type ${type}`;
  let n = 1n;
  for (const d of dims) n *= d;
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) return `shape [${dims.join(', ')}] has ${n} elements, more than can be addressed`;
  if (dims[0]! % BigInt(layout.blockSize) !== 0n) {
    return `row length ${dims[0]} is not a multiple of ${typeName(type)}'s block size ${layout.blockSize}`;
  }
  return { nElements: n, nbytes: (n / BigInt(layout.blockSize)) * BigInt(layout.typeSize) };
}

/**
 * Turns scanned tensor infos into TensorInfo with absolute offsets, checking that every type is
 * known, every shape is addressable, every offset is aligned, every tensor lies inside the file and
 * no two tensors overlap.
 */
export function validateTensors(
  path: string,
  scanned: readonly ScannedTensor[],
  dataOffset: number,
  alignment: number,
  fileSize: number,
): TensorInfo[] {
  const fail = (problem: string): never => {
    throw new GgufError(path, `${problem}; the file is corrupt or truncated: re-download or re-convert it`);
  };
  if (scanned.length > 0 && dataOffset > fileSize) {
    fail(`tensor data should start at byte ${dataOffset} but the file is only ${fileSize} bytes`);
  }
  const out: TensorInfo[] = [];
  for (const t of scanned) {
    const size = tensorBytes(t.type, t.dims);
    if (typeof size === 'string') fail(`tensor ${t.name}: ${size}`);
    const { nElements, nbytes } = size as { nElements: bigint; nbytes: bigint };
    if (t.relOffset % BigInt(alignment) !== 0n) fail(`tensor ${t.name} offset ${t.relOffset} is not a multiple of the alignment ${alignment}`);
    const end = BigInt(dataOffset) + t.relOffset + nbytes;
    if (end > BigInt(fileSize)) {
      fail(`tensor ${t.name} (${nbytes} bytes at data offset ${t.relOffset}) ends at byte ${end}, past the end of the ${fileSize}-byte file`);
    }
    out.push({
      name: t.name,
      dims: t.dims.map(Number),
      type: t.type,
      offset: dataOffset + Number(t.relOffset),
      nbytes: Number(nbytes),
      nElements: Number(nElements),
    });
  }
  const byOffset = [...out].sort((a, b) => a.offset - b.offset || a.nbytes - b.nbytes);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (prev.offset + prev.nbytes > cur.offset && cur.nbytes > 0 && prev.nbytes > 0) {
      fail(`tensors ${prev.name} and ${cur.name} overlap (bytes ${cur.offset}..${prev.offset + prev.nbytes})`);
    }
  }
  return out;
}
