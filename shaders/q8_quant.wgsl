// q8_quant: activations to Q8_0/Q8_1 blocks exactly as the CPU backend's quantizeQ8Rows (ggml's x86
// quantize_row_q8_0/_q8_1): per 32-block, dF = amax / 127, id = 127 / amax (both correctly rounded),
// q = round_half_even(x * id), d = f16(dF), s = f16(dF * sum(q)). Output per block: 8 words of packed
// i8 quants, then the bits of d and s as f32 (Q8_WORDS words).
// Eight invocations per block (WG a multiple of 8): invocation w quantizes elements 4w..4w+3 into
// word w; the block's amax and sum(q) go through workgroup memory (a max and an integer sum: the
// order does not matter, so the result is the one-invocation loop's).
// needs: common/exact.wgsl
struct Params {
  n_blocks: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> XQ: array<u32>;

override WG: u32 = 64u;
var<workgroup> qmax: array<f32, WG>;
var<workgroup> qsum: array<i32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  exact_init(nwg);
  let g = gid.x + gid.y * nwg.x * WG;
  let blk = g / 8u;
  let w = g % 8u;
  let live = blk < P.n_blocks;
  let i = g * 4u;
  var v = vec4<f32>(0.0);
  if (live) { v = vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]); }
  let a = abs(v);
  qmax[lid] = max(max(a.x, a.y), max(a.z, a.w));
  workgroupBarrier();
  let l0 = lid & ~7u;
  var amax = 0.0;
  for (var j = 0u; j < 8u; j++) { amax = max(amax, qmax[l0 + j]); }
  let dF = div_rn(amax, 127.0);
  var id = 0.0;
  if (amax != 0.0) { id = div_rn(127.0, amax); }
  var sum = 0;
  var packed = 0u;
  for (var c = 0u; c < 4u; c++) {
    let q = i32(round(mul_rn(v[c], id)));
    sum += q;
    packed |= (bitcast<u32>(q) & 0xffu) << (8u * c);
  }
  qsum[lid] = sum;
  workgroupBarrier();
  if (!live) { return; }
  let ob = blk * 10u;
  XQ[ob + w] = packed;
  if (w == 0u) {
    var total = 0;
    for (var j = 0u; j < 8u; j++) { total += qsum[l0 + j]; }
    XQ[ob + 8u] = bitcast<u32>(to_f16(dF));
    XQ[ob + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(total))));
  }
}
