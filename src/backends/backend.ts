// The backend interface: the small set of ops the model graph is written against.
// Each op has a CPU implementation (src/backends/cpu/), a WGSL shader (shaders/<op>.wgsl) and a
// HIP kernel (native-hip/kernels/<op>.hip) of the same name; geglu shares swiglu's kernel (its gelu
// mode) and softcap scale's.
//
// Conventions
// - Tensors are f32, row-major [rows, cols]; a row is one token (a batch of tokens = a batch of rows).
// - Weights stay in their GGUF type. `cols` is ggml's ne[0] (the contiguous dimension), `rows` the
//   product of the others. A matmul computes out[r][o] = sum_i w[o][i] * x[r][i] (+ bias[o]).
// - Ops are enqueued in order and may run lazily; `read()` is the only way back to the host, and the
//   hot path reads only logits. Nothing but `read()` and `uploadWeight()` is async.
// - Attention works on a batch of rows that may belong to different sequences: row i has a KV slot
//   `slots[i]` and a position `positions[i]`, and attends to positions 0..positions[i] of that slot.
//   `storeKv` for the same rows must come first, which makes prefill causal without a mask tensor.
import type { GgmlType } from '../gguf/types.ts';

export type BackendName = 'cpu' | 'webgpu' | 'hip';

export interface Weight {
  readonly kind: 'weight';
  readonly name: string;
  readonly type: GgmlType;
  readonly rows: number;
  readonly cols: number;
}

export interface Tensor {
  readonly kind: 'tensor';
  readonly rows: number;
  readonly cols: number;
}

/** int32 vector on the device: token ids, positions, KV slots, row indices. */
export interface IndexTensor {
  readonly kind: 'index';
  readonly length: number;
}

export interface KvCacheSpec {
  readonly nLayers: number;
  /** Independent sequences the cache holds (one per concurrent request). */
  readonly nSlots: number;
  /** Positions per slot. */
  readonly contextLength: number;
  /** nKvHeads * headDim. */
  readonly kvDim: number;
}

export interface KvCache extends KvCacheSpec {
  readonly kind: 'kv';
}

export interface RopeParams {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Rotated dimensions per head (rope.dimension_count); the rest pass through. */
  readonly ropeDim: number;
  readonly freqBase: number;
  /** 1 / linear scaling factor. */
  readonly freqScale: number;
  /** neox style rotates pairs (i, i + ropeDim/2); normal style rotates (2i, 2i+1). */
  readonly neox: boolean;
  /**
   * Per-pair frequency divisors (rope_freqs.weight, Llama 3.1 scaling), ropeDim/2 values: pair i's
   * angle is freqScale * (theta_i / freqFactors[i]). Absent: all 1.
   */
  readonly freqFactors?: Float32Array;
}

export interface AttentionParams {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Multiplies the scores inside the softmax: usually 1 / sqrt(headDim), 1 where q was scaled before. */
  readonly scale: number;
  /**
   * Sliding window: a row at position p attends to positions p - window + 1 .. p only (llama.cpp
   * masks cells with p - cell >= window). 0 or absent: every position 0 .. p.
   */
  readonly window?: number;
  /** Logit soft-capping before the softmax: score = softcap * tanh(score / softcap). 0 or absent: none. */
  readonly softcap?: number;
}

export type DeviceResource = Weight | Tensor | IndexTensor | KvCache;

export interface Backend {
  readonly name: BackendName;
  /** Adapter / device in words, for logs and reports. */
  readonly deviceDescription: string;

  uploadWeight(name: string, type: GgmlType, rows: number, cols: number, data: Uint8Array): Promise<Weight>;
  createTensor(rows: number, cols: number): Tensor;
  createIndex(length: number): IndexTensor;
  createKvCache(spec: KvCacheSpec): KvCache;
  writeTensor(t: Tensor, data: Float32Array): void;
  writeIndex(t: IndexTensor, data: Int32Array): void;

  /** out[r] = dequantized table row ids[r]. */
  getRows(table: Weight, ids: IndexTensor, out: Tensor): void;
  /** out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight. */
  rmsNorm(x: Tensor, weight: Weight, eps: number, out: Tensor): void;
  /** out = x · wᵀ (+ bias), w in its GGUF type. */
  matmul(w: Weight, x: Tensor, out: Tensor, bias?: Weight): void;
  /** Rotates q [rows, nHeads*headDim] and k [rows, nKvHeads*headDim] in place at positions[r]. */
  rope(q: Tensor, k: Tensor, positions: IndexTensor, p: RopeParams): void;
  /** cache[layer][slots[r]][positions[r]] = k[r], v[r]. */
  storeKv(cache: KvCache, layer: number, k: Tensor, v: Tensor, slots: IndexTensor, positions: IndexTensor): void;
  /** Causal GQA attention of q rows over their slot's cached positions 0..positions[r]. */
  attention(
    q: Tensor,
    cache: KvCache,
    layer: number,
    slots: IndexTensor,
    positions: IndexTensor,
    p: AttentionParams,
    out: Tensor,
  ): void;
  /** out = silu(gate) * up. */
  swiglu(gate: Tensor, up: Tensor, out: Tensor): void;
  /** out = gelu(gate) * up, GELU in its tanh form as ggml computes it (a table over f16 inputs). */
  geglu(gate: Tensor, up: Tensor, out: Tensor): void;
  /** out = x * s elementwise (out may alias x): embedding and query scaling. */
  scale(x: Tensor, s: number, out: Tensor): void;
  /** out = cap * tanh(x / cap) elementwise (out may alias x): final logit soft-capping. */
  softcap(x: Tensor, cap: number, out: Tensor): void;
  /** out = a + b (out may alias a). */
  add(a: Tensor, b: Tensor, out: Tensor): void;
  /** out[r] = x[rows[r]]: picks the rows whose logits are wanted. */
  gatherRows(x: Tensor, rows: IndexTensor, out: Tensor): void;

  /**
   * Optional, called by the model before a forward pass's ops: for each row of the batch, how many
   * rows its sequence has in this batch. A backend that replays another engine's kernels (the CPU
   * oracle picks llama.cpp's single-row or batched kernel) chooses per row with it, so that a row's
   * arithmetic does not depend on which other sequences share the batch. Tensors with another row
   * count (the gathered logit rows) hold one row per sequence.
   */
  describeBatch?(rowsOfSequence: Int32Array): void;

  /** Runs everything enqueued and returns the tensor's contents. */
  read(t: Tensor): Promise<Float32Array>;
  release(r: DeviceResource): void;
  /** Bytes of device memory currently held by live resources (tests check it returns to baseline). */
  memoryInUse(): number;
  dispose(): void;
}
