// Uniform parameters for a pass: every dispatch gets a 256-byte slot in a few shared uniform
// buffers (bound with a dynamic offset), written from a host mirror in one writeBuffer per chunk
// just before the submit, so recording a dispatch never creates a buffer.
export const SLOT_BYTES = 256;
const SLOTS_PER_CHUNK = 256; // 64 KiB chunks: the guaranteed maxUniformBufferBindingSize

export interface UniformChunk {
  readonly id: number;
  readonly buffer: GPUBuffer;
  readonly mirror: ArrayBuffer;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
}

export interface UniformSlot {
  readonly chunk: UniformChunk;
  /** Dynamic offset in bytes. */
  readonly offset: number;
}

let nextChunkId = 1;

export class UniformArena {
  private readonly chunks: UniformChunk[] = [];
  private current = 0;
  private used = 0;

  constructor(private readonly device: GPUDevice) {}

  /** A zeroed slot for the next dispatch; the caller fills chunk.u32/f32 at offset/4. */
  alloc(): UniformSlot {
    if (this.used === SLOTS_PER_CHUNK) {
      this.current++;
      this.used = 0;
    }
    let chunk = this.chunks[this.current];
    if (!chunk) {
      const mirror = new ArrayBuffer(SLOT_BYTES * SLOTS_PER_CHUNK);
      chunk = {
        id: nextChunkId++,
        buffer: this.device.createBuffer({
          label: `rocforge uniforms ${this.current}`,
          size: mirror.byteLength,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
        mirror,
        u32: new Uint32Array(mirror),
        f32: new Float32Array(mirror),
      };
      this.chunks.push(chunk);
    }
    const offset = this.used * SLOT_BYTES;
    // Params use the first words of a slot: clearing 16 is enough and cheap.
    chunk.u32.fill(0, offset / 4, offset / 4 + 16);
    this.used++;
    return { chunk, offset };
  }

  /** Queues the used part of every chunk for upload (before the submit that reads it) and starts over. */
  upload(queue: GPUQueue): void {
    for (let i = 0; i <= this.current && i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      const bytes = i < this.current ? c.mirror.byteLength : this.used * SLOT_BYTES;
      if (bytes > 0) queue.writeBuffer(c.buffer, 0, c.mirror, 0, bytes);
    }
    this.current = 0;
    this.used = 0;
  }

  get pending(): boolean {
    return this.current > 0 || this.used > 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks.length = 0;
  }
}
