// swiglu: out = silu(gate) * up elementwise, as ggml_vec_silu_f32 then mul: in each row of `cols`,
// the elements of whole 16-lane vectors take ggml_v_expf, the leftovers expf (correctly rounded
// here, as glibc's nearly always is); silu = x / (1 + e) with a correctly rounded division.
// When out aliases gate (or up) the host binds a placeholder there and sets g_from_out
// (u_from_out), as in add.wgsl.
// needs: common/exact.wgsl
struct Params {
  n: u32,
  g_from_out: u32,
  u_from_out: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> U: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 256u;

// expf correctly rounded (but for ties too close to tell): exp(x) = 2^k exp(r), r = x - k ln2 as a
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
  // Taylor of exp(r) - 1 for |r| <= 0.35: Horner in float-float on the first terms.
  var p = vec2<f32>(1.0 / 40320.0, 0.0);
  let inv = array<f32, 8>(1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0);
  for (var i = 0u; i < 8u; i++) {
    // p = p * r + inv[i]
    let a = two_prod(p.x, r.x);
    let lo = a.y + (p.x * r.y + p.y * r.x);
    p = ff_add_f(two_sum(a.x, lo), inv[i]);
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
  let c = i % P.cols;
  let full = P.cols - P.cols % 16u;
  var e: f32;
  if (c < full) { e = v_expf(-g); } else { e = expf_rn(-g); }
  OUT[i] = div_rn(g, 1.0 + e) * u;
}
