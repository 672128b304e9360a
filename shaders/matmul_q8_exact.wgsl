// matmul_q8_exact: matvec_q8_exact.wgsl's products (same parameters, kinds 0, 1 and 3, bit-identical
// results) for batches of rows, tiled: a workgroup computes 16 rows x 16 outputs, each invocation
// 2 x 2 of them with their whole float chains, and stages chunks of the 16 weight rows and the 16 Q8
// rows in workgroup memory, so each is read from storage once per tile instead of once per product.
// The staged arrays are named W and XQ, so the dequant and q8-dot helpers read them unchanged
// (with byte addresses relative to the tile).
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
@group(0) @binding(1) var<storage, read> WSRC: array<u32>;
@group(0) @binding(2) var<storage, read> XSRC: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

const KC: u32 = 8u; // blocks per chunk
const T: u32 = 16u; // rows and outputs per tile
// Words per staged weight row: a chunk's bytes from an unaligned start.
const WSTRIDE: u32 = (KC * BLOCK_BYTES + 3u) / 4u + 1u;
var<workgroup> W: array<u32, T * WSTRIDE>;
var<workgroup> XQ: array<u32, T * KC * 10u>;

// Lane w's integer products of a weight block (quants qa) with an activation block word.
fn lane4(qa: vec4<i32>, xw: u32) -> i32 {
  let p = qa * sbytes4(xw);
  return (p.x + p.y) + (p.z + p.w);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  exact_init(nwg);
  let n_ot = (P.w_rows + T - 1u) / T;
  let tile = wid.x + wid.y * nwg.x;
  let ot = tile % n_ot;
  let rt = tile / n_ot;
  if (rt * T >= P.rows) { return; }
  // Invocation (rq, oq) computes rows rq, rq + 8 x outputs oq, oq + 8 of the tile: four products
  // per staged load. Rows and outputs past the end repeat the last one (nothing is written).
  let rq = li / 8u;
  let oq = li % 8u;
  let nb = P.cols / 32u;
  let kind = P.kind;
  let wlen = arrayLength(&WSRC);
  var o: array<u32, 2>;
  var r: array<u32, 2>;
  for (var i = 0u; i < 2u; i++) {
    o[i] = min(ot * T + oq + 8u * i, P.w_rows - 1u);
    r[i] = P.row_lo + min(rt * T + rq + 8u * i, P.rows - 1u);
  }
  // Accumulators per (row i, output k) pair p = 2i + k.
  var acc: array<array<f32, 8>, 4>;
  var summs: array<f32, 4>;
  var v: array<f32, 4>;
  for (var k0 = 0u; k0 < nb; k0 += KC) {
    for (var e = li; e < T * WSTRIDE; e += 64u) {
      let q = e / WSTRIDE;
      let gw = (min(ot * T + q, P.w_rows - 1u) * P.row_bytes + k0 * BLOCK_BYTES) / 4u + e % WSTRIDE;
      W[e] = select(0u, WSRC[min(gw, wlen - 1u)], gw < wlen);
    }
    for (var e = li; e < T * KC * 10u; e += 64u) {
      let q = e / (KC * 10u);
      let rr = P.row_lo + min(rt * T + q, P.rows - 1u);
      let blk = min(k0 + (e % (KC * 10u)) / 10u, nb - 1u);
      XQ[e] = XSRC[(rr * nb + blk) * 10u + e % 10u];
    }
    workgroupBarrier();
    let kc = min(KC, nb - k0);
    for (var kk = 0u; kk < kc; kk++) {
      var b: array<u32, 2>;
      var xb: array<u32, 2>;
      for (var i = 0u; i < 2u; i++) {
        b[i] = (oq + 8u * i) * WSTRIDE * 4u + (o[i] * P.row_bytes + k0 * BLOCK_BYTES) % 4u + kk * BLOCK_BYTES;
        xb[i] = (rq + 8u * i) * KC + kk;
      }
      var l: array<array<i32, 8>, 4>;
      for (var w = 0u; w < 8u; w++) {
        let q0 = qi4(b[0], 4u * w);
        let q1 = qi4(b[1], 4u * w);
        let x0 = XQ[xb[0] * 10u + w];
        let x1 = XQ[xb[1] * 10u + w];
        l[0][w] = lane4(q0, x0);
        l[1][w] = lane4(q1, x0);
        l[2][w] = lane4(q0, x1);
        l[3][w] = lane4(q1, x1);
      }
      for (var p = 0u; p < 4u; p++) {
        let bw = b[p & 1u];
        let bx = xb[p >> 1u];
        if (kind == 3u) {
          v[p] = fmx(f32(isum8(l[p])), mul_rn(wd(bw), xd(bx)), v[p]);
        } else {
          if (kind == 1u) { summs[p] = opq(summs[p] + mul_rn(wm(bw), xs(bx))); }
          let d = mul_rn(wd(bw), xd(bx));
          for (var j = 0u; j < 8u; j++) { acc[p][j] = fmx(d, f32(l[p][j]), acc[p][j]); }
        }
      }
    }
    workgroupBarrier();
  }
  for (var p = 0u; p < 4u; p++) {
    let i = p >> 1u;
    let k = p & 1u;
    if (ot * T + oq + 8u * k >= P.w_rows || rt * T + rq + 8u * i >= P.rows) { continue; }
    var y = v[p];
    if (kind != 3u) {
      y = hsum8(acc[p]);
      if (kind == 1u) { y = opq(y + summs[p]); }
    }
    let oc = P.out_offset + o[k];
    if (P.has_bias != 0u) { y = opq(y + BIAS[oc]); }
    Y[r[i] * P.out_cols + oc] = y;
  }
}
