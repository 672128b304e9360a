// Twin of shaders/rope.wgsl (bindings as pointers; TAB as vec2<f32> pairs, the host's
// [pos][i] cos/sin table). fmx / mul_rn are the native fused multiply-add and product (exact.h).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"

namespace {
struct Params {
  u32 rows;
  u32 n_heads;
  u32 n_kv_heads;
  u32 head_dim;
  u32 rope_dim;
  u32 neox;
};

// ggml's x0*cos - x1*sin as GCC contracts it: fma(x0, cos, -(x1*sin)); likewise the second.
RF_INLINE vec2<f32> rot(f32 x0, f32 x1, vec2<f32> cs) {
  return vec2<f32>(fmx(x0, cs.x, -mul_rn(x1, cs.y)), fmx(x0, cs.y, mul_rn(x1, cs.x)));
}
}

__global__ void rope_main(const Params P, f32* __restrict__ Q, f32* __restrict__ K, const i32* __restrict__ POS,
                          const vec2<f32>* __restrict__ TAB) {
  exact_init();
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  const u32 half = P.rope_dim / 2u;
  const u32 heads = P.n_heads + P.n_kv_heads;
  const u32 g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.rows * heads * half) { return; }
  const u32 i = g % half;
  const u32 hh = (g / half) % heads;
  const u32 r = g / (half * heads);
  const vec2<f32> cs = TAB[u32(POS[r]) * half + i];
  u32 a;
  u32 b;
  if (P.neox != 0u) { a = i; b = i + half; } else { a = 2u * i; b = 2u * i + 1u; }
  if (hh < P.n_heads) {
    const u32 base = r * P.n_heads * P.head_dim + hh * P.head_dim;
    const vec2<f32> v = rot(Q[base + a], Q[base + b], cs);
    Q[base + a] = v.x;
    Q[base + b] = v.y;
  } else {
    const u32 base = r * P.n_kv_heads * P.head_dim + (hh - P.n_heads) * P.head_dim;
    const vec2<f32> v = rot(K[base + a], K[base + b], cs);
    K[base + a] = v.x;
    K[base + b] = v.y;
  }
}

extern "C" int rf_k_rope(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(rope_main, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3));
}
