// matvec: y[r][o] = sum_i W[o][i] * x[r][i] (+ bias[o]) for a few rows r (decode).
// One workgroup per NR = 4 consecutive output rows: its WG threads stride over the columns in
// groups of 4 elements, dequantize the 4 weight rows' groups once and use them for every x row
// (each x group is loaded once for all 4 weight rows), then reduce the 4 sums of each x row
// together (wg_sum4). One pipeline per x row count NX (1..8). The weight may be one part of a weight split by rows (out_offset = the
// part's first row).
// needs: a dequant type (dq4/dq1), a reduction (wg_sum4)
struct Params {
  cols: u32,       // shared dimension
  out_cols: u32,   // row stride of y (the full weight's rows)
  w_rows: u32,     // rows of this weight part
  row_bytes: u32,  // bytes per weight row
  out_offset: u32, // first output column written by this part
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

override WG: u32 = 64u;
// x rows, a pipeline constant so that the accumulators stay in registers (a dynamically indexed
// private array spills to memory on GPUs and in lavapipe alike).
override NX: u32 = 1u;
const NR: u32 = 4u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ri: RedIn) {
  red_init(ri);
  let lid = ri.lid;
  let o0 = (wid.x + wid.y * nwg.x) * NR;
  if (o0 >= P.w_rows) { return; }
  // Rows past the end repeat the last row (their sums are not stored): no branch in the loop.
  let last = P.w_rows - 1u;
  let rb = vec4<u32>(o0, min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last)) * P.row_bytes;
  let cols = P.cols;
  let c4 = cols & ~3u;
  var acc: array<vec4<f32>, 8>; // NX <= 8
  for (var i = lid * 4u; i < c4; i += WG * 4u) {
    let w0 = dq4(rb.x, i);
    let w1 = dq4(rb.y, i);
    let w2 = dq4(rb.z, i);
    let w3 = dq4(rb.w, i);
    for (var r = 0u; r < NX; r++) {
      let xb = r * cols + i;
      let x = vec4<f32>(X[xb], X[xb + 1u], X[xb + 2u], X[xb + 3u]);
      acc[r] += vec4<f32>(dot(w0, x), dot(w1, x), dot(w2, x), dot(w3, x));
    }
  }
  for (var i = c4 + lid; i < cols; i += WG) {
    let w = vec4<f32>(dq1(rb.x, i), dq1(rb.y, i), dq1(rb.z, i), dq1(rb.w, i));
    for (var r = 0u; r < NX; r++) { acc[r] += w * X[r * cols + i]; }
  }
  for (var r = 0u; r < NX; r++) {
    let s = wg_sum4(acc[r]);
    if (lid == 0u) {
      for (var k = 0u; k < NR; k++) {
        let o = o0 + k;
        if (o < P.w_rows) {
          let oc = P.out_offset + o;
          var v = s[k];
          if (P.has_bias != 0u) { v += BIAS[oc]; }
          Y[r * P.out_cols + oc] = v;
        }
      }
    }
  }
}
