// swiglu: out = silu(gate) * up, silu(x) = x / (1 + exp(-x)), elementwise. When out aliases gate
// (or up) the host binds a placeholder there and sets g_from_out (u_from_out), as in add.wgsl.
struct Params {
  n: u32,
  g_from_out: u32,
  u_from_out: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> U: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  var g: f32;
  var u: f32;
  if (P.g_from_out != 0u) { g = OUT[i]; } else { g = G[i]; }
  if (P.u_from_out != 0u) { u = OUT[i]; } else { u = U[i]; }
  OUT[i] = g / (1.0 + exp(-g)) * u;
}
