// matvec_xr: matvec.wgsl for one x row whose rounding (act_round.wgsl modes 1 f16, 2 bf16,
// 3 q8_0) is done inside the workgroup, saving the separate act_round dispatch in decode.
// Each workgroup copies x (at most MAX_COLS values) into workgroup memory, rounds it there
// (elementwise, or one 32-block per thread for q8_0), then runs the matvec loop of matvec.wgsl
// (NR = 4 weight rows per workgroup) reading x from workgroup memory. Rounding x again in every
// workgroup costs far less than the dispatch it replaces: x is small, the weights are not.
// needs: a dequant type (dq4/dq1), a reduction (wg_sum4), common/half.wgsl (round_f16)
struct Params {
  cols: u32,
  out_cols: u32,
  w_rows: u32,
  row_bytes: u32,
  out_offset: u32,
  has_bias: u32,
  mode: u32,       // act_round mode: 1 f16, 2 bf16, 3 q8_0
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

override WG: u32 = 64u;
const NR: u32 = 4u;
const MAX_COLS: u32 = 2048u;

var<workgroup> xs: array<f32, MAX_COLS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ri: RedIn) {
  red_init(ri);
  exact_init(nwg);
  let lid = ri.lid;
  let o0 = (wid.x + wid.y * nwg.x) * NR;
  if (o0 >= P.w_rows) { return; }
  let cols = P.cols;
  for (var i = lid; i < cols; i += WG) {
    let v = X[i];
    if (P.mode == 1u) { xs[i] = round_f16(v); } else if (P.mode == 2u) { xs[i] = round_bf16(v); } else { xs[i] = v; }
  }
  workgroupBarrier();
  if (P.mode == 3u) {
    for (var blk = lid; blk < cols / 32u; blk += WG) {
      let b = blk * 32u;
      var amax = 0.0;
      for (var j = 0u; j < 32u; j++) { amax = max(amax, abs(xs[b + j])); }
      let d = round_f16(div_rn(amax, 127.0));
      var id = 0.0;
      if (amax != 0.0) { id = div_rn(127.0, amax); }
      for (var j = 0u; j < 32u; j++) { xs[b + j] = round(xs[b + j] * id) * d; }
    }
    workgroupBarrier();
  }
  let last = P.w_rows - 1u;
  let rb = vec4<u32>(o0, min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last)) * P.row_bytes;
  let c4 = cols & ~3u;
  var acc = vec4<f32>(0.0);
  for (var i = lid * 4u; i < c4; i += WG * 4u) {
    let x = vec4<f32>(xs[i], xs[i + 1u], xs[i + 2u], xs[i + 3u]);
    acc += vec4<f32>(dot(dq4(rb.x, i), x), dot(dq4(rb.y, i), x), dot(dq4(rb.z, i), x), dot(dq4(rb.w, i), x));
  }
  for (var i = c4 + lid; i < cols; i += WG) {
    acc += vec4<f32>(dq1(rb.x, i), dq1(rb.y, i), dq1(rb.z, i), dq1(rb.w, i)) * xs[i];
  }
  let s = wg_sum4(acc);
  if (lid == 0u) {
    for (var k = 0u; k < NR; k++) {
      let o = o0 + k;
      if (o < P.w_rows) {
        let oc = P.out_offset + o;
        var v = s[k];
        if (P.has_bias != 0u) { v += BIAS[oc]; }
        Y[oc] = v;
      }
    }
  }
}
