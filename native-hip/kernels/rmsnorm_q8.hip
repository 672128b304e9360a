// Twin of shaders/rmsnorm_q8.wgsl (bindings as pointers, x_at a lambda; exact.h's native fma,
// division and sqrt; the workgroup arrays sized at RF_MAX_WG).
//
// rmsnorm_q8: rmsnorm (the same arithmetic, so the same f32 output) that also writes the output
// quantized to Q8 blocks as q8_quant does (the same quants and scales), for fast decode: the matvecs
// that read the normalized row (q/k/v, gate/up over legacy 32-block weights) then find their Q8 copy
// ready and no q8_quant dispatch runs. cols is a multiple of 32. The output pass runs over quads of
// values: 8 consecutive invocations share a block (WG a multiple of 8), its amax and quant sum
// through workgroup memory, as in q8_quant.
// One workgroup per row (WG a power of two). In place (out aliasing x), the host binds a
// placeholder for X and sets x_from_out: x is then read through OUT.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"

namespace {
struct Params {
  u32 rows;
  u32 cols;
  f32 eps;
  u32 x_from_out;
};
}

__global__ void rmsnorm_q8_main(const Params P, const f32* __restrict__ X, const f32* __restrict__ WT, f32* OUT, u32* __restrict__ XQ) {
  __shared__ vec2<f32> part[RF_MAX_WG];
  __shared__ f32 qmax[RF_MAX_WG];
  __shared__ i32 qsum[RF_MAX_WG];
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 lid = local_invocation_index();
  const u32 WG = workgroup_size();
  auto x_at = [&](u32 i) -> f32 {
    if (P.x_from_out != 0u) { return OUT[i]; }
    return X[i];
  };
  exact_init();
  const u32 r = wid.x + wid.y * nwg.x;
  if (r >= P.rows) { return; }
  const u32 base = r * P.cols;
  vec2<f32> ss = vec2<f32>(0.0f);
  for (u32 i = lid; i < P.cols; i += WG) {
    const f32 v = x_at(base + i);
    ss = ff_add_f(ss, mul_rn(v, v));
  }
  part[lid] = ss;
  workgroupBarrier();
  for (u32 s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] = ff_add(part[lid], part[lid + s]); }
    workgroupBarrier();
  }
  const vec2<f32> tot = part[0];
  // (hi + lo) / cols rounded once: quotient of hi, corrected by the remainder and lo.
  const f32 n = f32(P.cols);
  const f32 q = div_rn(tot.x, n);
  const f32 rem = fmx(-q, n, tot.x) + tot.y;
  const f32 mean = q + div_rn(rem, n);
  const f32 scale = div_rn(1.0f, sqrt_rn(mean + P.eps));
  const u32 nq = P.cols / 4u;
  const u32 ob = r * (P.cols / 32u) * 10u;
  for (u32 q0 = 0u; q0 < nq; q0 += WG) {
    const u32 qi = q0 + lid;
    const bool live = qi < nq;
    vec4<f32> v = vec4<f32>(0.0f);
    if (live) {
      const u32 i = qi * 4u;
      v = vec4<f32>(mul_rn(x_at(base + i), scale) * WT[i], mul_rn(x_at(base + i + 1u), scale) * WT[i + 1u],
                    mul_rn(x_at(base + i + 2u), scale) * WT[i + 2u], mul_rn(x_at(base + i + 3u), scale) * WT[i + 3u]);
      OUT[base + i] = v.x;
      OUT[base + i + 1u] = v.y;
      OUT[base + i + 2u] = v.z;
      OUT[base + i + 3u] = v.w;
    }
    qmax[lid] = fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
    workgroupBarrier();
    const u32 l0 = lid & ~7u;
    f32 amax = 0.0f;
    for (u32 j = 0u; j < 8u; j++) { amax = fmaxf(amax, qmax[l0 + j]); }
    const f32 dF = div_rn(amax, 127.0f);
    f32 id = 0.0f;
    if (amax != 0.0f) { id = div_rn(127.0f, amax); }
    i32 sum = 0;
    u32 packed = 0u;
    for (u32 c = 0u; c < 4u; c++) {
      const i32 q = i32(round_even(mul_rn(v[c], id)));
      sum += q;
      packed |= (bitcast<u32>(q) & 0xffu) << (8u * c);
    }
    qsum[lid] = sum;
    workgroupBarrier();
    if (live) {
      const u32 xb = ob + (qi / 8u) * 10u;
      const u32 w = qi % 8u;
      XQ[xb + w] = packed;
      if (w == 0u) {
        i32 total = 0;
        for (u32 j = 0u; j < 8u; j++) { total += qsum[l0 + j]; }
        XQ[xb + 8u] = bitcast<u32>(to_f16(dF));
        XQ[xb + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(total))));
      }
    }
  }
}

extern "C" int rf_k_rmsnorm_q8(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  const u32 wg = rf_wg(l, 64u);
  if ((wg & (wg - 1u)) != 0u || wg < 8u) return (int)hipErrorInvalidValue; // the tree halves WG; blocks of 8 invocations
  return rf_go(rmsnorm_q8_main, l, wg, P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3));
}
