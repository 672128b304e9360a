// rope: rotary position embedding of q and k, in place.
// Pair k of a head (k < ropeDim/2) is rotated by the angle position * freqScale * freqBase^(-2k/ropeDim).
// Normal (llama) style pairs elements (2k, 2k+1); neox (qwen2) style pairs (k, k + ropeDim/2).
// Dimensions past ropeDim pass through unchanged. cos and sin are glibc's cosf/sinf (see
// glibc-sincosf.ts), as ggml's rope cache takes them. With frequency factors (Llama 3.1's
// rope_freqs), ggml divides pair k's theta by factor k in float before the freqScale product.
import type { RopeParams } from '../backend.ts';
import { glibcCosf, glibcSinf } from './glibc-sincosf.ts';
import { expectShape, type CpuIndex, type CpuTensor } from './resources.ts';

export function rope(q: CpuTensor, k: CpuTensor, positions: CpuIndex, p: RopeParams): void {
  if (p.ropeDim % 2 !== 0 || p.ropeDim > p.headDim) throw new RangeError(`rope: ropeDim ${p.ropeDim} must be even and at most headDim ${p.headDim}`);
  expectShape('rope q', q, positions.length, p.nHeads * p.headDim);
  expectShape('rope k', k, positions.length, p.nKvHeads * p.headDim);
  const half = p.ropeDim / 2;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  // ggml steps theta by a float32 factor, pair after pair; Math.fround keeps the same rounding.
  const thetaScale = Math.fround(Math.pow(p.freqBase, -2 / p.ropeDim));
  const ff = p.freqFactors;
  if (ff && ff.length < half) throw new RangeError(`rope: ${ff.length} frequency factors for ${half} rotated pairs`);
  for (let r = 0; r < positions.length; r++) {
    let theta = Math.fround(positions.data[r]!);
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p.freqScale * (ff ? Math.fround(theta / ff[i]!) : theta));
      cos[i] = glibcCosf(angle);
      sin[i] = glibcSinf(angle);
      theta = Math.fround(theta * thetaScale);
    }
    rotateHeads(q.data, r * q.cols, p.nHeads, p, cos, sin);
    rotateHeads(k.data, r * k.cols, p.nKvHeads, p, cos, sin);
  }
}

function rotateHeads(x: Float32Array, rowOff: number, nHeads: number, p: RopeParams, cos: Float64Array, sin: Float64Array): void {
  const half = p.ropeDim / 2;
  for (let h = 0; h < nHeads; h++) {
    const base = rowOff + h * p.headDim;
    for (let i = 0; i < half; i++) {
      const a = p.neox ? base + i : base + 2 * i;
      const b = p.neox ? base + i + half : base + 2 * i + 1;
      const x0 = x[a]!;
      const x1 = x[b]!;
      // ggml's x0*cos - x1*sin in float, as GCC contracts it: fma(x0, cos, -(x1*sin)).
      x[a] = fr(x0 * cos[i]! - fr(x1 * sin[i]!));
      x[b] = fr(x0 * sin[i]! + fr(x1 * cos[i]!));
    }
  }
}

const fr = Math.fround;
