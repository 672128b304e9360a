// swiglu: out = silu(gate) * up, silu(x) = x / (1 + exp(-x)). Elementwise; all bindings are
// read_write so that out may alias gate or up.
struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> U: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  let g = G[i];
  OUT[i] = g / (1.0 + exp(-g)) * U[i];
}
