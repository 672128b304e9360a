// sinf / cosf as glibc computes them on x86-64 (its FMA variant, from ARM's optimized-routines): the
// argument is reduced by a multiple of pi/2 in double and a short polynomial is evaluated in double,
// then rounded to float. The result is not always the correctly rounded float (e.g. sinf(34) is one
// ulp below it), and ggml's rope takes its cos/sin from these functions, so a correctly rounded
// Math.sin would flip later f16 roundings of rotated q and k. From |x| >= 120 on (long contexts:
// positions past 120 at the highest frequencies) glibc reduces the argument by integer arithmetic
// against 192 bits of 2/pi (reduce_large, replayed below with BigInt) before the same polynomial.
const fr = Math.fround;

const HPI_INV = 0x145f306dc9c883 * 2 ** -52 * 2 ** 23; // 0x1.45F306DC9C883p+23: 2/pi scaled by 2^24
const HPI = 0x1921fb54442d18 * 2 ** -52; // 0x1.921FB54442D18p0: pi/2
const SIGN = [1, -1, -1, 1];
/** 0x1.<13 hex digits>p<exp> */
const hx = (m: string, e: number): number => (parseInt(`1${m}`, 16) / 16 ** m.length) * 2 ** e;
const C1 = -hx('ffffffd0c621c', -2);
const C2 = hx('55553e1053a42', -5);
const C3 = -hx('6c087e80f1e27', -10);
const C4 = hx('99343027bf8c3', -16);
const S1 = -hx('555545995a603', -3);
const S2 = hx('1107605230bc4', -7);
const S3 = -hx('994eb3774cf24', -13);

/** Double-precision fused multiply-add (a*b + c rounded once), via an exact two-product. */
function fma64(a: number, b: number, c: number): number {
  const p = a * b;
  // Dekker split of a and b into 26-bit halves: the product's rounding error e is exact.
  const SPLIT = 134217729;
  const ta = SPLIT * a;
  const ah = ta - (ta - a);
  const al = a - ah;
  const tb = SPLIT * b;
  const bh = tb - (tb - b);
  const bl = b - bh;
  const e = al * bl - (((p - ah * bh) - al * bh) - ah * bl);
  const s = p + c;
  const bv = s - p;
  const t = p - (s - bv) + (c - bv);
  return s + (t + e);
}

function poly(x: number, x2: number, cosTable: boolean, odd: boolean): number {
  const sgn = cosTable ? -1 : 1;
  if (!odd) {
    const x3 = x * x2;
    const s1 = fma64(x2, S3, S2);
    const x7 = x3 * x2;
    const s = fma64(x3, S1, x);
    return fr(fma64(x7, s1, s));
  }
  const x4 = x2 * x2;
  const c2 = fma64(x2, sgn * C4, sgn * C3);
  const c1 = fma64(x2, sgn * C1, sgn * 1);
  const x6 = x4 * x2;
  const c = fma64(x4, sgn * C2, c1);
  return fr(fma64(x6, c2, c));
}

/** 2/pi in hex: glibc's __inv_pio4 table holds 32-bit windows of these bits, one byte apart. */
const TWO_OVER_PI_HEX = 'a2f9836e4e441529fc2757d1f534ddc0db6295993c439041';
const INV_PIO4 = Array.from({ length: 24 }, (_, i) => BigInt(`0x${TWO_OVER_PI_HEX.slice(Math.max(0, 2 * (i - 3)), 2 * i + 2)}`));
const PI63 = HPI * 2 ** -62;
const M32 = (1n << 32n) - 1n;
const M64 = (1n << 64n) - 1n;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * glibc's reduce_large for |x| >= 120: x's 24-bit mantissa times a 96-bit window of 2/pi gives the
 * 2.62-bit fixed-point remainder modulo pi/2 (uint64 wrap-around, a 32-bit first product as in C),
 * rounded to the nearest quadrant n; the remainder's int64 converts to double times pi/2^63.
 */
function reduceLarge(x: number): { r: number; n: number } {
  f32[0] = x;
  const xi = u32[0]!;
  const arr = (xi >>> 26) & 15;
  const m = BigInt((((xi & 0xffffff) | 0x800000) << ((xi >>> 23) & 7)) >>> 0);
  const res0 = (m * INV_PIO4[arr]!) & M32;
  const res1 = m * INV_PIO4[arr + 4]!;
  const res2 = m * INV_PIO4[arr + 8]!;
  let r = ((((res2 >> 32n) | (res0 << 32n)) & M64) + res1) & M64;
  const n = ((r + (1n << 61n)) & M64) >> 62n;
  r = (r - (n << 62n)) & M64;
  return { r: Number(BigInt.asIntN(64, r)) * PI63, n: Number(n) };
}

function sincos(y: number, wantCos: boolean): number {
  const ay = Math.abs(y);
  if (ay >= 120) {
    if (!Number.isFinite(y)) return NaN;
    // reduce_large works on |y|; glibc folds y's sign into the quadrant (n + sign), which equals
    // reducing y itself to (-n, -r) as the small path would.
    const { r, n } = reduceLarge(ay);
    const nn = y < 0 ? -n : n;
    const x = y < 0 ? -r : r;
    return poly(x * SIGN[nn & 3]!, x * x, (nn & 2) !== 0, ((wantCos ? nn ^ 1 : nn) & 1) === 1);
  }
  if (ay < Math.PI / 4) {
    if (ay < 2 ** -12) return wantCos ? 1 : y;
    return poly(y, y * y, false, wantCos);
  }
  const r = y * HPI_INV;
  const n = ((Math.trunc(r) | 0) + 0x800000) >> 24;
  const x = fma64(-n, HPI, y);
  const s = SIGN[n & 3]!;
  return poly(x * s, x * x, (n & 2) !== 0, ((wantCos ? n ^ 1 : n) & 1) === 1);
}

/** glibc's sinf of a float argument. */
export function glibcSinf(x: number): number {
  return sincos(fr(x), false);
}

/** glibc's cosf of a float argument. */
export function glibcCosf(x: number): number {
  return sincos(fr(x), true);
}
