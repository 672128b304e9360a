// Q5_K: { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }. As Q4_K, plus a 5th bit:
// bit (2c + s) of qh[l]; value = d * sc * q - dmin * m.
// requires: kquant-scales.wgsl
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 176u;

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let c = j / 64u;
  let s = (j % 64u) / 32u;
  let l = j % 32u;
  let is = 2u * c + s;
  let sm = scale_min_k4(b + 4u, is);
  let lo = (bytes4(ld_u32(b + 48u + c * 32u + l)) >> vec4<u32>(4u * s)) & vec4<u32>(0xFu);
  let hi = ((bytes4(ld_u32(b + 16u + l)) >> vec4<u32>(is)) & vec4<u32>(1u)) << vec4<u32>(4u);
  return ld_f16(b) * sm.x * vec4<f32>(lo | hi) - ld_f16(b + 2u) * sm.y;
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b, the
// 8 sub-block mins, the byte offsets of d / dmin and how the mins enter (K_MINS).
const KD_OFF: u32 = 0u;
const KDMIN_OFF: u32 = 2u;
const K_MINS: u32 = 3u;
fn ksq4(b: u32, j: u32) -> vec4<i32> {
  let c = j / 64u;
  let s = (j % 64u) / 32u;
  let l = j % 32u;
  let is = 2u * c + s;
  let sc = i32(scale_min_k4(b + 4u, is).x);
  let lo = (bytes4(ld_u32(b + 48u + c * 32u + l)) >> vec4<u32>(4u * s)) & vec4<u32>(0xFu);
  let hi = ((bytes4(ld_u32(b + 16u + l)) >> vec4<u32>(is)) & vec4<u32>(1u)) << vec4<u32>(4u);
  return vec4<i32>(lo | hi) * sc;
}
fn kmin(b: u32, is: u32) -> i32 {
  return i32(scale_min_k4(b + 4u, is).y);
}
