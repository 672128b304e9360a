// GpuBackend's op planning on a recording executor (no device): the Dispatch records every GPU
// runtime receives, so the WebGPU and HIP executors run the same kernels with the same grids.
import { describe, expect, it } from 'vitest';
import type { BufferUsage, DeviceBuffer, Dispatch, KernelExecutor, KernelTime } from '../../../src/backends/gpu/executor.ts';
import { GpuBackend, type GpuBackendOptions } from '../../../src/backends/gpu/gpu-backend.ts';
import { GgmlType } from '../../../src/gguf/types.ts';

class RecordingExecutor implements KernelExecutor {
  readonly api = 'test';
  readonly description = 'recording executor';
  readonly subgroups = false;
  readonly maxBindingBytes = 1 << 28;
  readonly counters = { dispatches: 0, submits: 0 };
  readonly lastPassGpuMs = Number.NaN;
  readonly lost = null;
  readonly dispatches: Dispatch[] = [];
  readonly labels = new Map<number, string>();
  readonly live = new Set<number>();
  private nextId = 1;
  constructor(readonly software: boolean) {}
  alloc(bytes: number, label: string, _usage: BufferUsage): { buf: DeviceBuffer; check: Promise<string | null> } {
    const buf = { id: this.nextId++, size: Math.max(4, Math.ceil(bytes / 4) * 4) };
    this.labels.set(buf.id, label);
    this.live.add(buf.id);
    return { buf, check: Promise.resolve(null) };
  }
  write(): void {}
  dispatch(d: Dispatch): void {
    this.dispatches.push(d);
    this.counters.dispatches++;
  }
  async read(_buf: DeviceBuffer, bytes: number): Promise<Uint8Array> {
    return new Uint8Array(bytes);
  }
  flush(): void {}
  async sync(): Promise<void> {}
  free(buf: DeviceBuffer): void {
    this.live.delete(buf.id);
  }
  profileReport(): KernelTime[] {
    return [];
  }
  resetProfile(): void {}
  dispose(): void {}
  /** Kernel names (with the weight type where the kernel has per-type variants) since the last call. */
  take(): string[] {
    const names = this.dispatches.map((d) => (d.dequant !== undefined ? `${d.kernel.name} ${GgmlType[d.dequant]}` : d.kernel.name));
    this.dispatches.length = 0;
    return names;
  }
}

function setup(opts: GpuBackendOptions = {}, software = false): { ex: RecordingExecutor; b: GpuBackend } {
  const ex = new RecordingExecutor(software);
  return { ex, b: new GpuBackend('webgpu', ex, opts) };
}

/** Q8_0 rows of `cols` values: 34 bytes per block of 32. */
function q8Weight(b: GpuBackend, rows: number, cols: number) {
  return b.uploadWeight('w', GgmlType.Q8_0, rows, cols, new Uint8Array((rows * cols * 34) / 32));
}

describe('GPU op planning', () => {
  it('quantizes x once for the exact legacy matmuls and again only after x is written', async () => {
    const { ex, b } = setup({ exactKernels: 'parallel' });
    const w = await q8Weight(b, 16, 64);
    const x = b.createTensor(1, 64);
    const o1 = b.createTensor(1, 16);
    const o2 = b.createTensor(1, 16);
    b.matmul(w, x, o1);
    b.matmul(w, x, o2);
    expect(ex.take()).toEqual(['q8_quant', 'matvec_q8_exact_lanes Q8_0', 'matvec_q8_exact_lanes Q8_0']);
    b.writeTensor(x, new Float32Array(64));
    b.matmul(w, x, o1);
    expect(ex.take()).toEqual(['q8_quant', 'matvec_q8_exact_lanes Q8_0']);
  });

  it('plans one dispatch per weight part, each with its rows, and per run of a described batch', async () => {
    // 34 bytes per Q8_0 row of 32 columns: 1024-byte bindings hold 30 rows.
    const { ex, b } = setup({ maxBindingBytes: 1024, exactKernels: 'parallel' });
    const w = await b.uploadWeight('w', GgmlType.Q8_0, 40, 32, new Uint8Array(40 * 34));
    const x = b.createTensor(10, 32);
    const o = b.createTensor(10, 40);
    b.describeBatch(Int32Array.of(1, 9, 9, 9, 9, 9, 9, 9, 9, 9));
    b.matmul(w, x, o);
    const d = ex.dispatches.filter((e) => e.kernel.name !== 'q8_quant');
    // Single row: lanes kernel; the 9-row sequence: tiled kernel (16x16 per workgroup).
    expect(d.map((e) => [e.kernel.name, e.params.slice(2, 9), e.groups])).toEqual([
      ['matvec_q8_exact_lanes', [30, 34, 0, 0, 0, 0, 1], [4, 1, 1]],
      ['matvec_q8_exact_lanes', [10, 34, 30, 0, 0, 0, 1], [2, 1, 1]],
      ['matmul_q8_exact', [30, 34, 0, 0, 0, 1, 9], [2, 1, 1]],
      ['matmul_q8_exact', [10, 34, 30, 0, 0, 1, 9], [1, 1, 1]],
    ]);
  });

  it('takes the serial exact kernels on software devices, and the fast kernels without exact numerics', async () => {
    const soft = setup({}, true);
    const x = soft.b.createTensor(1, 256);
    const o = soft.b.createTensor(1, 8);
    const k = await soft.b.uploadWeight('k', GgmlType.Q4_K, 8, 256, new Uint8Array(8 * 144));
    soft.b.matmul(k, x, o);
    expect(soft.ex.take()).toEqual(['q8k_quant', 'matvec_q8k_exact Q4_K']);
    const fast = setup({ exact: false });
    const w = await q8Weight(fast.b, 16, 64);
    const xs = fast.b.createTensor(9, 64);
    fast.b.matmul(w, fast.b.createTensor(1, 64), fast.b.createTensor(1, 16));
    fast.b.matmul(w, xs, fast.b.createTensor(9, 16));
    // Up to 8 rows: x quantized to Q8 blocks, integer block dots; past 8: x rounded in f32, tiled.
    expect(fast.ex.take()).toEqual(['q8_quant', 'matvec_q8 Q8_0', 'act_round', 'matmul Q8_0']);
    // A decode row normalized in fast numerics brings its Q8 copy along: no q8_quant before the
    // matvecs that read it, until the row is written again.
    const norm = await fast.b.uploadWeight('norm', GgmlType.F32, 1, 64, new Uint8Array(64 * 4));
    const h = fast.b.createTensor(1, 64);
    fast.b.rmsNorm(h, norm, 1e-5, h);
    fast.b.matmul(w, h, fast.b.createTensor(1, 16));
    fast.b.matmul(w, h, fast.b.createTensor(1, 16));
    fast.b.add(h, h, h);
    fast.b.matmul(w, h, fast.b.createTensor(1, 16));
    expect(fast.ex.take()).toEqual(['rmsnorm_q8', 'matvec_q8 Q8_0', 'matvec_q8 Q8_0', 'add', 'q8_quant', 'matvec_q8 Q8_0']);
  });

  it('runs fast attention of a prompt in attention_prefill (tiles of 32 vectors per KV head), decode rows and exact numerics elsewhere', () => {
    // [kernel, variant, workgroups, rows, last param (attention: q8, attention_prefill: first row)]
    const heads = { nHeads: 8, nKvHeads: 2, scale: 0.125 };
    const run = (opts: GpuBackendOptions, slots: number[], headDim: number) => {
      const { ex, b } = setup(opts);
      const cache = b.createKvCache({ nLayers: 1, nSlots: 4, contextLength: 64, kvDim: 2 * headDim });
      const rows = slots.length;
      const s = b.createIndex(rows);
      b.writeIndex(s, Int32Array.from(slots));
      const pos = b.createIndex(rows);
      b.writeIndex(pos, Int32Array.from(slots, (_, i) => i));
      b.attention(b.createTensor(rows, 8 * headDim), cache, 0, s, pos, { ...heads, headDim }, b.createTensor(rows, 8 * headDim));
      return ex.dispatches.map((d) => [d.kernel.name, d.variant, d.groups[0], d.params[0], d.params[d.params.length - 1]]);
    };
    const prompt = new Array<number>(20).fill(1);
    // 20 rows x 4 heads of a group = 80 vectors: 3 tiles per KV head.
    expect(run({ exact: false }, prompt, 64)).toEqual([['attention_prefill', 0, 6, 20, 0]]);
    expect(run({ exact: false }, prompt, 128)).toEqual([['attention_prefill', 1, 6, 20, 0]]);
    expect(run({ exact: false }, prompt, 256)).toEqual([['attention', 0, 160, 20, 0]]);
    expect(run({ exact: false }, prompt.slice(0, 8), 64)).toEqual([['attention', 0, 64, 8, 1]]); // q8 = 1: decode
    // 16 rows of 4 sequences (runs of 4 rows): one workgroup per (row, head).
    expect(run({ exact: false }, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], 64)).toEqual([['attention', 0, 128, 16, 0]]);
    // Two decode rows, then a prompt's chunk of 20 rows: the decode rows' (row, head) workgroups (rows 0..1),
    // then 3 tiles per KV head from row 2.
    expect(run({ exact: false }, [0, 2, ...prompt], 64)).toEqual([
      ['attention', 0, 16, 2, 0],
      ['attention_prefill', 0, 6, 20, 2],
    ]);
    expect(run({}, prompt, 64).map((d) => d[0])).toEqual(['attention_exact']);
  });

  it('lays a large grid over x up to 65535 workgroups and the rest over y', () => {
    const { ex, b } = setup();
    const a = b.createTensor(257, 65536); // add: one workgroup per 256 elements, 65792 in all
    b.add(a, a, a);
    expect(ex.dispatches.map((d) => [d.kernel.name, d.params, d.buffers.length, d.groups])).toEqual([['add', [257 * 65536, 1, 1], 3, [65535, 2, 1]]]);
  });

  it('frees a tensor with its cached copies', async () => {
    const { ex, b } = setup();
    const base = ex.live.size;
    const w = await q8Weight(b, 16, 64);
    const x = b.createTensor(1, 64);
    b.matmul(w, x, b.createTensor(1, 16));
    expect([...ex.live].map((id) => ex.labels.get(id))).toContain('q8 x 32');
    b.release(x);
    expect([...ex.live].map((id) => ex.labels.get(id))).not.toContain('q8 x 32');
    expect(ex.live.size).toBe(base + 2); // the weight and the output remain
  });
});
