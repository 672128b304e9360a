// Row-wise and element-wise ops: rmsNorm (one workgroup per row), swiglu and add (one invocation
// per element). A written binding may not alias a read one, so an input that is also the output
// is bound as the dummy and flagged: the kernel reads it through the output.
import { GgmlType } from '../../../gguf/types.ts';
import { KERNELS, type KernelSpec } from '../kernels.ts';
import { expectShape, type GpuTensor, type GpuWeight } from '../resources.ts';
import type { OpContext } from './context.ts';

export function rmsNorm(ctx: OpContext, xt: GpuTensor, w: GpuWeight, eps: number, o: GpuTensor): void {
  if (w.rows * w.cols !== xt.cols || w.storedType !== GgmlType.F32) {
    throw new RangeError(`rmsNorm: weight ${w.name} (${w.rows}x${w.cols}) must be a vector of ${xt.cols} values`);
  }
  expectShape('rmsNorm output', o, xt.rows, xt.cols);
  const inPlace = xt.buf === o.buf;
  ctx.record(KERNELS.rmsNorm, undefined, [xt.rows, xt.cols, { f: eps }, inPlace ? 1 : 0], [inPlace ? ctx.dummy : xt.buf, w.parts[0]!.buf, o.buf], xt.rows);
}

/** out = silu(gate) * up. */
export function swiglu(ctx: OpContext, gate: GpuTensor, up: GpuTensor, out: GpuTensor): void {
  elementwise(ctx, KERNELS.swiglu, 'swiglu', gate, up, out, [gate.cols]);
}

/** out = a + b. */
export function add(ctx: OpContext, a: GpuTensor, b: GpuTensor, out: GpuTensor): void {
  elementwise(ctx, KERNELS.add, 'add', a, b, out);
}

function elementwise(ctx: OpContext, spec: KernelSpec, what: string, at: GpuTensor, bt: GpuTensor, o: GpuTensor, extra: readonly number[] = []): void {
  expectShape(`${what} b`, bt, at.rows, at.cols);
  expectShape(`${what} output`, o, at.rows, at.cols);
  const n = at.rows * at.cols;
  const aOut = at.buf === o.buf;
  const bOut = bt.buf === o.buf;
  ctx.record(spec, undefined, [n, aOut ? 1 : 0, bOut ? 1 : 0, ...extra], [aOut ? ctx.dummy : at.buf, bOut ? ctx.dummy : bt.buf, o.buf], Math.ceil(n / 256));
}
