// Twin of shaders/swiglu.wgsl (bindings as pointers; exact.h's native fma / division).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"

// swiglu: out = silu(gate) * up elementwise, as ggml_vec_silu_f32 then mul: in each row of `cols`,
// the elements of whole 16-lane vectors take ggml_v_expf, the leftovers expf (correctly rounded
// here, as glibc's nearly always is); silu = x / (1 + e) with a correctly rounded division.
// With gelu != 0 this is geglu instead: out = gelu(gate) * up through the host's f16-indexed GELU
// table TAB (a placeholder for swiglu).
// When out aliases gate (or up) the host binds a placeholder there and sets g_from_out
// (u_from_out), as in add.hip.
namespace {
struct Params {
  u32 n;
  u32 g_from_out;
  u32 u_from_out;
  u32 cols;
  u32 gelu;
};
}

// expf correctly rounded (but for ties closer than ~2^-44 relative): exp(x) = 2^k exp(r), r = x - k ln2 as a
// float-float, exp(r) by a float-float Taylor series.
RF_INLINE f32 expf_rn(f32 x) {
  if (x > 88.8f) { return f32_inf(); }
  if (x < -104.0f) { return 0.0f; }
  const f32 k = round_even(x * 1.4426950408889634f);
  // ln2 in three parts; k * l1 and k * l2 are taken exactly (two_prod).
  const f32 l1 = 0x1.62e4p-1f;
  const f32 l2 = 0x1.7f7d1cp-20f;
  const f32 l3 = 5.495604e-14f;            // ln2 - l1 - l2
  const vec2<f32> a1 = two_prod(k, l1);
  const vec2<f32> a2 = two_prod(k, l2);
  vec2<f32> r = two_sum(x, -a1.x);
  r = ff_add_f(r, -a1.y);
  r = ff_add_f(r, -a2.x);
  r = ff_add_f(r, -a2.y - k * l3);
  // Taylor of exp(r) for |r| <= 0.35 up to r^12 (truncation < 2^-46), Horner in float-float with
  // 1/n! as float-float pairs: with a single-float 1/6 (2^-26 off) near-ties were decided wrongly.
  vec2<f32> p = vec2<f32>(2.08767559e-9f, 1.10828398e-16f); // 1/12!
  const array<f32, 12> c_hi = {{2.50521079e-8f, 2.75573200e-7f, 2.75573188e-6f, 2.48015876e-5f, 1.98412701e-4f, 1.38888892e-3f, 8.33333377e-3f, 4.16666679e-2f, 1.66666672e-1f, 0.5f, 1.0f, 1.0f}};
  const array<f32, 12> c_lo = {{4.41762304e-16f, -7.57511221e-15f, 3.79357122e-14f, -3.40699609e-13f, -2.72559687e-12f, -3.36310944e-11f, -4.34617203e-10f, -1.24176347e-9f, -4.96705388e-9f, 0.0f, 0.0f, 0.0f}};
  for (u32 i = 0u; i < 12u; i++) {
    // p = p * r + c[i]: 1/11!, ..., 1/2!, 1, 1
    const vec2<f32> a = two_prod(p.x, r.x);
    const f32 lo = a.y + (p.x * r.y + p.y * r.x);
    p = ff_add(two_sum(a.x, lo), vec2<f32>(c_hi[i], c_lo[i]));
  }
  const f32 hi = ldexpf(p.x, i32(k));
  const f32 lo = ldexpf(p.y, i32(k));
  return hi + lo;
}

__global__ void swiglu_main(const Params P, const f32* __restrict__ G, const f32* __restrict__ U, f32* OUT, const f32* __restrict__ TAB) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 i = gid.x + gid.y * nwg.x * WG;
  if (i >= P.n) { return; }
  f32 g;
  f32 u;
  if (P.g_from_out != 0u) { g = OUT[i]; } else { g = G[i]; }
  if (P.u_from_out != 0u) { u = OUT[i]; } else { u = U[i]; }
  if (P.gelu != 0u) {
    f32 a;
    if (g <= -10.0f) { a = 0.0f; } else if (g >= 10.0f) { a = g; } else { a = TAB[f16_bits_rne(g)]; }
    OUT[i] = a * u;
    return;
  }
  const u32 c = i % P.cols;
  const u32 full = P.cols - P.cols % 16u;
  f32 e;
  if (c < full) { e = v_expf(-g); } else { e = expf_rn(-g); }
  OUT[i] = div_rn(g, 1.0f + e) * u;
}

extern "C" int rf_k_swiglu(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(swiglu_main, l, rf_wg(l, 256u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3));
}
