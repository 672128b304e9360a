// act_round: rounds activations the way llama.cpp's CPU matmul does before its dot products
// (it converts x to the weight type's "vec_dot type"), so that every backend computes the same
// logits as the reference engine. One invocation per block (per 4 values in mode 3); modes:
//   1 f16   (block 1): round to the nearest half
//   2 bf16  (block 1): ggml's round-to-nearest-even on the upper 16 bits (NaN kept quiet)
//   3 q8_0  (block 32): d = f16(amax / 127), q = round_half_even(x * 127 / amax), x' = q * d;
//                       8 invocations per block (WG a multiple of 8), 4 values each, the block's
//                       amax through workgroup memory (a max: the order does not matter)
//   4 q8_K  (block 256): the value of largest magnitude maps to -127: s = -127 / max,
//                        q = min(127, round_half_even(s * x)), x' = q / s
// needs: common/half.wgsl (round_f16), common/exact.wgsl (div_rn)
struct Params {
  n_blocks: u32,
  mode: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

override WG: u32 = 64u;
var<workgroup> qmax: array<f32, WG>;

// Mode 3 for invocation g (values 4g..4g+3 of block g / 8).
fn round_q8(g: u32, lid: u32) {
  let live = g / 8u < P.n_blocks;
  let i = g * 4u;
  var v = vec4<f32>(0.0);
  if (live) { v = vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]); }
  let a = abs(v);
  qmax[lid] = max(max(a.x, a.y), max(a.z, a.w));
  workgroupBarrier();
  let l0 = lid & ~7u;
  var amax = 0.0;
  for (var j = 0u; j < 8u; j++) { amax = max(amax, qmax[l0 + j]); }
  if (!live) { return; }
  let d = round_f16(div_rn(amax, 127.0));
  var id = 0.0;
  if (amax != 0.0) { id = div_rn(127.0, amax); }
  OUT[i] = round(v.x * id) * d;
  OUT[i + 1u] = round(v.y * id) * d;
  OUT[i + 2u] = round(v.z * id) * d;
  OUT[i + 3u] = round(v.w * id) * d;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  exact_init(nwg);
  let g = gid.x + gid.y * nwg.x * WG;
  if (P.mode == 3u) {
    round_q8(g, lid);
    return;
  }
  if (g >= P.n_blocks) { return; }
  switch (P.mode) {
    case 1u: { OUT[g] = round_f16(X[g]); }
    case 2u: { OUT[g] = round_bf16(X[g]); }
    case 4u: {
      let b = g * 256u;
      var amax = 0.0;
      var mx = 0.0;
      for (var j = 0u; j < 256u; j++) {
        let v = X[b + j];
        if (abs(v) > amax) { amax = abs(v); mx = v; }
      }
      if (amax == 0.0) {
        for (var j = 0u; j < 256u; j++) { OUT[b + j] = 0.0; }
      } else {
        let s = div_rn(-127.0, mx);
        let d = div_rn(1.0, s);
        for (var j = 0u; j < 256u; j++) { OUT[b + j] = min(127.0, round(s * X[b + j])) * d; }
      }
    }
    default: { OUT[g] = X[g]; }
  }
}
