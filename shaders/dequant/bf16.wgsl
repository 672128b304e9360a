// BF16: the upper 16 bits of an f32.
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;

fn bf16_pair(u: u32) -> vec2<f32> {
  return bitcast<vec2<f32>>(vec2<u32>(u << 16u, u & 0xFFFF0000u));
}

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + i * 2u;
  return vec4<f32>(bf16_pair(ld_u32(b)), bf16_pair(ld_u32(b + 4u)));
}

fn dq1(rb: u32, i: u32) -> f32 {
  return bitcast<f32>(ld_u16(rb + i * 2u) << 16u);
}
