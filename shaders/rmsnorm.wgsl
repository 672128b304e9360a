// rmsnorm: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, fused with the weight multiply.
// One workgroup per row: sum of squares by wg_sum, then a scaled copy. In place (out aliasing x),
// the host binds a placeholder for X and sets x_from_out: x is then read through OUT.
// needs: a reduction (wg_sum)
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

fn x_at(i: u32) -> f32 {
  if (P.x_from_out != 0u) { return OUT[i]; }
  return X[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ri: RedIn) {
  red_init(ri);
  let lid = ri.lid;
  let r = wid.x + wid.y * nwg.x;
  if (r >= P.rows) { return; }
  let base = r * P.cols;
  var ss = 0.0;
  for (var i = lid; i < P.cols; i += WG) {
    let v = x_at(base + i);
    ss += v * v;
  }
  let total = wg_sum(ss);
  let inv = 1.0 / sqrt(total / f32(P.cols) + P.eps);
  for (var i = lid; i < P.cols; i += WG) {
    OUT[base + i] = x_at(base + i) * inv * WT[i];
  }
}
