// F16: IEEE halves, unpacked with unpack2x16float (no shader-f16 needed).
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + i * 2u;
  return vec4<f32>(unpack2x16float(ld_u32(b)), unpack2x16float(ld_u32(b + 4u)));
}

fn dq1(rb: u32, i: u32) -> f32 {
  return ld_f16(rb + i * 2u);
}
