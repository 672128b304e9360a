// matmul: out = x · wᵀ (+ bias), one dispatch per weight part (a weight over the binding limit is
// split by rows). Exact numerics replay llama.cpp's CPU kernels: K-quants against Q8_K-quantized
// x, legacy 32-blocks against Q8_0/Q8_1 x, float weights against x rounded to their type, each in
// the variant the CPU backend picks per run of rows (kernel-choice.ts). Otherwise the f32 kernels:
// a matrix-vector kernel up to MATVEC_MAX_ROWS rows, tiled matrix-matrix past it.
import { GgmlType } from '../../../gguf/types.ts';
import { MAX_GROUPS } from '../executor.ts';
import { actRoundMode, floatKernelKind, isKQuant, legacyKernelKind } from '../kernel-choice.ts';
import { EXACT_LANE_TASKS, EXACT_TILE, KERNELS, MATMUL_TILE, MATVEC_MAX_ROWS, MATVEC_ROWS_PER_GROUP, MATVEC_XR_MAX_COLS } from '../kernels.ts';
import { expectShape, type GpuTensor, type GpuWeight } from '../resources.ts';
import { quantizedActivations, roundedActivations } from './activations.ts';
import type { OpContext } from './context.ts';

export function matmul(ctx: OpContext, w: GpuWeight, xt: GpuTensor, o: GpuTensor, b: GpuWeight | undefined): void {
  if (xt.cols !== w.cols) throw new RangeError(`matmul ${w.name}: input rows have ${xt.cols} columns, the weight has ${w.cols}`);
  expectShape(`matmul ${w.name} output`, o, xt.rows, w.rows);
  if (o.buf === xt.buf) throw new RangeError(`matmul ${w.name}: the output must not alias the input`);
  let biasBuf = ctx.dummy;
  if (b) {
    if (b.rows * b.cols !== w.rows || b.storedType !== GgmlType.F32) {
      throw new RangeError(`matmul ${w.name}: bias ${b.name} has ${b.rows * b.cols} values, need ${w.rows}`);
    }
    biasBuf = b.parts[0]!.buf;
  }
  const hasBias = b ? 1 : 0;
  const { exact, exactKernels } = ctx.settings;
  // Kernels follow the type the weight is stored in: a one-row quantized weight is held as f32.
  if (exact && isKQuant(w.storedType) && w.cols % 256 === 0) {
    // llama.cpp has no batched kernel for K-quants: every row takes ggml_vec_dot_*_q8_K.
    const xq = quantizedActivations(ctx, xt, 256);
    for (const part of w.parts) {
      const params = [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, 0, xt.rows];
      const bufs = [part.buf, xq, o.buf, biasBuf];
      if (exactKernels === 'parallel') ctx.record(KERNELS.matvecQ8kExactLanes, w.storedType, params, bufs, Math.ceil((xt.rows * part.rows) / EXACT_LANE_TASKS));
      else ctx.record(KERNELS.matvecQ8kExact, w.storedType, params, bufs, Math.ceil((xt.rows * part.rows) / 64));
    }
    return;
  }
  if (exact && legacyKernelKind(w.storedType, false, w.rows) !== undefined && w.cols % 32 === 0) {
    const xq = quantizedActivations(ctx, xt, 32);
    for (const run of ctx.runs(xt.rows)) {
      const kind = legacyKernelKind(w.storedType, run.batched, w.rows)!;
      for (const part of w.parts) {
        const params = [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, kind, run.lo, run.n];
        const bufs = [part.buf, xq, o.buf, biasBuf];
        if (exactKernels === 'serial') ctx.record(KERNELS.matvecQ8Exact, w.storedType, params, bufs, Math.ceil((run.n * part.rows) / 64));
        else if (run.n >= 8 && kind !== 2) ctx.record(KERNELS.matmulQ8Exact, w.storedType, params, bufs, Math.ceil(part.rows / EXACT_TILE) * Math.ceil(run.n / EXACT_TILE));
        else ctx.record(KERNELS.matvecQ8ExactLanes, w.storedType, params, bufs, Math.ceil((run.n * part.rows) / EXACT_LANE_TASKS));
      }
    }
    return;
  }
  if (exact && floatKernelKind(w.type, 1, w.cols) !== undefined) {
    const xBuf = roundedActivations(ctx, xt, w.type);
    for (const run of ctx.runs(xt.rows)) {
      const kind = floatKernelKind(w.type, run.batched ? 2 : 1, w.cols)!;
      for (const part of w.parts) {
        ctx.record(KERNELS.matvecExact, w.storedType, [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, kind, run.lo, run.n], [part.buf, xBuf, o.buf, biasBuf], run.n * part.rows);
      }
    }
    return;
  }
  // Decode (a few rows) of a legacy 32-block weight: x quantized to Q8 blocks once (cached, like
  // act_round's copy, whose values are the same), integer block dots (matvec_q8).
  if (!exact && xt.rows <= MATVEC_MAX_ROWS && legacyKernelKind(w.storedType, false, w.rows) !== undefined && w.cols % 32 === 0) {
    const xq = quantizedActivations(ctx, xt, 32);
    for (const part of w.parts) {
      const params = [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias];
      ctx.record(KERNELS.matvecQ8, w.storedType, params, [part.buf, xq, o.buf, biasBuf], Math.ceil(part.rows / MATVEC_ROWS_PER_GROUP), xt.rows);
    }
    return;
  }
  // Decode of one row with f16/bf16/q8_0 rounding: round inside the matvec (no extra dispatch),
  // unless a rounded copy of x is already at hand.
  const mode = actRoundMode(w.type);
  const fuseRound = ctx.settings.fuseDecodeRounding && xt.rows === 1 && mode >= 1 && mode <= 3 && xt.cols <= MATVEC_XR_MAX_COLS && !ctx.copies.isFresh(xt.buf, mode);
  const xBuf = fuseRound ? xt.buf : roundedActivations(ctx, xt, w.type);
  for (const part of w.parts) {
    const bufs = [part.buf, xBuf, o.buf, biasBuf];
    const groups = Math.ceil(part.rows / MATVEC_ROWS_PER_GROUP);
    if (fuseRound) {
      ctx.record(KERNELS.matvecXr, w.storedType, [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias, mode], bufs, groups);
    } else if (xt.rows <= MATVEC_MAX_ROWS) {
      ctx.record(KERNELS.matvec, w.storedType, [w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias], bufs, groups, xt.rows);
    } else {
      const gx = Math.ceil(part.rows / MATMUL_TILE);
      const gy = Math.ceil(xt.rows / MATMUL_TILE);
      if (gx > MAX_GROUPS || gy > MAX_GROUPS) throw new RangeError(`matmul ${w.name}: ${xt.rows}x${part.rows} is too large for one dispatch`);
      ctx.record2d(KERNELS.matmul, w.storedType, [xt.rows, w.cols, w.rows, part.rows, w.rowBytes, part.rowLo, hasBias], bufs, gx, gy);
    }
  }
}
