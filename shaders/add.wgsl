// add: out = a + b, elementwise. WebGPU forbids binding one buffer as both a read and a written
// binding, so when out aliases a (or b) the host binds a placeholder there and sets a_from_out
// (b_from_out): that input is then read through OUT.
struct Params {
  n: u32,
  a_from_out: u32,
  b_from_out: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  var a: f32;
  var b: f32;
  if (P.a_from_out != 0u) { a = OUT[i]; } else { a = A[i]; }
  if (P.b_from_out != 0u) { b = OUT[i]; } else { b = B[i]; }
  OUT[i] = a + b;
}
