// F32: plain little-endian floats (rows are 4-byte aligned).
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 4u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let w = (rb >> 2u) + i;
  return bitcast<vec4<f32>>(vec4<u32>(W[w], W[w + 1u], W[w + 2u], W[w + 3u]));
}

fn dq1(rb: u32, i: u32) -> f32 {
  return bitcast<f32>(W[(rb >> 2u) + i]);
}
