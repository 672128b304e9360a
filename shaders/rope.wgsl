// rope: rotates q [rows, n_heads*head_dim] and k [rows, n_kv_heads*head_dim] in place, both in
// one dispatch. One invocation per rotated pair (row, head, i < rope_dim/2). Angles come from a
// host-computed table cos/sin(pos * freq_scale * base^(-2i/rope_dim)) indexed [pos][i], so the
// result does not depend on the device's sin/cos accuracy for large arguments.
// needs: common/exact.wgsl (fmx, mul_rn)
// neox pairs (i, i + rope_dim/2); normal pairs (2i, 2i+1). Dimensions >= rope_dim pass through.
struct Params {
  rows: u32,
  n_heads: u32,
  n_kv_heads: u32,
  head_dim: u32,
  rope_dim: u32,
  neox: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Q: array<f32>;
@group(0) @binding(2) var<storage, read_write> K: array<f32>;
@group(0) @binding(3) var<storage, read> POS: array<i32>;
@group(0) @binding(4) var<storage, read> TAB: array<vec2<f32>>;

override WG: u32 = 64u;

// ggml's x0*cos - x1*sin as GCC contracts it: fma(x0, cos, -(x1*sin)); likewise the second.
fn rot(x0: f32, x1: f32, cs: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(fmx(x0, cs.x, -mul_rn(x1, cs.y)), fmx(x0, cs.y, mul_rn(x1, cs.x)));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let half = P.rope_dim / 2u;
  let heads = P.n_heads + P.n_kv_heads;
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.rows * heads * half) { return; }
  let i = g % half;
  let hh = (g / half) % heads;
  let r = g / (half * heads);
  let cs = TAB[u32(POS[r]) * half + i];
  var a: u32;
  var b: u32;
  if (P.neox != 0u) { a = i; b = i + half; } else { a = 2u * i; b = 2u * i + 1u; }
  if (hh < P.n_heads) {
    let base = r * P.n_heads * P.head_dim + hh * P.head_dim;
    let v = rot(Q[base + a], Q[base + b], cs);
    Q[base + a] = v.x;
    Q[base + b] = v.y;
  } else {
    let base = r * P.n_kv_heads * P.head_dim + (hh - P.n_heads) * P.head_dim;
    let v = rot(K[base + a], K[base + b], cs);
    K[base + a] = v.x;
    K[base + b] = v.y;
  }
}
