// IQ4_NL: { f16 d; u8 qs[16] }, nibbles laid out as Q4_0 but mapped through a non-linear table.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;

var<private> IQ4NL_VALUES: array<f32, 16> = array<f32, 16>(
  -127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
  1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let q = bytes4(ld_u32(b + 2u + (j & 15u)));
  let n = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
  let v = vec4<f32>(IQ4NL_VALUES[n.x], IQ4NL_VALUES[n.y], IQ4NL_VALUES[n.z], IQ4NL_VALUES[n.w]);
  return ld_f16(b) * v;
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Integer quants (table values) of elements j..j+3 of the block at byte b (exact kernels; scale at b, no min).
const Q_HAS_MIN: bool = false;
var<private> IQ4NL_INTS: array<i32, 16> = array<i32, 16>(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
fn qi4(b: u32, j: u32) -> vec4<i32> {
  let q = bytes4(ld_u32(b + 2u + (j & 15u)));
  let n = select(q & vec4<u32>(0xFu), q >> vec4<u32>(4u), j >= 16u);
  return vec4<i32>(IQ4NL_INTS[n.x], IQ4NL_INTS[n.y], IQ4NL_INTS[n.z], IQ4NL_INTS[n.w]);
}
