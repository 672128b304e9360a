// rmsnorm: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, fused with the weight multiply, in
// ggml's float32 steps: squares rounded to float and summed in double (here float-float pairs: an
// exact sum of floats, so the order does not matter), mean rounded to float, + eps, sqrt and 1/
// each correctly rounded, then (x * scale) * weight.
// One workgroup per row. In place (out aliasing x), the host binds a placeholder for X and sets
// x_from_out: x is then read through OUT.
// needs: common/exact.wgsl
struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  x_from_out: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> WT: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 64u;
var<workgroup> part: array<vec2<f32>, WG>;

fn x_at(i: u32) -> f32 {
  if (P.x_from_out != 0u) { return OUT[i]; }
  return X[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  exact_init(nwg);
  let r = wid.x + wid.y * nwg.x;
  if (r >= P.rows) { return; }
  let base = r * P.cols;
  var ss = vec2<f32>(0.0);
  for (var i = lid; i < P.cols; i += WG) {
    let v = x_at(base + i);
    ss = ff_add_f(ss, mul_rn(v, v));
  }
  part[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] = ff_add(part[lid], part[lid + s]); }
    workgroupBarrier();
  }
  let tot = part[0];
  // (hi + lo) / cols rounded once: quotient of hi, corrected by the remainder and lo.
  let n = f32(P.cols);
  let q = div_rn(tot.x, n);
  let rem = fmx(-q, n, tot.x) + tot.y;
  let mean = q + div_rn(rem, n);
  let scale = div_rn(1.0, sqrt_rn(mean + P.eps));
  for (var i = lid; i < P.cols; i += WG) {
    OUT[base + i] = mul_rn(x_at(base + i), scale) * WT[i];
  }
}
