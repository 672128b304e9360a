// The GPU kernels, named by file stem (shaders/<name>.wgsl, and its HIP twin of the same name):
// which bindings (after binding 0, the uniform params), whether it reduces across a workgroup and
// whether it has a per-type dequant variant.
import { GgmlType } from '../../gguf/types.ts';

export type BindingKind = 'read' | 'rw';

export interface KernelSpec {
  readonly name: string;
  readonly file: string;
  readonly bindings: readonly BindingKind[];
  readonly reduce: boolean;
  readonly dequant: boolean;
  /** Workgroup size passed as the `WG` override; undefined when the shader fixes its own. */
  readonly wg: number | undefined;
  /** Helper files from shaders/common/. */
  readonly includes: readonly string[];
  /** The override a dispatch's variant number (when non-zero) is passed as. */
  readonly variant: string;
}

function k(name: string, bindings: BindingKind[], o: { reduce?: boolean; dequant?: boolean; wg?: number | null; includes?: string[]; variant?: string } = {}): KernelSpec {
  return {
    name,
    file: `${name}.wgsl`,
    bindings,
    reduce: o.reduce ?? false,
    dequant: o.dequant ?? false,
    wg: o.wg === null ? undefined : (o.wg ?? 64),
    includes: o.includes ?? [],
    variant: o.variant ?? 'NX',
  };
}

export const KERNELS = {
  getRows: k('get_rows', ['read', 'read', 'rw'], { dequant: true }),
  matvec: k('matvec', ['read', 'read', 'rw', 'read'], { dequant: true, reduce: true }),
  matvecQ8: k('matvec_q8', ['read', 'read', 'rw', 'read'], { dequant: true, reduce: true }),
  matvecXr: k('matvec_xr', ['read', 'read', 'rw', 'read'], { dequant: true, reduce: true, includes: ['half.wgsl', 'exact.wgsl'] }),
  matvecExact: k('matvec_exact', ['read', 'read', 'rw', 'read'], { dequant: true, includes: ['exact.wgsl'] }),
  matvecQ8Exact: k('matvec_q8_exact', ['read', 'read', 'rw', 'read'], { dequant: true, includes: ['exact.wgsl', 'q8-dot.wgsl'] }),
  matmulQ8Exact: k('matmul_q8_exact', ['read', 'read', 'rw', 'read'], { dequant: true, wg: null, includes: ['exact.wgsl', 'q8-dot.wgsl'] }),
  matvecQ8ExactLanes: k('matvec_q8_exact_lanes', ['read', 'read', 'rw', 'read'], { dequant: true, wg: null, includes: ['exact.wgsl', 'q8-dot.wgsl'] }),
  q8Quant: k('q8_quant', ['read', 'rw'], { includes: ['exact.wgsl'] }),
  matvecQ8kExact: k('matvec_q8k_exact', ['read', 'read', 'rw', 'read'], { dequant: true, includes: ['exact.wgsl'] }),
  matvecQ8kExactLanes: k('matvec_q8k_exact_lanes', ['read', 'read', 'rw', 'read'], { dequant: true, wg: null, includes: ['exact.wgsl'] }),
  q8kQuant: k('q8k_quant', ['read', 'rw'], { includes: ['exact.wgsl'] }),
  matmul: k('matmul', ['read', 'read', 'rw', 'read'], { dequant: true, wg: null }),
  rmsNorm: k('rmsnorm', ['read', 'read', 'rw'], { wg: 256, includes: ['exact.wgsl'] }),
  rmsNormQ8: k('rmsnorm_q8', ['read', 'read', 'rw', 'rw'], { wg: 256, includes: ['exact.wgsl'] }),
  rope: k('rope', ['rw', 'rw', 'read', 'read'], { includes: ['exact.wgsl'] }),
  kvStore: k('kv_store', ['read', 'read', 'read', 'read', 'rw', 'rw']),
  attention: k('attention', ['read', 'read', 'read', 'read', 'read', 'rw', 'rw'], { reduce: true, wg: 256, includes: ['half.wgsl', 'exact.wgsl'] }),
  attentionPrefill: k('attention_prefill', ['read', 'read', 'read', 'read', 'read', 'rw'], { wg: null, variant: 'WIDE' }),
  attentionExact: k('attention_exact', ['read', 'read', 'read', 'read', 'read', 'rw', 'rw'], { wg: null, includes: ['exact.wgsl', 'tanhf.wgsl'], variant: 'LONG' }),
  swiglu: k('swiglu', ['read', 'read', 'rw', 'read'], { wg: 256, includes: ['exact.wgsl'] }),
  scale: k('scale', ['read', 'rw'], { wg: 256, includes: ['exact.wgsl', 'tanhf.wgsl'] }),
  add: k('add', ['read', 'read', 'rw'], { wg: 256 }),
  actRound: k('act_round', ['read', 'rw'], { includes: ['half.wgsl', 'exact.wgsl'] }),
  gatherRows: k('gather_rows', ['read', 'read', 'rw'], { wg: 256 }),
} as const satisfies Record<string, KernelSpec>;

/** (row, head) vectors per workgroup of attention_prefill.wgsl (its QT). */
export const ATTENTION_PREFILL_TILE = 32;
/** Rows of x up to which matmul uses the matrix-vector kernel (its MAXB). */
export const MATVEC_MAX_ROWS = 8;
/** Tile edge of the matrix-matrix kernel. */
export const MATMUL_TILE = 64;
/** Weight rows per matvec workgroup (matvec.wgsl's NR). */
export const MATVEC_ROWS_PER_GROUP = 4;
/** Largest x row matvec_xr.wgsl rounds in workgroup memory (its MAX_COLS). */
export const MATVEC_XR_MAX_COLS = 2048;
/** Cached positions up to which attention_exact.wgsl keeps a row's scores in workgroup memory (its MAX_CTX). */
export const ATTENTION_EXACT_MAX_CTX = 2048;
/** (row, output) tasks per workgroup of the exact *_lanes kernels (TASKS there: 8 lanes each). */
export const EXACT_LANE_TASKS = 8;
/** Rows and outputs per workgroup of matmul_q8_exact.wgsl (its T), used for batches of 8+ rows. */
export const EXACT_TILE = 16;
/** Bytes of the scratch that holds exact attention's probabilities past ATTENTION_EXACT_MAX_CTX cells. */
export const ATTENTION_SCRATCH_BYTES = 32 * 2 ** 20;
/** u32 words per 32-element block of q8_quant.wgsl's output (8 of packed quants, d, s). */
export const Q8_BLOCK_WORDS = 10;
/** u32 words per 256-element superblock of q8k_quant.wgsl's output (64 of packed quants, d, 16 sums). */
export const Q8K_BLOCK_WORDS = 81;

/** Weight types the kernels' dequant routines implement (shaders/dequant/ and their HIP twins). */
export const GPU_WEIGHT_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
  GgmlType.IQ4_NL,
  GgmlType.Q2_K,
  GgmlType.Q3_K,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
]);
