// The scale searches behind the k-quants (ggml's make_qx_quants, make_q3_quants, make_qkx2_quants),
// replayed in float32 arithmetic: every intermediate goes through fround exactly where C rounds a
// float, because byte-exactness with llama.cpp depends on it.
import * as util from './util.ts';

// Hot helpers are bound to module-local constants once: some module runners (vitest's) turn every
// use of an imported binding into a getter call, which made the inner loops several times slower.
const { f32, nearestInt, signedAbsMax } = util;

/** ggml's GROUP_MAX_EPS (1e-15f): below it a group counts as all zero. */
export const GROUP_MAX_EPS = f32(1e-15);
const F01 = f32(0.1);

/**
 * Symmetric quantization of x[xo..xo+n) to levels in [-nmax, nmax-1] (stored in L as l + nmax),
 * weighted by x^2 (ggml's rmse_type 1, no importance weights), trying 18 scale perturbations.
 * Returns the scale.
 */
export function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, L: Uint8Array, lo: number): number {
  const max = signedAbsMax(x, xo, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = f32(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(f32(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l + nmax;
    const w = f32(xi * xi);
    sumlx = f32(sumlx + f32(f32(w * xi) * l));
    suml2 = f32(suml2 + f32(f32(w * l) * l));
  }
  let scale = suml2 ? f32(sumlx / suml2) : 0;
  let best = f32(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f32(-f32(nmax + f32(F01 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      let l = nearestInt(f32(iscale * xi));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = f32(xi * xi);
      sumlx = f32(sumlx + f32(f32(w * xi) * l));
      suml2 = f32(suml2 + f32(f32(w * l) * l));
    }
    if (suml2 > 0 && f32(sumlx * sumlx) > f32(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(f32(iscale * x[xo + i]!));
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = f32(sumlx / suml2);
      best = f32(scale * sumlx);
    }
  }
  return scale;
}

/**
 * Q3_K's group search: symmetric levels in [-nmax, nmax-1], then up to 5 rounds of moving single
 * elements to a better level (x^2 weights). L gets l + nmax. Returns the scale.
 */
export function makeQ3Quants(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  const max = signedAbsMax(x, xo, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = f32(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    let l = nearestInt(f32(iscale * xi));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lo + i] = l;
    const w = f32(xi * xi);
    sumlx = f32(sumlx + f32(f32(w * xi) * l));
    suml2 = f32(suml2 + f32(f32(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const w = f32(xi * xi);
      const li = L[lo + i]!;
      let slx = f32(sumlx - f32(f32(w * xi) * li));
      if (slx > 0) {
        let sl2 = f32(suml2 - f32(f32(w * li) * li));
        let nl = nearestInt(f32(f32(xi * sl2) / slx));
        nl = Math.max(-nmax, Math.min(nmax - 1, nl));
        if (nl !== li) {
          slx = f32(slx + f32(f32(w * xi) * nl));
          sl2 = f32(sl2 + f32(f32(w * nl) * nl));
          if (sl2 > 0 && f32(f32(slx * slx) * suml2) > f32(f32(sumlx * sumlx) * sl2)) {
            L[lo + i] = nl;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (!nChanged) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] = L[lo + i]! + nmax;
  return suml2 > 0 ? f32(sumlx / suml2) : 0;
}

/**
 * Asymmetric (scale and min) quantization to levels [0, nmax], minimizing the weighted error over
 * nstep+1 candidate scales (ggml's make_qkx2_quants). L gets the levels; returns [scale, theMin]
 * where x ≈ scale * L - theMin. laux is scratch of at least n bytes.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  weights: Float32Array,
  L: Uint8Array,
  lo: number,
  laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): [number, number] {
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = weights[0]!;
  let sumX = f32(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i]!;
    sumW = f32(sumW + w);
    sumX = f32(sumX + f32(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    return [0, -min];
  }
  let iscale = f32(nmax / f32(max - min));
  let scale = f32(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(xi - min)))));
    L[lo + i] = l;
    let diff = f32(f32(f32(scale * l) + min) - xi);
    diff = useMad ? Math.abs(diff) : f32(diff * diff);
    bestError = f32(bestError + f32(weights[i]! * diff));
  }
  if (nstep < 1) return [scale, -min];
  // The fit and its error depend only on the levels, so a candidate whose levels equal the previous
  // candidate's cannot strictly beat the best (already compared against it): skipping it is exact.
  let prevValid = false;
  for (let is = 0; is <= nstep; is++) {
    // min moves when a candidate wins, so later candidates scale from the new min (as ggml does).
    iscale = f32(f32(f32(rmin + f32(rdelta * is)) + nmax) / f32(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    let same = prevValid;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(xi - min)))));
      if (laux[i] !== l) same = false;
      laux[i] = l;
      const w = weights[i]!;
      const wl = f32(w * l);
      sumL = f32(sumL + wl);
      sumL2 = f32(sumL2 + f32(wl * l));
      sumXL = f32(sumXL + f32(wl * xi));
    }
    if (same) continue;
    prevValid = true;
    const D = f32(f32(sumW * sumL2) - f32(sumL * sumL));
    if (D > 0) {
      let thisScale = f32(f32(f32(sumW * sumXL) - f32(sumX * sumL)) / D);
      let thisMin = f32(f32(f32(sumL2 * sumX) - f32(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f32(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = f32(f32(f32(thisScale * laux[i]!) + thisMin) - x[xo + i]!);
        diff = useMad ? Math.abs(diff) : f32(diff * diff);
        curError = f32(curError + f32(weights[i]! * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = laux[i]!;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}
