// matvec_q8: fast decode matvec for the legacy 32-blocks (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL) against
// x quantized to Q8 blocks by q8_quant.wgsl (the same quants and scales as act_round's q8_0 mode,
// which the f32 matvec reads): y[r][o] = sum_k wd*xd * idot_k (+ wm*xs_k for types with a min)
// (+ bias[o]), for a few x rows r. The block's integer dot is exact (dot4I8Packed over the packed
// quants), so only the float sum's order differs from matvec.wgsl over act_round's x.
// One workgroup per NR = 4 consecutive output rows: invocation l takes whole blocks k = l, l + WG,
// ..., so a subgroup reads consecutive blocks of each row once, at full width; each x block is read
// once for the 4 weight rows; the 4 sums of each x row are reduced together (wg_sum4). One
// pipeline per x row count NX (1..8). The weight may be one part of a weight split by rows.
// needs: a dequant type with qi4 / Q_HAS_MIN / BLOCK_BYTES, a reduction (wg_sum4)
struct Params {
  cols: u32,       // shared dimension (a multiple of 32)
  out_cols: u32,   // row stride of y (the full weight's rows)
  w_rows: u32,     // rows of this weight part
  row_bytes: u32,  // bytes per weight row
  out_offset: u32, // first output column written by this part
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> XQ: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

override WG: u32 = 64u;
override NX: u32 = 1u;
const NR: u32 = 4u;

// The block at byte b as 8 words of packed i8 quants (elements 4w..4w+3 in word w), as XQ holds x.
fn wpack(b: u32) -> array<u32, 8> {
  var q: array<u32, 8>;
  for (var w = 0u; w < 8u; w++) { q[w] = pack4xI8(qi4(b, 4u * w)); }
  return q;
}

// The block's integer dot with x block xb.
fn idot(q: array<u32, 8>, xb: u32) -> i32 {
  var s = 0;
  for (var w = 0u; w < 8u; w++) { s = dot4I8Packed(q[w], XQ[xb * 10u + w]) + s; }
  return s;
}

// Weight row j of the workgroup's 4 (block at byte b) against x block xb.
fn bdot(q: array<u32, 8>, b: u32, xb: u32) -> f32 {
  var v = ld_f16(b) * bitcast<f32>(XQ[xb * 10u + 8u]) * f32(idot(q, xb));
  if (Q_HAS_MIN) { v += ld_f16(b + 2u) * bitcast<f32>(XQ[xb * 10u + 9u]); }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ri: RedIn) {
  red_init(ri);
  let lid = ri.lid;
  let o0 = (wid.x + wid.y * nwg.x) * NR;
  if (o0 >= P.w_rows) { return; }
  // Rows past the end repeat the last row (their sums are not stored): no branch in the loop.
  let last = P.w_rows - 1u;
  let rb = vec4<u32>(o0, min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last)) * P.row_bytes;
  let nb = P.cols / 32u;
  var acc: array<vec4<f32>, 8>; // NX <= 8
  for (var k = lid; k < nb; k += WG) {
    let b = rb + vec4<u32>(k * BLOCK_BYTES);
    let q0 = wpack(b.x);
    let q1 = wpack(b.y);
    let q2 = wpack(b.z);
    let q3 = wpack(b.w);
    for (var r = 0u; r < NX; r++) {
      let xb = r * nb + k;
      acc[r] += vec4<f32>(bdot(q0, b.x, xb), bdot(q1, b.y, xb), bdot(q2, b.z, xb), bdot(q3, b.w, xb));
    }
  }
  for (var r = 0u; r < NX; r++) {
    let s = wg_sum4(acc[r]);
    if (lid == 0u) {
      for (var j = 0u; j < NR; j++) {
        let o = o0 + j;
        if (o < P.w_rows) {
          let oc = P.out_offset + o;
          var v = s[j];
          if (P.has_bias != 0u) { v += BIAS[oc]; }
          Y[r * P.out_cols + oc] = v;
        }
      }
    }
  }
}
