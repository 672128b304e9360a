// Uniform parameters for a pass: every dispatch gets a 256-byte slot in a few shared uniform
// buffers, written from a host mirror in one writeBuffer per chunk just before the submit, so
// recording a dispatch never creates a buffer. Slots are handed out in order from the start of
// every command buffer, so the n-th dispatch of a step always gets slot n: a bind group that
// names its slot's range (pipelines.ts) is the same every decode step and is made only once.
export const SLOT_BYTES = 256;
const SLOT_WORDS = SLOT_BYTES / 4;
/** Slots per chunk, 1 << SLOT_CHUNK_SHIFT: 64 KiB chunks, the guaranteed maxUniformBufferBindingSize. */
const SLOTS_PER_CHUNK = 256;
const SLOT_CHUNK_SHIFT = 8;

export interface UniformChunk {
  readonly buffer: GPUBuffer;
  readonly mirror: ArrayBuffer;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
}

export class UniformArena {
  private readonly chunks: UniformChunk[] = [];
  /** Slots handed out since the last upload. */
  private used = 0;

  constructor(private readonly device: GPUDevice) {}

  /** The next slot (its index since the last upload), zeroed: the caller fills chunk(slot).u32/f32 from byteOffset(slot) / 4. */
  alloc(): number {
    const slot = this.used++;
    const chunk = this.chunks[slot >>> SLOT_CHUNK_SHIFT] ?? this.addChunk();
    // Params use the first words of a slot: clearing 16 is enough and cheap.
    const w = (slot & (SLOTS_PER_CHUNK - 1)) * SLOT_WORDS;
    chunk.u32.fill(0, w, w + 16);
    return slot;
  }

  chunk(slot: number): UniformChunk {
    return this.chunks[slot >>> SLOT_CHUNK_SHIFT]!;
  }

  /** Byte offset of `slot` in its chunk's buffer. */
  static byteOffset(slot: number): number {
    return (slot & (SLOTS_PER_CHUNK - 1)) * SLOT_BYTES;
  }

  /** Queues the used part of every chunk for upload (before the submit that reads it) and starts over. */
  upload(queue: GPUQueue): void {
    for (let i = 0; i * SLOTS_PER_CHUNK < this.used; i++) {
      const c = this.chunks[i]!;
      const bytes = Math.min(SLOTS_PER_CHUNK, this.used - i * SLOTS_PER_CHUNK) * SLOT_BYTES;
      queue.writeBuffer(c.buffer, 0, c.mirror, 0, bytes);
    }
    this.used = 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks.length = 0;
  }

  private addChunk(): UniformChunk {
    const mirror = new ArrayBuffer(SLOT_BYTES * SLOTS_PER_CHUNK);
    const chunk: UniformChunk = {
      buffer: this.device.createBuffer({
        label: `rocforge uniforms ${this.chunks.length}`,
        size: mirror.byteLength,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      }),
      mirror,
      u32: new Uint32Array(mirror),
      f32: new Float32Array(mirror),
    };
    this.chunks.push(chunk);
    return chunk;
  }
}
