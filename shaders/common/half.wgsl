// Rounding f32 to f16 (and bf16) precision without shader-f16. The halves' bits are widened back by integer
// code, not unpack2x16float: compilers may fold unpack(pack(x)) into x, which would skip the rounding.
fn f16_bits_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8; // subnormal: m * 2^-24
    return select(v, -v, s != 0u);
  }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}

fn round_f16(v: f32) -> f32 {
  return f16_bits_to_f32(pack2x16float(vec2<f32>(v, 0.0)) & 0xffffu);
}

fn round_f16x2(v: vec2<f32>) -> vec2<f32> {
  let p = pack2x16float(v);
  return vec2<f32>(f16_bits_to_f32(p & 0xffffu), f16_bits_to_f32(p >> 16u));
}

// f32 -> bf16 precision as ggml's GGML_FP32_TO_BF16: round to nearest even on the upper 16 bits,
// NaN kept quiet.
fn round_bf16(v: f32) -> f32 {
  let u = bitcast<u32>(v);
  var h: u32;
  if ((u & 0x7fffffffu) > 0x7f800000u) { h = (u >> 16u) | 64u; } else { h = (u + (0x7fffu + ((u >> 16u) & 1u))) >> 16u; }
  return bitcast<f32>(h << 16u);
}
