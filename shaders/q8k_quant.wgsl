// q8k_quant: activations to Q8_K superblocks exactly as the CPU backend's quantizeQ8KRows
// (quantize_row_q8_K_ref): max = the first value of largest magnitude, iscale = -127 / max,
// q = min(127, round_half_even(iscale * x)), d = 1 / iscale, sums of each 16 quants; all zero when
// the block is. Output per superblock (Q8K_WORDS = 81 words): 64 words of packed i8 quants, d as f32
// bits, 16 i32 sums. One invocation per superblock.
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
  let o = blk * 256u;
  let ob = blk * 81u;
  var amax = 0.0;
  var mx = 0.0;
  for (var j = 0u; j < 256u; j++) {
    let a = abs(X[o + j]);
    if (a > amax) { amax = a; mx = X[o + j]; }
  }
  if (amax == 0.0) {
    for (var w = 0u; w < 81u; w++) { XQ[ob + w] = 0u; }
    return;
  }
  let iscale = div_rn(-127.0, mx);
  for (var g = 0u; g < 16u; g++) {
    var sum = 0;
    for (var w = 0u; w < 4u; w++) {
      var packed = 0u;
      for (var c = 0u; c < 4u; c++) {
        let v = min(127, i32(round(mul_rn(iscale, X[o + 16u * g + 4u * w + c]))));
        sum += v;
        packed |= (bitcast<u32>(v) & 0xffu) << (8u * c);
      }
      XQ[ob + 4u * g + w] = packed;
    }
    XQ[ob + 65u + g] = bitcast<u32>(sum);
  }
  XQ[ob + 64u] = bitcast<u32>(div_rn(1.0, iscale));
}
