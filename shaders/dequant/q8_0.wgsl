// Q8_0: { f16 d; i8 qs[32] }; value = d * q.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  return ld_f16(b) * vec4<f32>(sbytes4(ld_u32(b + 2u + j)));
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Integer quants of elements j..j+3 of the block at byte b (exact kernels; scale at b, no min).
const Q_HAS_MIN: bool = false;
fn qi4(b: u32, j: u32) -> vec4<i32> {
  return sbytes4(ld_u32(b + 2u + j));
}
