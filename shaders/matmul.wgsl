// matmul (prefill): Y[m][n] = sum_k X[m][k] * W[n][k] (+ bias[n]) for many rows m.
// Tiled: a workgroup of 16x16 threads computes a 64x64 tile of Y, stepping k in slices of 16;
// each slice of W (64 rows x 16) is dequantized once into workgroup memory (one dq4 per thread)
// next to the matching slice of X, and every thread accumulates a 4x4 register block
// (rows ty + 16a, columns tx + 16b: strided so that reads of the tiles spread over banks).
// The weight may be one part of a weight split by rows (out_offset = the part's first row).
// needs: a dequant type (dq4/dq1)
struct Params {
  m: u32,          // X rows
  cols: u32,       // shared dimension K
  out_cols: u32,   // row stride of Y
  w_rows: u32,     // rows of this weight part (N)
  row_bytes: u32,
  out_offset: u32,
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

const TILE: u32 = 64u;
const BK: u32 = 16u;
const STRIDE: u32 = 17u; // BK + 1: padding against bank conflicts

var<workgroup> xs: array<f32, 1088>; // TILE * STRIDE
var<workgroup> ws: array<f32, 1088>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.x * TILE;
  let m0 = wid.y * TILE;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let cols = P.cols;
  // Loader coordinates: each thread loads 4 consecutive k of one tile row, of X and of W.
  let lr = lid / 4u;
  let lk = (lid % 4u) * 4u;
  let xm = m0 + lr;
  let wn = n0 + lr;
  let rb = wn * P.row_bytes;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < cols; k0 += BK) {
    let k = k0 + lk;
    var xv = vec4<f32>(0.0);
    var wv = vec4<f32>(0.0);
    if (k + 3u < cols) {
      if (xm < P.m) {
        let xb = xm * cols + k;
        xv = vec4<f32>(X[xb], X[xb + 1u], X[xb + 2u], X[xb + 3u]);
      }
      if (wn < P.w_rows) { wv = dq4(rb, k); }
    } else {
      for (var e = 0u; e < 4u; e++) {
        if (k + e < cols) {
          if (xm < P.m) { xv[e] = X[xm * cols + k + e]; }
          if (wn < P.w_rows) { wv[e] = dq1(rb, k + e); }
        }
      }
    }
    let s = lr * STRIDE + lk;
    xs[s] = xv.x; xs[s + 1u] = xv.y; xs[s + 2u] = xv.z; xs[s + 3u] = xv.w;
    ws[s] = wv.x; ws[s + 1u] = wv.y; ws[s + 2u] = wv.z; ws[s + 3u] = wv.w;
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var t = 0u; t < 4u; t++) {
        a[t] = xs[(ty + 16u * t) * STRIDE + kk];
        b[t] = ws[(tx + 16u * t) * STRIDE + kk];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += a[i] * b[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty + 16u * i;
    if (m >= P.m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx + 16u * j;
      if (n >= P.w_rows) { continue; }
      let oc = P.out_offset + n;
      var v = acc[i][j];
      if (P.has_bias != 0u) { v += BIAS[oc]; }
      Y[m * P.out_cols + oc] = v;
    }
  }
}
