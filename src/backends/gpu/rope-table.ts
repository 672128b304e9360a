// Host-computed rope angles: cos/sin for every (position, pair), computed exactly as the CPU
// reference (and ggml) does: theta starts at the position and is multiplied by the float32 factor
// base^(-2/ropeDim) pair after pair; the angle is freqScale * theta. A table keeps the GPU result
// independent of the device's sin/cos accuracy, and cos/sin are glibc's cosf/sinf (the CPU
// backend's replay), which ggml's rope cache takes: they are not always correctly rounded.
// Frequency factors (Llama 3.1's rope_freqs) divide pair i's theta before the freqScale product,
// as in the CPU reference, so the kernel itself never sees them.
import type { RopeParams } from '../backend.ts';
import { glibcCosf, glibcSinf } from '../cpu/glibc-sincosf.ts';
import type { DeviceBuffer, KernelExecutor } from './executor.ts';

export function ropeTable(positions: number, ropeDim: number, freqBase: number, freqScale: number, freqFactors?: Float32Array): Float32Array {
  const half = ropeDim / 2;
  if (freqFactors && freqFactors.length < half) throw new RangeError(`rope: ${freqFactors.length} frequency factors for ${half} rotated pairs`);
  const t = new Float32Array(positions * half * 2);
  const thetaScale = Math.fround(Math.pow(freqBase, -2 / ropeDim));
  for (let p = 0; p < positions; p++) {
    let theta = Math.fround(p);
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(freqScale * (freqFactors ? Math.fround(theta / freqFactors[i]!) : theta));
      t[(p * half + i) * 2] = glibcCosf(angle);
      t[(p * half + i) * 2 + 1] = glibcSinf(angle);
      theta = Math.fround(theta * thetaScale);
    }
  }
  return t;
}

/**
 * Rope tables on the device, one per (ropeDim, freqBase, freqScale, frequency factors), grown by
 * doubling as positions rise. Factors are keyed by their values (the key of an array is kept, since
 * a model passes the same one every layer).
 */
export class RopeTables {
  private readonly tables = new Map<string, { buf: DeviceBuffer; positions: number }>();
  private readonly factorKeys = new WeakMap<Float32Array, string>();

  constructor(private readonly executor: KernelExecutor) {}

  /** The table for `p` covering positions 0..maxPos. */
  get(p: RopeParams, maxPos: number): DeviceBuffer {
    const key = `${p.ropeDim}|${p.freqBase}|${p.freqScale}|${this.factorsKey(p.freqFactors)}`;
    let t = this.tables.get(key);
    if (!t || t.positions <= maxPos) {
      let positions = Math.max(256, t?.positions ?? 0);
      while (positions <= maxPos) positions *= 2;
      const data = ropeTable(positions, p.ropeDim, p.freqBase, p.freqScale, p.freqFactors);
      const { buf } = this.executor.alloc(data.byteLength, `rope table ${p.ropeDim}|${p.freqBase}|${p.freqScale}${p.freqFactors ? '|factors' : ''}`, 'scratch');
      this.executor.write(buf, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (t) this.executor.free(t.buf);
      t = { buf, positions };
      this.tables.set(key, t);
    }
    return t.buf;
  }

  private factorsKey(f: Float32Array | undefined): string {
    if (!f) return '';
    let key = this.factorKeys.get(f);
    if (key === undefined) {
      key = Array.from(f, (v) => v.toString()).join(',');
      this.factorKeys.set(f, key);
    }
    return key;
  }
}
