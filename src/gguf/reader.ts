// Reads a GGUF file: header, metadata and tensor infos through @huggingface/gguf, tensor data by
// offset through a file handle, so a model file is never held in one Buffer. The header is
// pre-scanned and checked by validate.ts before the library sees it, and the library's result is
// cross-checked against that scan.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { gguf, type GGUFParseOutput } from '@huggingface/gguf';
import { GgufError, ModelNotFoundError } from '../errors.ts';
import type { GgufHeader, GgufTypeDesc, GgufTypedValue, GgufValue, TensorInfo } from './types.ts';
import { alignUp, scanHeader, validateTensors, type HeaderScan, type StringFixup } from './validate.ts';

/** Largest single read: node's fs refuses reads over 2 GiB. */
const MAX_READ = 1 << 30;

export class GgufFile {
  private constructor(
    readonly header: GgufHeader,
    /** The GGUF type of every metadata value, in file order. */
    readonly metadataTypes: ReadonlyMap<string, GgufTypeDesc>,
    private readonly fh: FileHandle,
    private readonly byName: ReadonlyMap<string, TensorInfo>,
  ) {}

  /**
   * Opens and validates a GGUF file. Throws ModelNotFoundError when the path cannot be read and
   * GgufError (naming the file and the problem) when its contents cannot be trusted.
   */
  static async open(path: string): Promise<GgufFile> {
    let size: number;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new ModelNotFoundError(`${path} is not a file: pass the path of a .gguf model file`);
      size = st.size;
    } catch (e) {
      if (e instanceof ModelNotFoundError) throw e;
      throw new ModelNotFoundError(`cannot read model file ${path}: ${(e as Error).message}`, { cause: e });
    }
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new ModelNotFoundError(`cannot open model file ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const scan = await scanHeader(path, fh, size);
      const { header, types } = await parseWithLibrary(path, size, scan);
      return new GgufFile(header, types, fh, new Map(header.tensors.map((t) => [t.name, t])));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get path(): string {
    return this.header.path;
  }

  get metadata(): ReadonlyMap<string, GgufValue> {
    return this.header.metadata;
  }

  get tensors(): readonly TensorInfo[] {
    return this.header.tensors;
  }

  tensor(name: string): TensorInfo | undefined {
    return this.byName.get(name);
  }

  /** Every metadata value with its GGUF type, in file order (what the writer takes to re-create the file). */
  typedMetadata(): Map<string, GgufTypedValue> {
    const out = new Map<string, GgufTypedValue>();
    for (const [key, desc] of this.metadataTypes) out.set(key, { desc, value: this.header.metadata.get(key)! });
    return out;
  }

  /** Reads one tensor's raw bytes (in its GGUF type). */
  async readTensor(info: TensorInfo): Promise<Uint8Array> {
    return this.readTensorRange(info, 0, info.nbytes);
  }

  /** Reads `length` bytes of a tensor's data starting `start` bytes into it. */
  async readTensorRange(info: TensorInfo, start: number, length: number): Promise<Uint8Array> {
    if (start < 0 || length < 0 || start + length > info.nbytes) {
      throw new RangeError(`byte range ${start}+${length} is outside tensor ${info.name} (${info.nbytes} bytes)`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const want = Math.min(length - done, MAX_READ);
      const { bytesRead } = await this.fh.read(out, done, want, info.offset + start + done);
      if (bytesRead === 0) throw new GgufError(this.path, `unexpected end of file reading tensor ${info.name}: was the file truncated after opening?`);
      done += bytesRead;
    }
    return out;
  }

  /** A tensor's bytes in pieces of at most `chunkBytes`, for tensors too big to hold at once. */
  async *readTensorChunks(info: TensorInfo, chunkBytes = 64 << 20): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < info.nbytes; at += chunkBytes) {
      yield await this.readTensorRange(info, at, Math.min(chunkBytes, info.nbytes - at));
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

// The library reports the file's header fields as if they were metadata keys.
const LIBRARY_PSEUDO_KEYS = ['version', 'tensor_count', 'kv_count'];

async function parseWithLibrary(
  path: string,
  fileSize: number,
  scan: HeaderScan,
): Promise<{ header: GgufHeader; types: ReadonlyMap<string, GgufTypeDesc> }> {
  let parsed: GGUFParseOutput;
  try {
    parsed = await gguf(path, { allowLocalFile: true });
  } catch (e) {
    throw new GgufError(path, `not a readable GGUF file (${(e as Error).message})`, { cause: e });
  }
  crossCheck(path, scan, parsed);

  const lib = parsed.metadata as Record<string, unknown>;
  const metadata = new Map<string, GgufValue>();
  // File order from the scan: a JS object would reorder integer-like keys.
  for (const key of scan.types.keys()) metadata.set(key, lib[key] as GgufValue);
  for (const f of scan.stringFixups) applyFixup(metadata, f);

  const alignment = scan.alignment;
  const dataOffset = alignUp(scan.headerEnd, alignment);
  if (scan.tensors.length > 0 && Number(parsed.tensorDataOffset) !== dataOffset) {
    throw new GgufError(path, `header parsers disagree on where tensor data starts (${parsed.tensorDataOffset} vs ${dataOffset}); the file is corrupt`);
  }
  const tensors = validateTensors(path, scan.tensors, dataOffset, alignment, fileSize);
  return {
    header: { path, version: scan.version, alignment, fileSize, dataOffset, metadata, tensors },
    types: scan.types,
  };
}

function applyFixup(metadata: Map<string, GgufValue>, { path: [key, ...indices], value }: StringFixup): void {
  if (indices.length === 0) {
    metadata.set(key, value);
    return;
  }
  let arr = metadata.get(key) as GgufValue[];
  for (const i of indices.slice(0, -1)) arr = arr[i] as GgufValue[];
  arr[indices[indices.length - 1]!] = value;
}

/** The library and our scan must agree on every key and tensor info, or the file is not trusted. */
function crossCheck(path: string, scan: HeaderScan, parsed: GGUFParseOutput): void {
  const disagree = (what: string): never => {
    throw new GgufError(path, `header parsers disagree on ${what}; the file is corrupt or uses an unsupported encoding`);
  };
  const lib = parsed.metadata as Record<string, unknown>;
  const libKeys = Object.keys(lib).filter((k) => !LIBRARY_PSEUDO_KEYS.includes(k) || scan.types.has(k));
  if (libKeys.length !== scan.types.size) disagree(`the number of metadata keys (${libKeys.length} vs ${scan.types.size})`);
  for (const key of scan.types.keys()) if (!Object.hasOwn(lib, key)) disagree(`metadata key ${JSON.stringify(key)}`);
  if (parsed.tensorInfos.length !== scan.tensors.length) disagree('the tensor count');
  if (parsed.tensorInfoByteRange[1] !== scan.headerEnd) disagree('the header length');
  parsed.tensorInfos.forEach((t, i) => {
    const s = scan.tensors[i]!;
    const same =
      t.name === s.name &&
      t.dtype === s.type &&
      t.offset === s.relOffset &&
      t.shape.length === s.dims.length &&
      t.shape.every((d, j) => d === s.dims[j]);
    if (!same) disagree(`tensor #${i} (${s.name})`);
  });
}
