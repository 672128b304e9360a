// Reads a GGUF file: header, metadata and tensor infos through @huggingface/gguf, tensor data by
// offset through a file handle, so a model file is never held in one Buffer.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { gguf } from '@huggingface/gguf';
import { GgufError, ModelNotFoundError } from '../errors.ts';
import { TYPE_LAYOUT, type GgufHeader, type GgufValue, type TensorInfo } from './types.ts';

export class GgufFile {
  private constructor(
    readonly header: GgufHeader,
    private readonly fh: FileHandle,
  ) {}

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
    const header = await parseHeader(path, size);
    const fh = await open(path, 'r');
    return new GgufFile(header, fh);
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
    return this.header.tensors.find((t) => t.name === name);
  }

  /** Reads one tensor's raw bytes (in its GGUF type). */
  async readTensor(info: TensorInfo): Promise<Uint8Array> {
    const out = new Uint8Array(info.nbytes);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.fh.read(out, done, out.length - done, info.offset + done);
      if (bytesRead === 0) throw new GgufError(this.path, `unexpected end of file reading tensor ${info.name}`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

async function parseHeader(path: string, fileSize: number): Promise<GgufHeader> {
  let parsed;
  try {
    parsed = await gguf(path, { allowLocalFile: true });
  } catch (e) {
    throw new GgufError(path, `not a readable GGUF file (${(e as Error).message})`, { cause: e });
  }
  const metadata = new Map<string, GgufValue>();
  for (const [k, v] of Object.entries(parsed.metadata)) metadata.set(k, v as GgufValue);
  const alignment = Number(metadata.get('general.alignment') ?? 32);
  const dataOffset = Number(parsed.tensorDataOffset);
  const tensors: TensorInfo[] = parsed.tensorInfos.map((t) => {
    const layout = TYPE_LAYOUT[t.dtype];
    if (!layout) throw new GgufError(path, `tensor ${t.name} has unknown type ${t.dtype}`);
    const dims = t.shape.map(Number);
    const nElements = dims.reduce((a, b) => a * b, 1);
    return {
      name: t.name,
      dims,
      type: t.dtype as number,
      offset: dataOffset + Number(t.offset),
      nbytes: (nElements / layout.blockSize) * layout.typeSize,
      nElements,
    };
  });
  return { path, version: Number(metadata.get('version') ?? 3), alignment, fileSize, dataOffset, metadata, tensors };
}
