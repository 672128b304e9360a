// rmsnorm_q8: rmsnorm.wgsl (the same arithmetic, so the same f32 output) that also writes the
// output quantized to Q8 blocks as q8_quant.wgsl does (the same quants and scales), for fast decode:
// the matvecs that read the normalized row (q/k/v, gate/up over legacy 32-block weights) then find
// their Q8 copy ready and no q8_quant dispatch runs. cols is a multiple of 32. The output pass runs
// over quads of values: 8 consecutive invocations share a block (WG a multiple of 8), its amax and
// quant sum through workgroup memory, as in q8_quant.wgsl.
// rmsnorm: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, fused with the weight multiply, in
// ggml's float32 steps (see rmsnorm.wgsl).
// One workgroup per row. In place (out aliasing x), the host binds a placeholder for X and sets
// x_from_out: x is then read through OUT.
// needs: common/exact.wgsl
struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  x_from_out: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> WT: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(4) var<storage, read_write> XQ: array<u32>;

override WG: u32 = 64u;
var<workgroup> part: array<vec2<f32>, WG>;
var<workgroup> qmax: array<f32, WG>;
var<workgroup> qsum: array<i32, WG>;

fn x_at(i: u32) -> f32 {
  if (P.x_from_out != 0u) { return OUT[i]; }
  return X[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  exact_init(nwg);
  let r = wid.x + wid.y * nwg.x;
  if (r >= P.rows) { return; }
  let base = r * P.cols;
  var ss = vec2<f32>(0.0);
  for (var i = lid; i < P.cols; i += WG) {
    let v = x_at(base + i);
    ss = ff_add_f(ss, mul_rn(v, v));
  }
  part[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] = ff_add(part[lid], part[lid + s]); }
    workgroupBarrier();
  }
  let tot = part[0];
  // (hi + lo) / cols rounded once: quotient of hi, corrected by the remainder and lo.
  let n = f32(P.cols);
  let q = div_rn(tot.x, n);
  let rem = fmx(-q, n, tot.x) + tot.y;
  let mean = q + div_rn(rem, n);
  let scale = div_rn(1.0, sqrt_rn(mean + P.eps));
  let nq = P.cols / 4u;
  let ob = r * (P.cols / 32u) * 10u;
  for (var q0 = 0u; q0 < nq; q0 += WG) {
    let qi = q0 + lid;
    let live = qi < nq;
    var v = vec4<f32>(0.0);
    if (live) {
      let i = qi * 4u;
      v = vec4<f32>(mul_rn(x_at(base + i), scale) * WT[i], mul_rn(x_at(base + i + 1u), scale) * WT[i + 1u],
                    mul_rn(x_at(base + i + 2u), scale) * WT[i + 2u], mul_rn(x_at(base + i + 3u), scale) * WT[i + 3u]);
      OUT[base + i] = v.x;
      OUT[base + i + 1u] = v.y;
      OUT[base + i + 2u] = v.z;
      OUT[base + i + 3u] = v.w;
    }
    let a = abs(v);
    qmax[lid] = max(max(a.x, a.y), max(a.z, a.w));
    workgroupBarrier();
    let l0 = lid & ~7u;
    var amax = 0.0;
    for (var j = 0u; j < 8u; j++) { amax = max(amax, qmax[l0 + j]); }
    let dF = div_rn(amax, 127.0);
    var id = 0.0;
    if (amax != 0.0) { id = div_rn(127.0, amax); }
    var sum = 0;
    var packed = 0u;
    for (var c = 0u; c < 4u; c++) {
      let q = i32(round(mul_rn(v[c], id)));
      sum += q;
      packed |= (bitcast<u32>(q) & 0xffu) << (8u * c);
    }
    qsum[lid] = sum;
    workgroupBarrier();
    if (live) {
      let xb = ob + (qi / 8u) * 10u;
      let w = qi % 8u;
      XQ[xb + w] = packed;
      if (w == 0u) {
        var total = 0;
        for (var j = 0u; j < 8u; j++) { total += qsum[l0 + j]; }
        XQ[xb + 8u] = bitcast<u32>(to_f16(dF));
        XQ[xb + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(total))));
      }
    }
  }
}
