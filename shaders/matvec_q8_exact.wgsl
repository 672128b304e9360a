// matvec_q8_exact: Y[r][o] = W[o] · X[r] (+ bias[o]) for legacy-quantized weights (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, IQ4_NL) against Q8 activations from q8_quant.wgsl, with the arithmetic of the CPU
// backend's quantDot (src/backends/cpu/quant-dot.ts), bit for bit:
//   kind 0 ggml_vec_dot_*_q8_0 / tinyBLAS_Q0: per block, 8 exact int32 lanes of 4 products each,
//          acc[lane] = fma(dw*dx, lane, acc[lane]); one 8-lane horizontal sum;
//   kind 1 Q4_1/Q5_1 (_q8_1): kind 0 plus summs = sum of min * Q8_1 block sum, added at the end;
//   kind 2 IQ4_NL single row: blocks alternate two accumulator sets, a leftover block added after;
//   kind 3 repacked Q4_0 (q4_0_8x8 gemv/gemm): s = fma(block's integer dot, dw*dx, s).
// One invocation per (x row, output).
// needs: a dequant type with qi4 / Q_HAS_MIN (dequant/*.wgsl), common/exact.wgsl, common/q8-dot.wgsl
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
@group(0) @binding(2) var<storage, read> XQ: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let task = gid.x + gid.y * nwg.x * WG;
  if (task >= P.rows * P.w_rows) { return; }
  let o = task % P.w_rows;
  let r = P.row_lo + task / P.w_rows;
  let nb = P.cols / 32u;
  let rb = o * P.row_bytes;
  let xb0 = r * nb;
  let kind = P.kind;
  var acc: array<f32, 8>;
  var v = 0.0;
  if (kind == 3u) {
    for (var k = 0u; k < nb; k++) {
      let b = rb + k * BLOCK_BYTES;
      let l = block_lanes(b, xb0 + k);
      v = fmx(f32(isum8(l)), mul_rn(wd(b), xd(xb0 + k)), v);
    }
  } else if (kind == 2u) {
    var acc2: array<f32, 8>;
    var k = 0u;
    for (; k + 1u < nb; k += 2u) {
      let b0 = rb + k * BLOCK_BYTES;
      let l0 = block_lanes(b0, xb0 + k);
      let d0 = mul_rn(xd(xb0 + k), wd(b0));
      for (var j = 0u; j < 8u; j++) { acc[j] = fmx(d0, f32(l0[j]), acc[j]); }
      let b1 = b0 + BLOCK_BYTES;
      let l1 = block_lanes(b1, xb0 + k + 1u);
      let d1 = mul_rn(xd(xb0 + k + 1u), wd(b1));
      for (var j = 0u; j < 8u; j++) { acc2[j] = fmx(d1, f32(l1[j]), acc2[j]); }
    }
    for (var j = 0u; j < 8u; j++) { acc[j] = opq(acc[j] + acc2[j]); }
    v = hsum8(acc);
    for (; k < nb; k++) {
      let b = rb + k * BLOCK_BYTES;
      let l = block_lanes(b, xb0 + k);
      v = opq(v + mul_rn(mul_rn(wd(b), xd(xb0 + k)), f32(isum8(l))));
    }
  } else {
    var summs = 0.0;
    for (var k = 0u; k < nb; k++) {
      let b = rb + k * BLOCK_BYTES;
      if (kind == 1u) {
        summs = opq(summs + mul_rn(wm(b), xs(xb0 + k)));
      }
      let l = block_lanes(b, xb0 + k);
      let d = mul_rn(wd(b), xd(xb0 + k));
      for (var j = 0u; j < 8u; j++) { acc[j] = fmx(d, f32(l[j]), acc[j]); }
    }
    v = hsum8(acc);
    if (kind == 1u) { v = opq(v + summs); }
  }
  let oc = P.out_offset + o;
  if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
  Y[r * P.out_cols + oc] = v;
}
