// On a backend with matmulParts (the GPU backends) the loader joins a layer's q, k, v and its gate,
// up into one weight each when their types agree, and the forward pass runs each group as one
// matmul. Counted here on the GPU planner with an executor that only records launches (so real
// model shapes need no device and no data): dispatches of one decode step with the joins and with
// them disabled (the separate matmuls of before).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.ts';
import type { DeviceBuffer, Dispatch, KernelExecutor, KernelTime } from '../../src/backends/gpu/executor.ts';
import { GpuBackend } from '../../src/backends/gpu/gpu-backend.ts';
import type { GgufFile } from '../../src/gguf/reader.ts';
import { bytesFor, GgmlType, type TensorInfo } from '../../src/gguf/types.ts';
import { Model } from '../../src/model/model.ts';

/** Records launches; buffers hold nothing and read back as zeros. Parallel exact kernels, as on a real GPU. */
class CountingExecutor implements KernelExecutor {
  readonly api = 'counting';
  readonly description = 'a launch-counting executor';
  readonly software = false;
  readonly subgroups = true;
  readonly maxBindingBytes = 2 ** 31;
  readonly counters = { dispatches: 0, submits: 0 };
  readonly lastPassGpuMs = NaN;
  readonly lost = null;
  kernels: string[] = [];
  private next = 1;

  alloc(bytes: number): { buf: DeviceBuffer; check: Promise<string | null> } {
    return { buf: { id: this.next++, size: Math.ceil(bytes / 4) * 4 }, check: Promise.resolve(null) };
  }
  write(): void {}
  dispatch(d: Dispatch): void {
    this.counters.dispatches++;
    this.kernels.push(d.kernel.name);
  }
  async read(_buf: DeviceBuffer, bytes: number): Promise<Uint8Array> {
    return new Uint8Array(bytes);
  }
  flush(): void {}
  async sync(): Promise<void> {}
  free(): void {}
  profileReport(): KernelTime[] {
    return [];
  }
  resetProfile(): void {}
  dispose(): void {}
}

interface Shape {
  readonly arch: 'llama' | 'phi3' | 'qwen2';
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffn: number;
  /** Type of each projection: q, k, v, o, gate, up, down. */
  readonly types: Readonly<Record<'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down', GgmlType>>;
}

const allOf = (t: GgmlType) => ({ q: t, k: t, v: t, o: t, gate: t, up: t, down: t });
/** Q4_K_M's usual mix: attn_v and ffn_down in Q6_K. */
const Q4_K_M = { ...allOf(GgmlType.Q4_K), v: GgmlType.Q6_K, down: GgmlType.Q6_K };
/** Llama 3.2 1B (16 layers, GQA 32/8, tied head) and TinyLlama 1.1B (22 layers, GQA 32/4); the vocabulary is cut to 512 (it changes no launch count). */
const LLAMA_1B = { arch: 'llama', dim: 2048, layers: 16, heads: 32, kvHeads: 8, ffn: 8192 } as const;
const TINYLLAMA = { arch: 'llama', dim: 2048, layers: 22, heads: 32, kvHeads: 4, ffn: 5632 } as const;

/** A GgufFile stand-in of the shape, every tensor zeros (launches do not depend on values). */
function fakeFile(s: Shape): GgufFile {
  const F = GgmlType.F32;
  const headDim = s.dim / s.heads;
  const kv = s.kvHeads * headDim;
  const list: Array<[string, number[], GgmlType]> = [
    ['token_embd.weight', [s.dim, 512], GgmlType.Q8_0],
    ['output_norm.weight', [s.dim], F],
  ];
  for (let l = 0; l < s.layers; l++) {
    const b = `blk.${l}.`;
    list.push([`${b}attn_norm.weight`, [s.dim], F], [`${b}ffn_norm.weight`, [s.dim], F]);
    if (s.arch === 'phi3') {
      list.push([`${b}attn_qkv.weight`, [s.dim, s.dim + 2 * kv], s.types.q], [`${b}ffn_up.weight`, [s.dim, 2 * s.ffn], s.types.up]);
    } else {
      list.push([`${b}attn_q.weight`, [s.dim, s.dim], s.types.q], [`${b}attn_k.weight`, [s.dim, kv], s.types.k], [`${b}attn_v.weight`, [s.dim, kv], s.types.v]);
      list.push([`${b}ffn_gate.weight`, [s.dim, s.ffn], s.types.gate], [`${b}ffn_up.weight`, [s.dim, s.ffn], s.types.up]);
    }
    if (s.arch === 'qwen2') list.push([`${b}attn_q.bias`, [s.dim], F], [`${b}attn_k.bias`, [kv], F], [`${b}attn_v.bias`, [kv], F]);
    list.push([`${b}attn_output.weight`, [s.dim, s.dim], s.types.o], [`${b}ffn_down.weight`, [s.ffn, s.dim], s.types.down]);
  }
  if (s.arch === 'phi3') list.push(['output.weight', [s.dim, 512], GgmlType.Q8_0]);
  const infos = new Map<string, TensorInfo>();
  for (const [name, dims, type] of list) {
    const n = dims.reduce((a, b) => a * b, 1);
    infos.set(name, { name, dims, type, offset: 0, nbytes: bytesFor(type, n), nElements: n });
  }
  const meta: Record<string, number> = {
    embedding_length: s.dim,
    block_count: s.layers,
    'attention.head_count': s.heads,
    'attention.head_count_kv': s.kvHeads,
    feed_forward_length: s.ffn,
    context_length: 4096,
    'attention.layer_norm_rms_epsilon': 1e-5,
    ...(s.arch === 'phi3' ? { 'attention.sliding_window': 2047 } : {}),
  };
  const fake = {
    path: `fake-${s.arch}.gguf`,
    metadata: new Map<string, string | number>([['general.architecture', s.arch], ...Object.entries(meta).map(([k, v]) => [`${s.arch}.${k}`, v] as [string, number])]),
    tensors: [...infos.values()],
    tensor: (name: string) => infos.get(name),
    readTensor: async (t: TensorInfo) => new Uint8Array(t.nbytes),
  };
  return fake as unknown as GgufFile;
}

const isMatmul = (k: string): boolean => k.startsWith('matvec') || k.startsWith('matmul');

/** Launches of one decode step (one row at position 1, after a one-token prompt): all, and matmuls. */
async function decodeStep(s: Shape, join: boolean): Promise<{ all: number; matmuls: number; weights: number }> {
  const ex = new CountingExecutor();
  const backend: Backend = new GpuBackend('hip', ex);
  // Without matmulParts the loader keeps every projection separate: the plan before the joins.
  if (!join) Object.defineProperty(backend, 'matmulParts', { value: undefined });
  const model = await Model.load(fakeFile(s), backend);
  try {
    const cache = model.createKvCache(1, 64);
    const step = (pos: number) => model.forward({ tokens: Int32Array.of(1), slots: Int32Array.of(0), positions: Int32Array.of(pos), logitRows: Int32Array.of(0) }, cache);
    await step(0);
    ex.kernels = [];
    await step(1);
    return { all: ex.kernels.length, matmuls: ex.kernels.filter(isMatmul).length, weights: backend.memoryInUse() };
  } finally {
    model.dispose();
  }
}

describe('joined projections: launches per decode step on the GPU planner', () => {
  it.each([
    ['Llama 3.2 1B, Q4_0', { ...LLAMA_1B, types: allOf(GgmlType.Q4_0) }, 3],
    ['TinyLlama 1.1B, Q4_0', { ...TINYLLAMA, types: allOf(GgmlType.Q4_0) }, 3],
    ['Llama 3.2 1B, Q8_0', { ...LLAMA_1B, types: allOf(GgmlType.Q8_0) }, 3],
    ['Llama 3.2 1B, F16', { ...LLAMA_1B, types: allOf(GgmlType.F16) }, 3],
    // attn_v in Q6_K: q, k, v stay three matmuls, gate and up join.
    ['Llama 3.2 1B, Q4_K_M mix', { ...LLAMA_1B, types: Q4_K_M }, 1],
    ['qwen2 shape with q, k, v biases, Q4_0', { ...LLAMA_1B, arch: 'qwen2', layers: 4, types: allOf(GgmlType.Q4_0) }, 3],
    ['phi3 shape (fused attn_qkv and gate|up kept whole), Q4_K', { ...LLAMA_1B, arch: 'phi3', kvHeads: 32, layers: 4, types: allOf(GgmlType.Q4_K) }, 3],
  ] as const)('%s: fewer matmul launches per layer by the joins', async (name, shape, savedPerLayer) => {
    const before = await decodeStep(shape, false);
    const after = await decodeStep(shape, true);
    console.log(`${name}: ${before.all} -> ${after.all} launches per decode step (matmuls ${before.matmuls} -> ${after.matmuls})`);
    expect(before.matmuls - after.matmuls).toBe(savedPerLayer * shape.layers);
    expect(before.all - after.all).toBe(savedPerLayer * shape.layers);
    // The joined weights replace the parts: no second copy on the device.
    expect(after.weights).toBe(before.weights);
  });

  it('a Q4_0 part whose row count takes another llama.cpp kernel than the joined matrix is not joined', async () => {
    // 8 heads of 8 with 1 KV head: k and v have 8 rows, q 64 (all multiples of 8): joined. With
    // head dim 4 (16 heads), k and v have 4 rows: repacked q4_0_8x8 for 72 rows but not for 4.
    const small = { arch: 'llama', dim: 64, layers: 1, ffn: 64, types: allOf(GgmlType.Q4_0) } as const;
    const joined = await decodeStep({ ...small, heads: 8, kvHeads: 1 }, true);
    const separate = await decodeStep({ ...small, heads: 8, kvHeads: 1 }, false);
    expect(separate.matmuls - joined.matmuls).toBe(3);
    const odd = { ...small, heads: 16, kvHeads: 1 };
    const oddJoined = await decodeStep(odd, true);
    const oddSeparate = await decodeStep(odd, false);
    // Only gate|up joins.
    expect(oddSeparate.matmuls - oddJoined.matmuls).toBe(1);
  });
});
