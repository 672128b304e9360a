// matmul_q8_exact: matvec_q8_exact.wgsl's products (same parameters, kinds 0, 1 and 3, bit-identical
// results) for batches of rows, tiled: a workgroup computes 8 rows x 8 outputs, one invocation per
// (row, output) with its whole float chain, and stages chunks of the 8 weight rows and the 8 Q8 rows
// in workgroup memory, so each is read from storage once per tile instead of once per product.
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

const KC: u32 = 16u; // blocks per chunk
// Words per staged weight row: a chunk's bytes from an unaligned start.
const WSTRIDE: u32 = (KC * BLOCK_BYTES + 3u) / 4u + 1u;
var<workgroup> W: array<u32, 8u * WSTRIDE>;
var<workgroup> XQ: array<u32, 8u * KC * 10u>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  exact_init(nwg);
  let n_ot = (P.w_rows + 7u) / 8u;
  let tile = wid.x + wid.y * nwg.x;
  let ot = tile % n_ot;
  let rt = tile / n_ot;
  if (rt * 8u >= P.rows) { return; }
  let rl = li / 8u;
  let ol = li % 8u;
  // Rows and outputs past the end repeat the last one (loads stay in bounds; nothing is written).
  let live = ot * 8u + ol < P.w_rows && rt * 8u + rl < P.rows;
  let o = min(ot * 8u + ol, P.w_rows - 1u);
  let r = P.row_lo + min(rt * 8u + rl, P.rows - 1u);
  let nb = P.cols / 32u;
  let kind = P.kind;
  let wlen = arrayLength(&WSRC);
  var acc: array<f32, 8>;
  var summs = 0.0;
  var v = 0.0;
  for (var k0 = 0u; k0 < nb; k0 += KC) {
    for (var e = li; e < 8u * WSTRIDE; e += 64u) {
      let q = e / WSTRIDE;
      let gw = (min(ot * 8u + q, P.w_rows - 1u) * P.row_bytes + k0 * BLOCK_BYTES) / 4u + e % WSTRIDE;
      W[e] = select(0u, WSRC[min(gw, wlen - 1u)], gw < wlen);
    }
    for (var e = li; e < 8u * KC * 10u; e += 64u) {
      let q = e / (KC * 10u);
      let rq = P.row_lo + min(rt * 8u + q, P.rows - 1u);
      let blk = min(k0 + (e % (KC * 10u)) / 10u, nb - 1u);
      XQ[e] = XSRC[(rq * nb + blk) * 10u + e % 10u];
    }
    workgroupBarrier();
    let wb = ol * WSTRIDE * 4u + (o * P.row_bytes + k0 * BLOCK_BYTES) % 4u;
    let kc = min(KC, nb - k0);
    for (var kk = 0u; kk < kc; kk++) {
      let b = wb + kk * BLOCK_BYTES;
      let xb = rl * KC + kk;
      let l = block_lanes(b, xb);
      if (kind == 3u) {
        v = fmx(f32(isum8(l)), mul_rn(wd(b), xd(xb)), v);
      } else {
        if (kind == 1u) { summs = opq(summs + mul_rn(wm(b), xs(xb))); }
        let d = mul_rn(wd(b), xd(xb));
        for (var j = 0u; j < 8u; j++) { acc[j] = fmx(d, f32(l[j]), acc[j]); }
      }
    }
    workgroupBarrier();
  }
  if (kind != 3u) {
    v = hsum8(acc);
    if (kind == 1u) { v = opq(v + summs); }
  }
  if (live) {
    let oc = P.out_offset + o;
    if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
    Y[r * P.out_cols + oc] = v;
  }
}
