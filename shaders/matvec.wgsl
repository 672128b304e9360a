// matvec: y[r][o] = sum_i W[o][i] * x[r][i] (+ bias[o]) for a few rows r (decode).
// One workgroup per output row o; its WG threads stride over the row in groups of 4 elements,
// dequantizing each group once and using it for every x row, then reduce per x row.
// The weight may be one part of a weight split by rows (out_offset = the part's first row).
// needs: a dequant type (dq4/dq1), a reduction (wg_sum)
struct Params {
  n_x: u32,        // x rows (<= MAXB)
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
const MAXB: u32 = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ri: RedIn) {
  red_init(ri);
  let lid = ri.lid;
  let o = wid.x + wid.y * nwg.x;
  if (o >= P.w_rows) { return; }
  let rb = o * P.row_bytes;
  let cols = P.cols;
  let c4 = cols & ~3u;
  var acc: array<f32, MAXB>;
  for (var i = lid * 4u; i < c4; i += WG * 4u) {
    let w = dq4(rb, i);
    for (var r = 0u; r < P.n_x; r++) {
      let xb = r * cols + i;
      acc[r] += dot(w, vec4<f32>(X[xb], X[xb + 1u], X[xb + 2u], X[xb + 3u]));
    }
  }
  for (var i = c4 + lid; i < cols; i += WG) {
    let w = dq1(rb, i);
    for (var r = 0u; r < P.n_x; r++) { acc[r] += w * X[r * cols + i]; }
  }
  let oc = P.out_offset + o;
  var b = 0.0;
  if (P.has_bias != 0u) { b = BIAS[oc]; }
  for (var r = 0u; r < P.n_x; r++) {
    let s = wg_sum(acc[r]);
    if (lid == 0u) { Y[r * P.out_cols + oc] = s + b; }
  }
}
