// scale: out = x * s elementwise (ggml_scale); with softcap != 0, out = tanhf(x * s) * c, which is
// llama.cpp's soft-capping ggml_scale(1/cap), ggml_tanh (glibc's tanhf), ggml_scale(cap) with the
// host passing s = 1/cap (computed in float) and c = cap. When out aliases x the host binds a
// placeholder there and sets x_from_out, as in add.wgsl.
// needs: common/exact.wgsl (mul_rn), common/tanhf.wgsl
struct Params {
  n: u32,
  x_from_out: u32,
  softcap: u32,
  s: f32,
  c: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  var x: f32;
  if (P.x_from_out != 0u) { x = OUT[i]; } else { x = X[i]; }
  if (P.softcap != 0u) {
    OUT[i] = mul_rn(glibc_tanhf(mul_rn(x, P.s)), P.c);
  } else {
    OUT[i] = mul_rn(x, P.s);
  }
}
