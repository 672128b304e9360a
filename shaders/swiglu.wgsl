// swiglu: out = silu(gate) * up elementwise, as ggml_vec_silu_f32 then mul: in each row of `cols`,
// the elements of whole 16-lane vectors take ggml_v_expf, the leftovers expf (correctly rounded
// here, as glibc's nearly always is); silu = x / (1 + e) with a correctly rounded division.
// With gelu != 0 this is geglu instead: out = gelu(gate) * up, ggml's GELU (GGML_GELU_FP16): 0 for
// x <= -10, x for x >= 10, else the host-computed table TAB (src/backends/cpu/gelu.ts) at the f16
// bits of x (round to nearest even). TAB is a placeholder for swiglu.
// When out aliases gate (or up) the host binds a placeholder there and sets g_from_out
// (u_from_out), as in add.wgsl.
// needs: common/exact.wgsl
struct Params {
  n: u32,
  g_from_out: u32,
  u_from_out: u32,
  cols: u32,
  gelu: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> U: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(4) var<storage, read> TAB: array<f32>;

override WG: u32 = 256u;

// expf correctly rounded (but for ties closer than ~2^-44 relative): exp(x) = 2^k exp(r), r = x - k ln2 as a
// float-float, exp(r) by a float-float Taylor series.
fn expf_rn(x: f32) -> f32 {
  if (x > 88.8) { return f32_inf(); }
  if (x < -104.0) { return 0.0; }
  let k = round(x * 1.4426950408889634);
  // ln2 in three parts; k * l1 and k * l2 are taken exactly (two_prod).
  let l1 = 0x1.62e4p-1;
  let l2 = 0x1.7f7d1cp-20;
  let l3 = 5.495604e-14;            // ln2 - l1 - l2
  let a1 = two_prod(k, l1);
  let a2 = two_prod(k, l2);
  var r = two_sum(x, -a1.x);
  r = ff_add_f(r, -a1.y);
  r = ff_add_f(r, -a2.x);
  r = ff_add_f(r, -a2.y - k * l3);
  // Taylor of exp(r) for |r| <= 0.35 up to r^12 (truncation < 2^-46), Horner in float-float with
  // 1/n! as float-float pairs: with a single-float 1/6 (2^-26 off) near-ties were decided wrongly.
  var p = vec2<f32>(2.08767559e-9, 1.10828398e-16); // 1/12!
  let c_hi = array<f32, 12>(2.50521079e-8, 2.75573200e-7, 2.75573188e-6, 2.48015876e-5, 1.98412701e-4, 1.38888892e-3, 8.33333377e-3, 4.16666679e-2, 1.66666672e-1, 0.5, 1.0, 1.0);
  let c_lo = array<f32, 12>(4.41762304e-16, -7.57511221e-15, 3.79357122e-14, -3.40699609e-13, -2.72559687e-12, -3.36310944e-11, -4.34617203e-10, -1.24176347e-9, -4.96705388e-9, 0.0, 0.0, 0.0);
  for (var i = 0u; i < 12u; i++) {
    // p = p * r + c[i]: 1/11!, ..., 1/2!, 1, 1
    let a = two_prod(p.x, r.x);
    let lo = a.y + (p.x * r.y + p.y * r.x);
    p = ff_add(two_sum(a.x, lo), vec2<f32>(c_hi[i], c_lo[i]));
  }
  let hi = ldexp(p.x, i32(k));
  let lo = ldexp(p.y, i32(k));
  return hi + lo;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  var g: f32;
  var u: f32;
  if (P.g_from_out != 0u) { g = OUT[i]; } else { g = G[i]; }
  if (P.u_from_out != 0u) { u = OUT[i]; } else { u = U[i]; }
  if (P.gelu != 0u) {
    var a: f32;
    if (g <= -10.0) { a = 0.0; } else if (g >= 10.0) { a = g; } else { a = TAB[f16_bits_rne(g)]; }
    OUT[i] = a * u;
    return;
  }
  let c = i % P.cols;
  let full = P.cols - P.cols % 16u;
  var e: f32;
  if (c < full) { e = v_expf(-g); } else { e = expf_rn(-g); }
  OUT[i] = div_rn(g, 1.0 + e) * u;
}
