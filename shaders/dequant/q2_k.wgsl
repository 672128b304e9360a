// Q2_K: { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }, 256 elements in two halves of 128.
// In half h, element e = 32*g + l (g 0..3, l 0..31) is bits 2g..2g+1 of qs[32h + l], with the
// 4-bit scale/min pair scales[8h + 2g + l/16]; value = d * sc * q - dmin * m.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 84u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let h = j / 128u;
  let g = (j % 128u) / 32u;
  let l = j % 32u;
  let sc = ld_u8(b + h * 8u + g * 2u + l / 16u);
  let q = (bytes4(ld_u32(b + 16u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
  let d = ld_f16(b + 80u);
  let dmin = ld_f16(b + 82u);
  return d * f32(sc & 0xFu) * vec4<f32>(q) - dmin * f32(sc >> 4u);
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b, the
// sub-block mins, the byte offsets of d / dmin and how the mins enter (K_MINS, see matvec_q8k_exact).
const KD_OFF: u32 = 80u;
const KDMIN_OFF: u32 = 82u;
const K_MINS: u32 = 1u;
fn ksq4(b: u32, j: u32) -> vec4<i32> {
  let h = j / 128u;
  let g = (j % 128u) / 32u;
  let l = j % 32u;
  let sc = ld_u8(b + h * 8u + g * 2u + l / 16u) & 0xFu;
  let q = (bytes4(ld_u32(b + 16u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
  return vec4<i32>(q) * i32(sc);
}
fn kmin(b: u32, is: u32) -> i32 {
  return i32(ld_u8(b + is) >> 4u);
}
