// The 6-bit scale/min pairs of Q4_K and Q5_K (ggml's get_scale_min_k4): 8 pairs in 12 bytes at sb.
fn scale_min_k4(sb: u32, is: u32) -> vec2<f32> {
  if (is < 4u) {
    return vec2<f32>(f32(ld_u8(sb + is) & 63u), f32(ld_u8(sb + is + 4u) & 63u));
  }
  let x = ld_u8(sb + is + 4u);
  let sc = (x & 0xFu) | ((ld_u8(sb + is - 4u) >> 6u) << 4u);
  let m = (x >> 4u) | ((ld_u8(sb + is) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}
