// Integer block dots of legacy-quantized weights with Q8 activation blocks (q8_quant.wgsl's layout:
// 8 words of packed i8 quants, then d and s as f32 bits), shared by matvec_q8_exact.wgsl and
// matvec_q8_exact_lanes.wgsl. Lane w of a block holds elements 4w..4w+3, as ggml's maddubs/dpbusd.
// needs: the op's `XQ` binding, a dequant type with qi4 / BLOCK_BYTES, common/exact.wgsl

// Lane w of the weight block at byte b against activation block xb.
fn lane_sum(b: u32, xb: u32, w: u32) -> i32 {
  let p = qi4(b, 4u * w) * sbytes4(XQ[xb * 10u + w]);
  return (p.x + p.y) + (p.z + p.w);
}

fn block_lanes(b: u32, xb: u32) -> array<i32, 8> {
  var l: array<i32, 8>;
  for (var w = 0u; w < 8u; w++) { l[w] = lane_sum(b, xb, w); }
  return l;
}

// A block's whole integer dot, in the lanes' pairwise order (exact either way).
fn isum8(l: array<i32, 8>) -> i32 {
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

// Activation block xb's scale, weight block at byte b's scale (and min at b + 2, s of xb).
fn xd(xb: u32) -> f32 { return bitcast<f32>(XQ[xb * 10u + 8u]); }
fn xs(xb: u32) -> f32 { return bitcast<f32>(XQ[xb * 10u + 9u]); }
fn wd(b: u32) -> f32 { return half_to_f32(ld_u16(b)); }
fn wm(b: u32) -> f32 { return half_to_f32(ld_u16(b + 2u)); }
