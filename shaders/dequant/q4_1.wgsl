// Q4_1: { f16 d; f16 m; u8 qs[16] }, nibbles as Q4_0; value = d * q + m.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 20u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let q = bytes4(ld_u32(b + 4u + (j & 15u)));
  let n = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
  return ld_f16(b) * vec4<f32>(n) + ld_f16(b + 2u);
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Integer quants of elements j..j+3 of the block at byte b (exact kernels; scale at b, min at b + 2).
const Q_HAS_MIN: bool = true;
fn qi4(b: u32, j: u32) -> vec4<i32> {
  let q = bytes4(ld_u32(b + 4u + (j & 15u)));
  return vec4<i32>(select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u));
}
