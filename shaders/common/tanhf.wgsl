// glibc's tanhf (fdlibm's, before glibc 2.41) and the expm1f it calls, operation by operation in
// float as src/backends/cpu/glibc-tanhf.ts replays them: ggml's tanh (gemma2's soft-capping).
// Products go through mul_rn and sums through opq so that no driver contracts or re-associates
// them; the divisions are correctly rounded (div_rn).
// needs: common/exact.wgsl (opq, mul_rn, div_rn, f32_inf)

// Adds k to the exponent of y (fdlibm's SET_FLOAT_WORD(y, i + (k << 23))).
fn add_exponent(y: f32, k: i32) -> f32 {
  return bitcast<f32>(bitcast<u32>(y) + (bitcast<u32>(k) << 23u));
}

fn glibc_expm1f(x_in: f32) -> f32 {
  let LN2_HI = bitcast<f32>(0x3f317180u);
  let LN2_LO = bitcast<f32>(0x3717f7d1u);
  let INVLN2 = bitcast<f32>(0x3fb8aa3bu);
  let Q1 = bitcast<f32>(0xbd088889u);
  let Q2 = bitcast<f32>(0x3ad00d01u);
  let Q3 = bitcast<f32>(0xb8a670cdu);
  let Q4 = bitcast<f32>(0x36867e54u);
  let Q5 = bitcast<f32>(0xb457edbbu);
  var x = x_in;
  let hx = bitcast<u32>(x) & 0x7fffffffu;
  let neg = (bitcast<u32>(x) >> 31u) != 0u;
  if (hx >= 0x4195b844u) {
    // |x| >= 27 ln2
    if (hx >= 0x42b17218u) {
      if (hx > 0x7f800000u) { return x; }
      if (hx == 0x7f800000u) { return select(x, -1.0, neg); }
      if (!neg) { return f32_inf(); }
    }
    if (neg) { return -1.0; }
  }
  var k = 0i;
  var c = 0.0;
  if (hx > 0x3eb17218u) {
    // |x| > 0.5 ln2: reduce by k ln2
    var hi: f32;
    var lo: f32;
    if (hx < 0x3f851592u) {
      if (neg) { hi = opq(x + LN2_HI); lo = -LN2_LO; k = -1i; } else { hi = opq(x - LN2_HI); lo = LN2_LO; k = 1i; }
    } else {
      k = i32(opq(mul_rn(INVLN2, x) + select(0.5, -0.5, neg)));
      let t = f32(k);
      hi = opq(x - mul_rn(t, LN2_HI));
      lo = mul_rn(t, LN2_LO);
    }
    x = opq(hi - lo);
    c = opq(opq(hi - x) - lo);
  } else if (hx < 0x33000000u) {
    return x;
  }
  let hfx = mul_rn(0.5, x);
  let hxs = mul_rn(x, hfx);
  let r1 = opq(1.0 + mul_rn(hxs, opq(Q1 + mul_rn(hxs, opq(Q2 + mul_rn(hxs, opq(Q3 + mul_rn(hxs, opq(Q4 + mul_rn(hxs, Q5))))))))));
  let t = opq(3.0 - mul_rn(r1, hfx));
  var e = mul_rn(hxs, div_rn(opq(r1 - t), opq(6.0 - mul_rn(x, t))));
  if (k == 0i) { return opq(x - opq(mul_rn(x, e) - hxs)); }
  e = opq(mul_rn(x, opq(e - c)) - c);
  e = opq(e - hxs);
  if (k == -1i) { return opq(mul_rn(0.5, opq(x - e)) - 0.5); }
  if (k == 1i) {
    if (x < -0.25) { return mul_rn(-2.0, opq(e - opq(x + 0.5))); }
    return opq(1.0 + mul_rn(2.0, opq(x - e)));
  }
  if (k <= -2i || k > 56i) { return opq(add_exponent(opq(1.0 - opq(e - x)), k) - 1.0); }
  if (k < 23i) { return add_exponent(opq(bitcast<f32>(0x3f800000u - (0x1000000u >> u32(k))) - opq(e - x)), k); }
  return add_exponent(opq(opq(x - opq(e + bitcast<f32>(u32(0x7f - k) << 23u))) + 1.0), k);
}

fn glibc_tanhf(x: f32) -> f32 {
  let ix = bitcast<u32>(x) & 0x7fffffffu;
  if (ix >= 0x7f800000u) {
    if (ix > 0x7f800000u) { return x; }
    return select(1.0, -1.0, x < 0.0);
  }
  var z = 1.0;
  if (ix < 0x41b00000u) {
    // |x| < 22
    if (ix == 0u) { return x; }
    if (ix < 0x24000000u) { return mul_rn(x, opq(1.0 + x)); }
    let ax = abs(x);
    if (ix >= 0x3f800000u) {
      let t = glibc_expm1f(mul_rn(2.0, ax));
      z = opq(1.0 - div_rn(2.0, opq(t + 2.0)));
    } else {
      let t = glibc_expm1f(mul_rn(-2.0, ax));
      z = div_rn(-t, opq(t + 2.0));
    }
  }
  return select(z, -z, x < 0.0);
}
