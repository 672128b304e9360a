// act_round: rounds activations the way llama.cpp's CPU matmul does before its dot products
// (it converts x to the weight type's "vec_dot type"), so that every backend computes the same
// logits as the reference engine. One invocation per block; modes:
//   1 f16   (block 1): round to the nearest half
//   2 bf16  (block 1): ggml's round-to-nearest-even on the upper 16 bits (NaN kept quiet)
//   3 q8_0  (block 32): d = f16(amax / 127), q = round_half_even(x * 127 / amax), x' = q * d
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

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.n_blocks) { return; }
  switch (P.mode) {
    case 1u: { OUT[g] = round_f16(X[g]); }
    case 2u: { OUT[g] = round_bf16(X[g]); }
    case 3u: {
      let b = g * 32u;
      var amax = 0.0;
      for (var j = 0u; j < 32u; j++) { amax = max(amax, abs(X[b + j])); }
      let d = round_f16(div_rn(amax, 127.0));
      var id = 0.0;
      if (amax != 0.0) { id = div_rn(127.0, amax); }
      for (var j = 0u; j < 32u; j++) { OUT[b + j] = round(X[b + j] * id) * d; }
    }
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
