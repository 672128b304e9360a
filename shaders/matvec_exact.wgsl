// matvec_exact: Y[r][o] = W[o] · X[r] (+ bias[o]) for float weights (F32/F16/BF16, X already rounded
// to the vec-dot type), with the float32 operations of the kernel llama.cpp's CPU backend runs for
// this type and batch (see src/backends/cpu/ggml-simd.ts), so that results are bit-identical:
//   kind 0 ggml_vec_dot_f32: 64 FMA lanes over steps of 64, the AVX-512 reduction tree, then the
//          leftovers as GCC vectorizes them (8-wide rounded products added in order, FMA tail);
//   kind 1 ggml_vec_dot_f16: the same 64 lanes and tree, leftovers as exact products in double;
//   kind 2 tinyBLAS (batches, k % 16 == 0): 16 FMA lanes, one _mm512_reduce_add_ps;
//   kind 3 ggml_vec_dot_bf16: two 16-lane vdpbf16ps accumulators over steps of 64, each reduced and
//          added in double, leftovers in double;
//   kind 4 tinyBLAS BF16 (batches, k % 32 == 0): 16 vdpbf16ps lanes, one reduction.
// One workgroup of 64 invocations per output: invocation j is SIMD lane j. A dispatch covers x rows
// row_lo..row_lo+rows-1 of one kind (the host splits a batch into runs of rows that take the same
// kernel); workgroups past rows x w_rows (a grid spilling into y) do nothing.
// needs: a dequant type (dq1), common/exact.wgsl
struct Params {
  cols: u32,
  out_cols: u32,
  w_rows: u32,
  row_bytes: u32,
  out_offset: u32,
  has_bias: u32,
  kind: u32,
  row_lo: u32,
  rows: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

override WG: u32 = 64u;
var<workgroup> lanes: array<f32, 64>;

fn lanes16(o: u32) -> array<f32, 16> {
  var l: array<f32, 16>;
  for (var j = 0u; j < 16u; j++) { l[j] = lanes[o + j]; }
  return l;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) j: u32) {
  exact_init(nwg);
  let task = wid.x + wid.y * nwg.x;
  if (task >= P.rows * P.w_rows) { return; }
  let o = task % P.w_rows;
  let r = P.row_lo + task / P.w_rows;
  let n = P.cols;
  let rb = o * P.row_bytes;
  let xb = r * n;
  let kind = P.kind;
  var acc = 0.0;
  if (kind <= 1u) {
    let np = n - n % 64u;
    for (var i = 0u; i < np; i += 64u) { acc = fmx(dq1(rb, i + j), X[xb + i + j], acc); }
  } else if (kind == 2u) {
    if (j < 16u) { for (var i = 0u; i < n; i += 16u) { acc = fmx(dq1(rb, i + j), X[xb + i + j], acc); } }
  } else {
    // vdpbf16ps: lane l adds the product of elements 2l+1, then 2l, of each 32-element chunk.
    let lane = j % 16u;
    let step = select(32u, 64u, kind == 3u);
    var start = 0u;
    if (kind == 3u && j >= 16u) { start = 32u; }
    let limit = select(n, n - n % 64u, kind == 3u);
    if ((kind == 3u && j < 32u) || (kind == 4u && j < 16u)) {
      for (var i = start; i < limit; i += step) {
        let t = fmx(dq1(rb, i + 2u * lane + 1u), X[xb + i + 2u * lane + 1u], acc);
        acc = fmx(dq1(rb, i + 2u * lane), X[xb + i + 2u * lane], t);
      }
    }
  }
  lanes[j] = acc;
  workgroupBarrier();
  if (j != 0u) { return; }
  var v: f32;
  if (kind <= 1u) {
    let np = n - n % 64u;
    var m: array<f32, 16>;
    for (var k = 0u; k < 16u; k++) { m[k] = (lanes[k] + lanes[32u + k]) + (lanes[16u + k] + lanes[48u + k]); }
    var s = 0.0;
    if (np > 0u || kind == 0u) { s = reduce16(m); }
    if (kind == 0u) {
      let cut = np + ((n - np) & ~7u);
      for (var i = np; i < cut; i++) { s = opq(s + mul_rn(dq1(rb, i), X[xb + i])); }
      for (var i = cut; i < n; i++) { s = fmx(dq1(rb, i), X[xb + i], s); }
      v = s;
    } else {
      var d = vec2<f32>(s, 0.0);
      for (var i = np; i < n; i++) { d = ff_add_f(d, mul_rn(dq1(rb, i), X[xb + i])); }
      v = ff_round(d);
    }
  } else if (kind == 2u || kind == 4u) {
    v = reduce16(lanes16(0u));
  } else {
    var d = vec2<f32>(reduce16(lanes16(0u)), 0.0);
    d = ff_add_f(d, reduce16(lanes16(16u)));
    for (var i = n - n % 64u; i < n; i++) { d = ff_add_f(d, mul_rn(dq1(rb, i), X[xb + i])); }
    v = ff_round(d);
  }
  let oc = P.out_offset + o;
  if (P.has_bias != 0u) { v = v + BIAS[oc]; }
  Y[r * P.out_cols + oc] = v;
}
