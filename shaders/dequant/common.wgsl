// Byte access to a packed GGUF weight held as u32 words in the binding `W` (declared by the op
// shader). Blocks are 2-byte aligned at best (e.g. Q4_0 blocks are 18 bytes), so 4-byte reads
// may straddle two words.
//
// Every dequant file built on these helpers defines, for its type:
//   const QK: u32            elements per block
//   const BLOCK_BYTES: u32   bytes per block
//   fn dq4(rb: u32, i: u32) -> vec4<f32>   elements i..i+3 (i % 4 == 0) of the row at byte rb
//   fn dq1(rb: u32, i: u32) -> f32         element i of the row at byte rb (tails of float rows)

fn ld_u32(b: u32) -> u32 {
  let w = b >> 2u;
  let s = (b & 3u) * 8u;
  if (s == 0u) { return W[w]; }
  return (W[w] >> s) | (W[w + 1u] << (32u - s));
}

// b must be even.
fn ld_u16(b: u32) -> u32 {
  return (W[b >> 2u] >> ((b & 2u) * 8u)) & 0xFFFFu;
}

fn ld_u8(b: u32) -> u32 {
  return (W[b >> 2u] >> ((b & 3u) * 8u)) & 0xFFu;
}

fn ld_i8(b: u32) -> i32 {
  return bitcast<i32>(ld_u8(b) << 24u) >> 24u;
}

fn ld_f16(b: u32) -> f32 {
  return unpack2x16float(ld_u16(b)).x;
}

fn bytes4(u: u32) -> vec4<u32> {
  return (vec4<u32>(u) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xFFu);
}

fn sbytes4(u: u32) -> vec4<i32> {
  return bitcast<vec4<i32>>(vec4<u32>(u) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
}
