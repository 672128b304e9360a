// The rules that pick a GPU kernel variant: which of llama.cpp's CPU kernels an exact GPU kernel
// replays for a weight type and batch (src/backends/cpu/matmul.ts and quant-dot.ts decide the same
// way), and how a batch splits into runs of rows that take the same one. Pure functions, shared by
// every GPU executor.
import { GgmlType } from '../../gguf/types.ts';

/**
 * matvec_exact's kind for float weights: the kernel llama.cpp's CPU backend runs for this type
 * and batch (see src/backends/cpu/matmul.ts); undefined for quantized types.
 */
export function floatKernelKind(type: GgmlType, rows: number, k: number): number | undefined {
  const tiny = rows >= 2 && k % 16 === 0;
  switch (type) {
    case GgmlType.F32:
      return tiny ? 2 : 0;
    case GgmlType.F16:
      return tiny ? 2 : 1;
    case GgmlType.BF16:
      return rows >= 2 && k % 32 === 0 ? 4 : 3;
    default:
      return undefined;
  }
}

/**
 * matvec_q8_exact's kind for legacy-quantized weights (see src/backends/cpu/quant-dot.ts):
 * 3 for Q4_0 matrices of 8k rows (llama.cpp repacks them to q4_0_8x8), 1 for Q4_1/Q5_1, 2 for
 * IQ4_NL single rows, else 0; undefined for other types.
 */
export function legacyKernelKind(type: GgmlType, batched: boolean, weightRows: number): number | undefined {
  switch (type) {
    case GgmlType.Q4_0:
      return weightRows % 8 === 0 ? 3 : 0;
    case GgmlType.Q5_0:
    case GgmlType.Q8_0:
      return 0;
    case GgmlType.Q4_1:
    case GgmlType.Q5_1:
      return 1;
    case GgmlType.IQ4_NL:
      return batched ? 0 : 2;
    default:
      return undefined;
  }
}

/** K-quant superblock types: their exact matmul takes x quantized to Q8_K. */
export function isKQuant(type: GgmlType): boolean {
  return type === GgmlType.Q2_K || type === GgmlType.Q3_K || type === GgmlType.Q4_K || type === GgmlType.Q5_K || type === GgmlType.Q6_K;
}

/** act_round modes: how x is rounded before a matmul (0 leaves it as is). */
export const ACT_ROUND_F16 = 1;
export const ACT_ROUND_BF16 = 2;
export const ACT_ROUND_Q8 = 3;
export const ACT_ROUND_Q8K = 4;

/**
 * act_round mode for weights of `type`: llama.cpp's CPU vec_dot type (F16 -> f16, BF16 -> bf16,
 * 32-blocks -> Q8_0 (Q8_1 for Q4_1/Q5_1: same quants), K-quants -> Q8_K); 0 leaves x as is.
 */
export function actRoundMode(type: GgmlType): number {
  switch (type) {
    case GgmlType.F16:
      return ACT_ROUND_F16;
    case GgmlType.BF16:
      return ACT_ROUND_BF16;
    case GgmlType.Q4_0:
    case GgmlType.Q4_1:
    case GgmlType.Q5_0:
    case GgmlType.Q5_1:
    case GgmlType.Q8_0:
    case GgmlType.IQ4_NL:
      return ACT_ROUND_Q8;
    case GgmlType.Q2_K:
    case GgmlType.Q3_K:
    case GgmlType.Q4_K:
    case GgmlType.Q5_K:
    case GgmlType.Q6_K:
      return ACT_ROUND_Q8K;
    default:
      return 0;
  }
}

/** Values per block act_round rounds together in `mode` (the quantization block, else 1). */
export function actRoundBlock(mode: number): number {
  return mode === ACT_ROUND_Q8 ? 32 : mode === ACT_ROUND_Q8K ? 256 : 1;
}

/** Consecutive rows of a batch that take the same llama.cpp kernel (single-row or batched). */
export interface KernelRun {
  readonly lo: number;
  readonly n: number;
  readonly batched: boolean;
}

/**
 * The rows of a tensor of `rows` rows as runs of consecutive rows that take the same llama.cpp
 * kernel, as the CPU backend decides it: batched only when the row's sequence has two rows or more
 * in the described batch (`layout`: rows of each row's sequence, Backend.describeBatch); a tensor of
 * another row count (gathered logit rows) holds single rows; without a described batch the whole
 * tensor counts as one sequence. The exact kernels run once per run, so that a sequence's
 * arithmetic does not depend on its neighbours in the batch.
 */
export function kernelRuns(rows: number, layout: Int32Array | undefined): KernelRun[] {
  if (!layout) return [{ lo: 0, n: rows, batched: rows >= 2 }];
  if (layout.length !== rows) return [{ lo: 0, n: rows, batched: false }];
  const runs: { lo: number; n: number; batched: boolean }[] = [];
  for (let r = 0; r < rows; r++) {
    const batched = layout[r]! >= 2;
    const last = runs[runs.length - 1];
    if (last && last.batched === batched) last.n++;
    else runs.push({ lo: r, n: 1, batched });
  }
  return runs;
}

/** Largest head dimension attention_prefill takes (its variant WIDE = 1; WIDE = 0 up to 64). */
export const ATTENTION_PREFILL_MAX_HEAD_DIM = 128;
/** Fewest rows of one slot in a row for attention_prefill. */
export const ATTENTION_PREFILL_MIN_RUN = 8;

/** Fast attention of a batch split in two: rows before `from` by attention.wgsl, the rest by attention_prefill. */
export interface AttentionPrefillSplit {
  readonly from: number;
  /** attention_prefill's variant: 0 for heads of up to 64, 1 up to 128. */
  readonly wide: number;
}

/**
 * Where attention_prefill takes over a batch of rows with these slots (GQA `group` q heads per KV
 * head, tiles of `tile` (row, head) vectors), or undefined where attention.wgsl takes it all:
 * batches of up to maxDecodeRows rows (decode, whose Q8 output copy attention.wgsl writes), heads
 * wider than ATTENTION_PREFILL_MAX_HEAD_DIM, and batches that do not end in runs of one slot of at
 * least ATTENTION_PREFILL_MIN_RUN rows and a tile's rows. The prefill kernel takes a tile's slots
 * one after another, so rows of short runs (decode rows) would serialize whole contexts in one
 * workgroup: the batch's rows up to the end of its last short run go to attention.wgsl (a prefix,
 * which that kernel takes as a smaller row count), as continuous batching lays out decode rows
 * before a prompt's chunk; with runs a tile long or more a tile meets two slots at most.
 */
export function attentionPrefillSplit(slots: ArrayLike<number>, headDim: number, group: number, tile: number, maxDecodeRows: number): AttentionPrefillSplit | undefined {
  const rows = slots.length;
  if (rows <= maxDecodeRows || headDim > ATTENTION_PREFILL_MAX_HEAD_DIM) return undefined;
  const minRun = Math.max(ATTENTION_PREFILL_MIN_RUN, Math.ceil(tile / group));
  let from = 0;
  let start = 0;
  for (let r = 1; r <= rows; r++) {
    if (r < rows && slots[r] === slots[r - 1]) continue;
    if (r - start < minRun) from = r;
    start = r;
  }
  return from < rows ? { from, wide: headDim <= 64 ? 0 : 1 } : undefined;
}
