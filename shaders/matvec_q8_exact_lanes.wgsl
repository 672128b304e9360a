// matvec_q8_exact_lanes: matvec_q8_exact.wgsl's products (same parameters, kinds 0-3, bit-identical
// results) spread over eight invocations per (x row, output), for GPUs, where one invocation per
// output leaves most of the device idle in decode. Invocation s holds int32 lane s: kinds 0-2 keep
// each lane's float accumulator in its own invocation (in ggml too the lanes are independent chains)
// and fold them in workgroup memory; kind 3 computes eight blocks' integer dots at once and one
// invocation adds them to the float chain in order. CPU adapters (lavapipe) keep the one-invocation
// kernel, which runs faster there.
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

// 8 (row, output) tasks of 8 lanes per workgroup of 64.
const TASKS: u32 = 8u;
var<workgroup> sh_f: array<f32, 64>;
var<workgroup> sh_i: array<i32, 64>;

// The eight lane accumulators of task tl, from workgroup memory.
fn lanes_of(tl: u32) -> array<f32, 8> {
  var a: array<f32, 8>;
  for (var j = 0u; j < 8u; j++) { a[j] = sh_f[tl * 8u + j]; }
  return a;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  exact_init(nwg);
  let s = li & 7u;
  let tl = li >> 3u;
  let tasks = P.rows * P.w_rows;
  let task = (wid.x + wid.y * nwg.x) * TASKS + tl;
  // Tasks past the end compute a copy of the last one (every invocation must reach the barriers).
  let live = task < tasks;
  let t = min(task, tasks - 1u);
  let o = t % P.w_rows;
  let r = P.row_lo + t / P.w_rows;
  let nb = P.cols / 32u;
  let rb = o * P.row_bytes;
  let xb0 = r * nb;
  let kind = P.kind;
  var v = 0.0;
  if (kind == 3u) {
    for (var k0 = 0u; k0 < nb; k0 += 8u) {
      let k = k0 + s;
      if (k < nb) {
        let b = rb + k * BLOCK_BYTES;
        sh_i[li] = isum8(block_lanes(b, xb0 + k));
        sh_f[li] = mul_rn(wd(b), xd(xb0 + k));
      }
      workgroupBarrier();
      if (s == 0u) {
        let m = min(8u, nb - k0);
        for (var c = 0u; c < m; c++) { v = fmx(f32(sh_i[li + c]), sh_f[li + c], v); }
      }
      workgroupBarrier();
    }
  } else if (kind == 2u) {
    var acc = 0.0;
    var acc2 = 0.0;
    var k = 0u;
    for (; k + 1u < nb; k += 2u) {
      let b0 = rb + k * BLOCK_BYTES;
      acc = fmx(mul_rn(xd(xb0 + k), wd(b0)), f32(lane_sum(b0, xb0 + k, s)), acc);
      let b1 = b0 + BLOCK_BYTES;
      acc2 = fmx(mul_rn(xd(xb0 + k + 1u), wd(b1)), f32(lane_sum(b1, xb0 + k + 1u, s)), acc2);
    }
    sh_f[li] = opq(acc + acc2);
    workgroupBarrier();
    if (s == 0u) {
      v = hsum8(lanes_of(tl));
      for (; k < nb; k++) {
        let b = rb + k * BLOCK_BYTES;
        v = opq(v + mul_rn(mul_rn(wd(b), xd(xb0 + k)), f32(isum8(block_lanes(b, xb0 + k)))));
      }
    }
  } else {
    var acc = 0.0;
    var summs = 0.0;
    for (var k = 0u; k < nb; k++) {
      let b = rb + k * BLOCK_BYTES;
      if (kind == 1u && s == 0u) {
        summs = opq(summs + mul_rn(wm(b), xs(xb0 + k)));
      }
      acc = fmx(mul_rn(wd(b), xd(xb0 + k)), f32(lane_sum(b, xb0 + k, s)), acc);
    }
    sh_f[li] = acc;
    workgroupBarrier();
    if (s == 0u) {
      v = hsum8(lanes_of(tl));
      if (kind == 1u) { v = opq(v + summs); }
    }
  }
  if (s == 0u && live) {
    let oc = P.out_offset + o;
    if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
    Y[r * P.out_cols + oc] = v;
  }
}
