// Twin of shaders/rmsnorm.wgsl (bindings as pointers, x_at a lambda; exact.h's native fma,
// division and sqrt; `part` sized at RF_MAX_WG).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"

// rmsnorm: out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, fused with the weight multiply, in
// ggml's float32 steps: squares rounded to float and summed in double (here float-float pairs: an
// exact sum of floats, so the order does not matter), mean rounded to float, + eps, sqrt and 1/
// each correctly rounded, then (x * scale) * weight.
// One workgroup per row (WG a power of two). In place (out aliasing x), the host binds a
// placeholder for X and sets x_from_out: x is then read through OUT.
namespace {
struct Params {
  u32 rows;
  u32 cols;
  f32 eps;
  u32 x_from_out;
};
}

__global__ void rmsnorm_main(const Params P, const f32* __restrict__ X, const f32* __restrict__ WT, f32* OUT) {
  __shared__ vec2<f32> part[RF_MAX_WG];
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
  for (u32 i = lid; i < P.cols; i += WG) {
    OUT[base + i] = mul_rn(x_at(base + i), scale) * WT[i];
  }
}

extern "C" int rf_k_rmsnorm(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  const u32 wg = rf_wg(l, 64u);
  if ((wg & (wg - 1u)) != 0u) return (int)hipErrorInvalidValue; // the tree halves WG
  return rf_go(rmsnorm_main, l, wg, P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2));
}
