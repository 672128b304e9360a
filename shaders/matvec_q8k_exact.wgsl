// matvec_q8k_exact: Y[r][o] = W[o] · X[r] (+ bias[o]) for K-quantized weights (Q2_K..Q6_K) against
// Q8_K activations from q8k_quant.wgsl, with the arithmetic of the CPU backend's kquantDot
// (src/backends/cpu/kquant-dot.ts; ggml's AVX2 ggml_vec_dot_q*_K_q8_K), bit for bit: per superblock
// 8 exact int32 lanes (lane k holds elements 4k..4k+3 of every 32), acc[k] = fma(dx*dw, lane, acc[k]);
// the mins (K_MINS) 1: Q2_K into the same lanes first, 2: Q4_K into 4 lanes, 3: Q5_K into one float,
// each by fma with -dx*dmin; one 8-lane horizontal sum. One invocation per (x row, output).
// needs: a K-quant dequant type with ksq4 / kmin / KD_OFF / KDMIN_OFF / K_MINS, common/exact.wgsl
struct Params {
  cols: u32,
  out_cols: u32,
  w_rows: u32,
  row_bytes: u32,
  out_offset: u32,
  has_bias: u32,
  row_lo: u32,
  rows: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> XQ: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

override WG: u32 = 64u;

fn bsum(xo: u32, j: u32) -> i32 { return bitcast<i32>(XQ[xo + 65u + j]); }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  exact_init(nwg);
  let task = gid.x + gid.y * nwg.x * WG;
  if (task >= P.rows * P.w_rows) { return; }
  let o = task % P.w_rows;
  let r = P.row_lo + task / P.w_rows;
  let nb = P.cols / 256u;
  let rb = o * P.row_bytes;
  var acc: array<f32, 8>;
  var accm: array<f32, 4>;
  var summs = 0.0;
  for (var i = 0u; i < nb; i++) {
    let b = rb + i * BLOCK_BYTES;
    let xo = (r * nb + i) * 81u;
    let yd = bitcast<f32>(XQ[xo + 64u]);
    let d = mul_rn(yd, half_to_f32(ld_u16(b + KD_OFF)));
    let dmin = mul_rn(-yd, half_to_f32(ld_u16(b + KDMIN_OFF)));
    if (K_MINS == 1u) {
      for (var k = 0u; k < 8u; k++) {
        let prod = kmin(b, 2u * k) * bsum(xo, 2u * k) + kmin(b, 2u * k + 1u) * bsum(xo, 2u * k + 1u);
        acc[k] = fmx(dmin, f32(prod), acc[k]);
      }
    } else if (K_MINS >= 2u) {
      var s: array<i32, 8>;
      for (var j = 0u; j < 8u; j++) { s[j] = kmin(b, j) * (bsum(xo, 2u * j) + bsum(xo, 2u * j + 1u)); }
      if (K_MINS == 2u) {
        for (var k = 0u; k < 4u; k++) { accm[k] = fmx(dmin, f32(s[2u * k] + s[2u * k + 1u]), accm[k]); }
      } else {
        var total = 0;
        for (var j = 0u; j < 8u; j++) { total += s[j]; }
        summs = fmx(dmin, f32(total), summs);
      }
    }
    var lanes = array<i32, 8>(0, 0, 0, 0, 0, 0, 0, 0);
    for (var e = 0u; e < 256u; e += 4u) {
      let p = ksq4(b, e) * sbytes4(XQ[xo + e / 4u]);
      let k = (e >> 2u) & 7u;
      lanes[k] += (p.x + p.y) + (p.z + p.w);
    }
    for (var k = 0u; k < 8u; k++) { acc[k] = fmx(d, f32(lanes[k]), acc[k]); }
  }
  var v = hsum8(acc);
  if (K_MINS == 2u) { v = opq(v + opq(opq(accm[0] + accm[2]) + opq(accm[1] + accm[3]))); }
  if (K_MINS == 3u) { v = opq(v + summs); }
  let oc = P.out_offset + o;
  if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
  Y[r * P.out_cols + oc] = v;
}
