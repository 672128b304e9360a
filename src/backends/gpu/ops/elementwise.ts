// Row-wise and element-wise ops: rmsNorm (one workgroup per row), swiglu / geglu (one kernel, the
// GELU by ggml's table), add, scale and softcap (one kernel) with one invocation per element. A
// written binding may not alias a read one, so an input that is also the output is bound as the
// dummy and flagged: the kernel reads it through the output.
import { GgmlType } from '../../../gguf/types.ts';
import type { DeviceBuffer } from '../executor.ts';
import { Q8_COPY } from '../activation-copies.ts';
import { KERNELS, MATVEC_MAX_ROWS, Q8_BLOCK_WORDS, type KernelSpec } from '../kernels.ts';
import { expectShape, type GpuTensor, type GpuWeight } from '../resources.ts';
import type { OpContext } from './context.ts';

export function rmsNorm(ctx: OpContext, xt: GpuTensor, w: GpuWeight, eps: number, o: GpuTensor): void {
  if (w.rows * w.cols !== xt.cols || w.storedType !== GgmlType.F32) {
    throw new RangeError(`rmsNorm: weight ${w.name} (${w.rows}x${w.cols}) must be a vector of ${xt.cols} values`);
  }
  expectShape('rmsNorm output', o, xt.rows, xt.cols);
  const inPlace = xt.buf === o.buf;
  const params = [xt.rows, xt.cols, { f: eps }, inPlace ? 1 : 0];
  const bufs = [inPlace ? ctx.dummy : xt.buf, w.parts[0]!.buf, o.buf];
  if (!ctx.settings.exact && xt.rows <= MATVEC_MAX_ROWS && xt.cols % 32 === 0) {
    // Fast decode: the Q8 copy that the matvecs over legacy weights read (quantizedActivations)
    // comes out of the norm itself, saving their q8_quant dispatch; the f32 output is rmsnorm's.
    const copy = ctx.copies.get(o.buf, Q8_COPY, ((xt.rows * xt.cols) / 32) * Q8_BLOCK_WORDS * 4, 'q8 x 32');
    ctx.record(KERNELS.rmsNormQ8, undefined, params, [...bufs, copy.buf], xt.rows);
    copy.fresh = true;
    return;
  }
  ctx.record(KERNELS.rmsNorm, undefined, params, bufs, xt.rows);
}

/** out = silu(gate) * up. */
export function swiglu(ctx: OpContext, gate: GpuTensor, up: GpuTensor, out: GpuTensor): void {
  elementwise(ctx, KERNELS.swiglu, 'swiglu', gate, up, out, [gate.cols, 0], [ctx.dummy]);
}

/** out = gelu(gate) * up (swiglu.wgsl's gelu mode). */
export function geglu(ctx: OpContext, gate: GpuTensor, up: GpuTensor, out: GpuTensor): void {
  elementwise(ctx, KERNELS.swiglu, 'geglu', gate, up, out, [gate.cols, 1], [ctx.geluTable()]);
}

/** out = x * s. */
export function scale(ctx: OpContext, x: GpuTensor, s: number, out: GpuTensor): void {
  scaleKernel(ctx, 'scale', x, out, 0, Math.fround(s), 0);
}

/** out = cap * tanh(x / cap), as llama.cpp's scale(1/cap), tanh, scale(cap). */
export function softcap(ctx: OpContext, x: GpuTensor, cap: number, out: GpuTensor): void {
  if (!(cap > 0)) throw new RangeError(`softcap: the cap must be positive, got ${cap}`);
  scaleKernel(ctx, 'softcap', x, out, 1, Math.fround(1 / Math.fround(cap)), Math.fround(cap));
}

function scaleKernel(ctx: OpContext, what: string, x: GpuTensor, o: GpuTensor, capped: number, s: number, c: number): void {
  expectShape(`${what} output`, o, x.rows, x.cols);
  const n = x.rows * x.cols;
  const inPlace = x.buf === o.buf;
  ctx.record(KERNELS.scale, undefined, [n, inPlace ? 1 : 0, capped, { f: s }, { f: c }], [inPlace ? ctx.dummy : x.buf, o.buf], Math.ceil(n / 256));
}

/** out = a + b. */
export function add(ctx: OpContext, a: GpuTensor, b: GpuTensor, out: GpuTensor): void {
  elementwise(ctx, KERNELS.add, 'add', a, b, out);
}

function elementwise(
  ctx: OpContext,
  spec: KernelSpec,
  what: string,
  at: GpuTensor,
  bt: GpuTensor,
  o: GpuTensor,
  extra: readonly number[] = [],
  extraBufs: readonly DeviceBuffer[] = [],
): void {
  expectShape(`${what} b`, bt, at.rows, at.cols);
  expectShape(`${what} output`, o, at.rows, at.cols);
  const n = at.rows * at.cols;
  const aOut = at.buf === o.buf;
  const bOut = bt.buf === o.buf;
  ctx.record(spec, undefined, [n, aOut ? 1 : 0, bOut ? 1 : 0, ...extra], [aOut ? ctx.dummy : at.buf, bOut ? ctx.dummy : bt.buf, o.buf, ...extraBufs], Math.ceil(n / 256));
}
