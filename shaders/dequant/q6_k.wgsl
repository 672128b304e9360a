// Q6_K: { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }, two halves of 128. In half h, element
// e = 32g + l takes 4 low bits from ql[64h + l + 32(g & 1)] (low nibble for g < 2, high
// otherwise) and 2 high bits (bits 2g..2g+1) from qh[32h + l]; scale scales[8h + l/16 + 2g];
// value = d * sc * (q - 32).
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let h = j / 128u;
  let g = (j % 128u) / 32u;
  let l = j % 32u;
  let ql = bytes4(ld_u32(b + h * 64u + l + 32u * (g & 1u)));
  let lo = (ql >> vec4<u32>(4u * (g / 2u))) & vec4<u32>(0xFu);
  let hi = (bytes4(ld_u32(b + 128u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
  let q = vec4<i32>(lo | (hi << vec4<u32>(4u))) - vec4<i32>(32);
  let sc = f32(ld_i8(b + 192u + h * 8u + l / 16u + 2u * g));
  return ld_f16(b + 208u) * sc * vec4<f32>(q);
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b (no mins).
const KD_OFF: u32 = 208u;
const KDMIN_OFF: u32 = 208u;
const K_MINS: u32 = 0u;
fn ksq4(b: u32, j: u32) -> vec4<i32> {
  let h = j / 128u;
  let g = (j % 128u) / 32u;
  let l = j % 32u;
  let ql = bytes4(ld_u32(b + h * 64u + l + 32u * (g & 1u)));
  let lo = (ql >> vec4<u32>(4u * (g / 2u))) & vec4<u32>(0xFu);
  let hi = (bytes4(ld_u32(b + 128u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
  let q = vec4<i32>(lo | (hi << vec4<u32>(4u))) - vec4<i32>(32);
  return q * ld_i8(b + 192u + h * 8u + l / 16u + 2u * g);
}
fn kmin(b: u32, is: u32) -> i32 { return 0; }
