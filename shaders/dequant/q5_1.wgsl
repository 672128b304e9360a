// Q5_1: { f16 d; f16 m; u8 qh[4]; u8 qs[16] }, bits as Q5_0; value = d * q + m.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 24u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let qh = ld_u32(b + 4u);
  let q = bytes4(ld_u32(b + 8u + (j & 15u)));
  let lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
  let hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
  return ld_f16(b) * vec4<f32>(lo | hi) + ld_f16(b + 2u);
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Integer quants of elements j..j+3 of the block at byte b (exact kernels; scale at b, min at b + 2).
const Q_HAS_MIN: bool = true;
fn qi4(b: u32, j: u32) -> vec4<i32> {
  let qh = ld_u32(b + 4u);
  let q = bytes4(ld_u32(b + 8u + (j & 15u)));
  let lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
  let hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
  return vec4<i32>(lo | hi);
}
