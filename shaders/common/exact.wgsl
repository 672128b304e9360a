// Exact replay helpers: the float32 operations llama.cpp's CPU backend performs, in its order, so
// that the GPU computes bit-identical values (see src/backends/cpu/ggml-simd.ts for why one ulp
// matters). WGSL's fma() is a fused multiply-add; a*b+c written out may or may not be contracted by
// a driver, so every place where ggml rounds a product separately goes through mul_rn (a product
// made opaque to contraction by a bit round trip the compiler cannot fold).
// Double-precision accumulations of ggml (ggml_float sums) are emulated by float-float pairs
// (hi, lo) summed with TwoSum: exact sums of floats, rounded to float once at the end.

// Whether the device's fma() is fused (a pipeline constant from a probe at device open: lavapipe's
// is not, which Vulkan allows, its precision being "inherited from OpFMul followed by OpFAdd").
override FMA_FUSED: bool = true;

// A zero the compiler cannot know: set by exact_init(num_workgroups) at the top of main. Mesa's NIR
// (lavapipe) applies "inexact" algebraic rewrites such as (a + b) - a -> b to ordinary float ops
// (WGSL has no `precise`), which would destroy TwoSum and Dekker's product; passing intermediates
// through opq() (a bit round trip xor'ed with this zero) keeps every operation as written.
var<private> EXACT_ZERO: u32;

fn exact_init(nwg: vec3<u32>) {
  EXACT_ZERO = nwg.z >> 31u;
}

fn opq(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ EXACT_ZERO);
}

// a*b rounded to f32 (ggml rounds these products separately).
fn mul_rn(a: f32, b: f32) -> f32 {
  return opq(a * b);
}

// Veltkamp split and Dekker's exact product, for devices whose fma() is not fused.
fn split12(a: f32) -> vec2<f32> {
  let t = opq(4097.0 * a);
  let hi = opq(t - opq(t - a));
  return vec2<f32>(hi, a - hi);
}

fn two_prod_dekker(a: f32, b: f32) -> vec2<f32> {
  let p = opq(a * b);
  let x = split12(a);
  let y = split12(b);
  let e = opq(opq(opq(opq(x.x * y.x) - p) + opq(x.x * y.y)) + opq(x.y * y.x)) + opq(x.y * y.y);
  return vec2<f32>(p, e);
}

// x + y rounded to odd (Boldo & Melquiond): the odd neighbour when the sum is inexact.
fn add_ro(x: f32, y: f32) -> f32 {
  let t = two_sum(x, y);
  let u = bitcast<u32>(t.x);
  if (t.y == 0.0 || (u & 1u) == 1u) { return t.x; }
  // away from or toward zero, whichever side the exact sum lies on
  if ((t.y > 0.0) == (t.x > 0.0)) { return bitcast<f32>(u + 1u); }
  return bitcast<f32>(u - 1u);
}

// fma(a, b, c) rounded once, as x86's vfmadd: native where fused, else emulated exactly.
fn fmx(a: f32, b: f32, c: f32) -> f32 {
  if (FMA_FUSED) { return fma(a, b, c); }
  let p = two_prod_dekker(a, b);
  if (p.x == 0.0) { return p.x + c; }
  let t = two_sum(c, p.x);
  let v = add_ro(t.y, p.y);
  return opq(t.x + v);
}

// a / b correctly rounded (Vulkan allows 2.5 ulp for division). The quotient is made opaque before
// the residual a - q*b is taken: a compiler that sees q = a / b may fold fma(-q, b, a) to 0 (the
// NVIDIA driver left amax / 127 one ulp low with an unguarded Newton step). From q, one Newton step
// and then a move to whichever neighbour leaves the smaller residual (exact by fma for a faithful q).
fn div_rn(a: f32, b: f32) -> f32 {
  return div_fix(a, b, opq(a / b));
}

// The correctly rounded a / b from a quotient q0 within a few ulps of it.
fn div_fix(a: f32, b: f32, q0: f32) -> f32 {
  var q = q0;
  let qa = abs(q);
  if (qa == 0.0 || qa > 3.0e38 || q != q) { return q; }
  q = fmx(fmx(-q, b, a), opq(1.0 / b), q);
  for (var k = 0; k < 2; k++) {
    let u = bitcast<u32>(q);
    let r = abs(fmx(-q, b, a));
    let up = bitcast<f32>(u + 1u); // one ulp away from zero
    let dn = bitcast<f32>(u - 1u); // one ulp toward zero
    if (abs(fmx(-up, b, a)) < r) { q = up; } else if (abs(fmx(-dn, b, a)) < r) { q = dn; }
  }
  return q;
}

// sqrt(a) correctly rounded, a >= 0 (Vulkan's sqrt is not): pick among the neighbours by residual.
fn sqrt_rn(a: f32) -> f32 {
  var s = opq(sqrt(a)); // opaque, as in div_rn
  if (a <= 0.0 || a > 3.0e38) { return s; }
  for (var k = 0; k < 2; k++) {
    // s is right when a lies between the squares of the midpoints to its neighbours:
    // (s + u/2)^2 = s^2 + s*u + u^2/4 with u the gap to the neighbour.
    let r = fmx(-s, s, a);
    let u = bitcast<f32>(bitcast<u32>(s) + 1u) - s;
    let d = s - bitcast<f32>(bitcast<u32>(s) - 1u);
    if (r > fmx(s, u, mul_rn(u, u) * 0.25)) { s = s + u; } else if (r < -fmx(s, d, -mul_rn(d, d) * 0.25)) { s = s - d; }
  }
  return s;
}

// f32 -> f16 bits, round to nearest even (as F16C's vcvtps2ph and ggml's scalar conversion).
fn f16_bits_rne(v: f32) -> u32 {
  let u = bitcast<u32>(v);
  let s = (u >> 16u) & 0x8000u;
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) { return s | 0x7c00u | select(0u, 0x200u | ((a >> 13u) & 0x3ffu), a > 0x7f800000u); }
  if (a >= 0x477ff000u) { return s | 0x7c00u; } // rounds to >= 65520: inf
  if (a < 0x38800000u) {
    // subnormal half (or zero): value / 2^-24, rounded to nearest even integer.
    if (a < 0x33000000u) { return s; }
    let e = a >> 23u;
    let m = (a & 0x7fffffu) | 0x800000u;
    let sh = 126u - e; // 14 + (112 - e) ... shift so that units are 2^-24
    let q = m >> sh;
    let rem = m & ((1u << sh) - 1u);
    let half = 1u << (sh - 1u);
    var r = q;
    if (rem > half || (rem == half && (q & 1u) == 1u)) { r = q + 1u; }
    return s | r;
  }
  let b = a - 0x38000000u; // rebias exponent 127 -> 15 (in the f32 bit position)
  let q = b >> 13u;
  let rem = b & 0x1fffu;
  var r = q;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u) == 1u)) { r = q + 1u; }
  return s | r;
}

fn half_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;
    return select(v, -v, s != 0u);
  }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}

fn to_f16(v: f32) -> f32 {
  return half_to_f32(f16_bits_rne(v));
}

// ---- float-float (double emulation)
fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = opq(a + b);
  let bb = opq(s - a);
  let e = opq(a - opq(s - bb)) + opq(b - bb);
  return vec2<f32>(s, e);
}

fn ff_add_f(x: vec2<f32>, b: f32) -> vec2<f32> {
  let t = two_sum(x.x, b);
  return two_sum(t.x, t.y + x.y);
}

fn ff_add(x: vec2<f32>, y: vec2<f32>) -> vec2<f32> {
  let t = two_sum(x.x, y.x);
  return two_sum(t.x, t.y + (x.y + y.y));
}

// The exact product a*b as a float-float.
fn two_prod(a: f32, b: f32) -> vec2<f32> {
  if (FMA_FUSED) {
    let p = mul_rn(a, b);
    return vec2<f32>(p, fma(a, b, -p));
  }
  return two_prod_dekker(a, b);
}

// Rounds hi + lo to f32 (hi, lo normalized by two_sum).
fn ff_round(x: vec2<f32>) -> f32 {
  return x.x + x.y;
}

// ---- ggml's SIMD reduction trees (see ggml-simd.ts)
// GCC's _mm512_reduce_add_ps over 16 lanes.
fn reduce16(l: array<f32, 16>) -> f32 {
  var t: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) { t[i] = l[i + 8u] + l[i]; }
  let u0 = t[4] + t[0];
  let u1 = t[5] + t[1];
  let u2 = t[6] + t[2];
  let u3 = t[7] + t[3];
  return (u0 + u2) + (u1 + u3);
}

// +infinity (a var, so that WGSL's const-evaluation does not reject it).
fn f32_inf() -> f32 {
  var b = 0x7f800000u;
  return bitcast<f32>(b);
}

// ---- ggml_v_expf, the AVX-512 variant (polynomial with the 1 folded in, then scalef).
fn v_expf(x: f32) -> f32 {
  let R = 12582912.0; // 0x1.8p23
  let z = fmx(x, 0x1.715476p0, R);
  let n = z - R;
  let b = fmx(-n, 0x1.7f7d1cp-20, fmx(-n, 0x1.62e4p-1, x));
  let u = mul_rn(b, b);
  if (abs(n) > 192.0) { return select(f32_inf(), 0.0, n <= 0.0); }
  let j = fmx(fmx(fmx(0x1.0e402p-7, b, 0x1.573e2ep-5), u, fmx(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u, fmx(0x1.ffffecp-1, b, 1.0));
  return ldexp(j, i32(n));
}

// The 8-lane horizontal sum of ggml's hsum_float_8.
fn hsum8(a: array<f32, 8>) -> f32 {
  let t0 = opq(a[0] + a[4]);
  let t1 = opq(a[1] + a[5]);
  let t2 = opq(a[2] + a[6]);
  let t3 = opq(a[3] + a[7]);
  return opq(opq(t0 + t2) + opq(t1 + t3));
}
