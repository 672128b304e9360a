// Q3_K: { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }. Indexing as Q2_K (half h, group g,
// lane l); the 3rd bit is bit 4h+g of hmask[l] (clear means subtract 4); the 16 signed 6-bit
// scales are packed as low nibbles in scales[0..7] (two per byte) and high 2-bit pairs in
// scales[8..11]; value = d * (sc - 32) * q.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 110u;

fn q3k_scale(sb: u32, is: u32) -> f32 {
  let lo = select(ld_u8(sb + is - 8u) >> 4u, ld_u8(sb + is) & 0xFu, is < 8u);
  let hi = (ld_u8(sb + 8u + (is % 4u)) >> (2u * (is / 4u))) & 3u;
  return f32(i32(lo | (hi << 4u)) - 32);
}

fn dq4(rb: u32, i: u32) -> vec4<f32> {
  let b = rb + (i / QK) * BLOCK_BYTES;
  let j = i % QK;
  let h = j / 128u;
  let g = (j % 128u) / 32u;
  let l = j % 32u;
  let sc = q3k_scale(b + 96u, h * 8u + g * 2u + l / 16u);
  let q = (bytes4(ld_u32(b + 32u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
  let hm = (bytes4(ld_u32(b + l)) >> vec4<u32>(h * 4u + g)) & vec4<u32>(1u);
  let v = vec4<f32>(q) - select(vec4<f32>(4.0), vec4<f32>(0.0), hm != vec4<u32>(0u));
  return ld_f16(b + 108u) * sc * v;
}

fn dq1(rb: u32, i: u32) -> f32 {
  return dq4(rb, i & ~3u)[i & 3u];
}

// Exact kernels: scale * quant of elements j..j+3 (j % 4 == 0) of the superblock at byte b (no mins).
const KD_OFF: u32 = 108u;
const KDMIN_OFF: u32 = 108u;
const K_MINS: u32 = 0u;
fn ksq4(b: u32, j: u32) -> vec4<i32> {
  let h = j / 128u;
  let g = (j % 128u) / 32u;
  let l = j % 32u;
  let sc = i32(q3k_scale(b + 96u, h * 8u + g * 2u + l / 16u));
  let q = (bytes4(ld_u32(b + 32u + h * 32u + l)) >> vec4<u32>(2u * g)) & vec4<u32>(3u);
  let hm = (bytes4(ld_u32(b + l)) >> vec4<u32>(h * 4u + g)) & vec4<u32>(1u);
  return (vec4<i32>(q) - select(vec4<i32>(4), vec4<i32>(0), hm != vec4<u32>(0u))) * sc;
}
fn kmin(b: u32, is: u32) -> i32 { return 0; }
