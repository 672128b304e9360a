// matvec_q8k_exact_lanes: matvec_q8k_exact.wgsl's products (same parameters, bit-identical results)
// spread over eight invocations per (x row, output), for GPUs. Invocation k holds int32 lane k of
// every superblock (elements 4k..4k+3 of each 32) and its float chain acc[k], with its share of the
// mins: K_MINS 1 (Q2_K) lane k's two sub-block mins into acc[k]; 2 (Q4_K) invocation k < 4 keeps
// accm[k]; 3 (Q5_K) invocation 0 keeps the one float. The chains are folded in workgroup memory.
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

// 8 (row, output) tasks of 8 lanes per workgroup of 64.
const TASKS: u32 = 8u;
var<workgroup> acc_sh: array<f32, 64>;
var<workgroup> accm_sh: array<f32, 64>;

fn bsum(xo: u32, j: u32) -> i32 { return bitcast<i32>(XQ[xo + 65u + j]); }

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  exact_init(nwg);
  let k = li & 7u;
  let tl = li >> 3u;
  let tasks = P.rows * P.w_rows;
  let task = (wid.x + wid.y * nwg.x) * TASKS + tl;
  // Tasks past the end compute a copy of the last one (every invocation must reach the barrier).
  let live = task < tasks;
  let t = min(task, tasks - 1u);
  let o = t % P.w_rows;
  let r = P.row_lo + t / P.w_rows;
  let nb = P.cols / 256u;
  let rb = o * P.row_bytes;
  var acc = 0.0;
  var accm = 0.0;
  var summs = 0.0;
  for (var i = 0u; i < nb; i++) {
    let b = rb + i * BLOCK_BYTES;
    let xo = (r * nb + i) * 81u;
    let yd = bitcast<f32>(XQ[xo + 64u]);
    let d = mul_rn(yd, half_to_f32(ld_u16(b + KD_OFF)));
    let dmin = mul_rn(-yd, half_to_f32(ld_u16(b + KDMIN_OFF)));
    if (K_MINS == 1u) {
      let prod = kmin(b, 2u * k) * bsum(xo, 2u * k) + kmin(b, 2u * k + 1u) * bsum(xo, 2u * k + 1u);
      acc = fmx(dmin, f32(prod), acc);
    } else if (K_MINS == 2u) {
      if (k < 4u) {
        let s0 = kmin(b, 2u * k) * (bsum(xo, 4u * k) + bsum(xo, 4u * k + 1u));
        let s1 = kmin(b, 2u * k + 1u) * (bsum(xo, 4u * k + 2u) + bsum(xo, 4u * k + 3u));
        accm = fmx(dmin, f32(s0 + s1), accm);
      }
    } else if (K_MINS == 3u) {
      if (k == 0u) {
        var total = 0;
        for (var j = 0u; j < 8u; j++) { total += kmin(b, j) * (bsum(xo, 2u * j) + bsum(xo, 2u * j + 1u)); }
        summs = fmx(dmin, f32(total), summs);
      }
    }
    var lane = 0;
    for (var e = 4u * k; e < 256u; e += 32u) {
      let p = ksq4(b, e) * sbytes4(XQ[xo + e / 4u]);
      lane += (p.x + p.y) + (p.z + p.w);
    }
    acc = fmx(d, f32(lane), acc);
  }
  acc_sh[li] = acc;
  accm_sh[li] = accm;
  workgroupBarrier();
  if (k == 0u && live) {
    var a: array<f32, 8>;
    for (var j = 0u; j < 8u; j++) { a[j] = acc_sh[li + j]; }
    var v = hsum8(a);
    if (K_MINS == 2u) { v = opq(v + opq(opq(accm_sh[li] + accm_sh[li + 2u]) + opq(accm_sh[li + 1u] + accm_sh[li + 3u]))); }
    if (K_MINS == 3u) { v = opq(v + summs); }
    let oc = P.out_offset + o;
    if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
    Y[r * P.out_cols + oc] = v;
  }
}
