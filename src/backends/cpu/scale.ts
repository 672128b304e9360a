// scale: out = x * s (ggml_scale: each product rounded to float); softcap: out = cap * tanh(x / cap),
// as llama.cpp builds it from ggml_scale(1/cap), ggml_tanh (glibc's tanhf) and ggml_scale(cap),
// 1/cap being computed in float. out may alias x.
import { glibcTanhf } from './glibc-tanhf.ts';
import { expectShape, type CpuTensor } from './resources.ts';

const fr = Math.fround;

export function scale(x: CpuTensor, s: number, out: CpuTensor): void {
  expectShape('scale output', out, x.rows, x.cols);
  const f = fr(s);
  const a = x.data;
  const o = out.data;
  for (let i = 0; i < a.length; i++) o[i] = fr(a[i]! * f);
}

/** One soft-capped value: the float steps of scale(1/cap), tanh, scale(cap). */
export function softcapValue(x: number, inv: number, cap: number): number {
  return fr(glibcTanhf(fr(x * inv)) * cap);
}

/** 1/cap as llama.cpp computes it (1.0f / cap in float). */
export function softcapInverse(cap: number): number {
  return fr(1 / fr(cap));
}

export function softcap(x: CpuTensor, cap: number, out: CpuTensor): void {
  expectShape('softcap output', out, x.rows, x.cols);
  if (!(cap > 0)) throw new RangeError(`softcap: the cap must be positive, got ${cap}`);
  const inv = softcapInverse(cap);
  const c = fr(cap);
  const a = x.data;
  const o = out.data;
  for (let i = 0; i < a.length; i++) o[i] = softcapValue(a[i]!, inv, c);
}
