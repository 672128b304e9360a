// Q5_0: { f16 d; u8 qh[4]; u8 qs[16] }. Low 4 bits as Q4_0, bit j of qh is the 5th bit of
// element j; value = d * (q - 16).
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 22u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let qh = ld_u32(b + 2u);
  let q = bytes4(ld_u32(b + 6u + (j & 15u)));
  let lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
  let hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
  return ld_f16(b) * (vec4<f32>(lo | hi) - 16.0);
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Integer quants of elements j..j+3 of the block at byte b (exact kernels; scale at b, no min).
const Q_HAS_MIN: bool = false;
fn qi4(b: u32, j: u32) -> vec4<i32> {
  let qh = ld_u32(b + 2u);
  let q = bytes4(ld_u32(b + 6u + (j & 15u)));
  let lo = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
  let hi = ((vec4<u32>(qh) >> (vec4<u32>(j) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u)) << vec4<u32>(4u);
  return vec4<i32>(lo | hi) - 16;
}
