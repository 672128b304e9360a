// The activations a matmul reads: x rounded or quantized the way llama.cpp's CPU matmul converts
// it for the weight type (its vec_dot type), so that GPU logits match the reference engine. The
// copies are cached (activation-copies.ts) until x is written again.
import type { GgmlType } from '../../../gguf/types.ts';
import { Q8_COPY, Q8K_COPY } from '../activation-copies.ts';
import type { DeviceBuffer } from '../executor.ts';
import { ACT_ROUND_Q8, actRoundBlock, actRoundMode } from '../kernel-choice.ts';
import { KERNELS, Q8_BLOCK_WORDS, Q8K_BLOCK_WORDS } from '../kernels.ts';
import type { GpuTensor } from '../resources.ts';
import type { OpContext } from './context.ts';

/** x rounded to the vec-dot type for weights of `type` (act_round); x itself when none applies. */
export function roundedActivations(ctx: OpContext, x: GpuTensor, type: GgmlType): DeviceBuffer {
  const mode = actRoundMode(type);
  if (mode === 0) return x.buf;
  const block = actRoundBlock(mode);
  const n = x.rows * x.cols;
  if (n % block !== 0) throw new RangeError(`matmul: activations of ${n} values do not split into blocks of ${block}`);
  const copy = ctx.copies.get(x.buf, mode, x.buf.size, `rounded x ${mode}`);
  if (!copy.fresh) {
    // act_round.wgsl runs 8 invocations per q8_0 block, one per block otherwise.
    const invocations = mode === ACT_ROUND_Q8 ? (n / block) * 8 : n / block;
    ctx.record(KERNELS.actRound, undefined, [n / block, mode], [x.buf, copy.buf], Math.ceil(invocations / 64));
    copy.fresh = true;
  }
  return copy.buf;
}

/**
 * x quantized as the CPU backend does: blocks of 32 to Q8_0/Q8_1 (quantizeQ8Rows, q8_quant), of
 * 256 to Q8_K (quantizeQ8KRows, q8k_quant).
 */
export function quantizedActivations(ctx: OpContext, x: GpuTensor, block: 32 | 256): DeviceBuffer {
  const n = x.rows * x.cols;
  if (n % block !== 0) throw new RangeError(`matmul: activations of ${n} values do not split into blocks of ${block}`);
  const words = block === 32 ? Q8_BLOCK_WORDS : Q8K_BLOCK_WORDS;
  const copy = ctx.copies.get(x.buf, block === 32 ? Q8_COPY : Q8K_COPY, (n / block) * words * 4, `q8 x ${block}`);
  if (!copy.fresh) {
    // q8_quant.wgsl runs 8 invocations per block, q8k_quant.wgsl one.
    const invocations = block === 32 ? (n / block) * 8 : n / block;
    ctx.record(block === 32 ? KERNELS.q8Quant : KERNELS.q8kQuant, undefined, [n / block], [x.buf, copy.buf], Math.ceil(invocations / 64));
    copy.fresh = true;
  }
  return copy.buf;
}
