// q8_quant: activations to Q8_0/Q8_1 blocks exactly as the CPU backend's quantizeQ8Rows (ggml's x86
// quantize_row_q8_0/_q8_1): per 32-block, dF = amax / 127, id = 127 / amax (both correctly rounded),
// q = round_half_even(x * id), d = f16(dF), s = f16(dF * sum(q)). Output per block: 8 words of packed
// i8 quants, then the bits of d and s as f32 (Q8_WORDS words).
// One invocation per block.
// needs: common/exact.wgsl
struct Params {
  n_blocks: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> XQ: array<u32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let blk = gid.x + gid.y * nwg.x * WG;
  if (blk >= P.n_blocks) { return; }
  let o = blk * 32u;
  var amax = 0.0;
  for (var j = 0u; j < 32u; j++) { amax = max(amax, abs(X[o + j])); }
  let dF = div_rn(amax, 127.0);
  var id = 0.0;
  if (amax != 0.0) { id = div_rn(127.0, amax); }
  var sum = 0;
  let ob = blk * 10u;
  for (var w = 0u; w < 8u; w++) {
    var packed = 0u;
    for (var c = 0u; c < 4u; c++) {
      let v = i32(round(mul_rn(X[o + 4u * w + c], id)));
      sum += v;
      packed |= (bitcast<u32>(v) & 0xffu) << (8u * c);
    }
    XQ[ob + w] = packed;
  }
  XQ[ob + 8u] = bitcast<u32>(to_f16(dF));
  XQ[ob + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(sum))));
}
