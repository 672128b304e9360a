// Twin of shaders/act_round.wgsl (bindings as pointers; half.h and exact.h over native
// conversions and division).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/half.h"
#include "common/exact.h"

// act_round: rounds activations the way llama.cpp's CPU matmul does before its dot products
// (it converts x to the weight type's "vec_dot type"), so that every backend computes the same
// logits as the reference engine. One invocation per block; modes:
//   1 f16   (block 1): round to the nearest half
//   2 bf16  (block 1): ggml's round-to-nearest-even on the upper 16 bits (NaN kept quiet)
//   3 q8_0  (block 32): d = f16(amax / 127), q = round_half_even(x * 127 / amax), x' = q * d
//   4 q8_K  (block 256): the value of largest magnitude maps to -127: s = -127 / max,
//                        q = min(127, round_half_even(s * x)), x' = q / s
namespace {
struct Params {
  u32 n_blocks;
  u32 mode;
};
}

__global__ void act_round_main(const Params P, const f32* __restrict__ X, f32* __restrict__ OUT) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 g = gid.x + gid.y * nwg.x * WG;
  if (g >= P.n_blocks) { return; }
  switch (P.mode) {
    case 1u: { OUT[g] = round_f16(X[g]); } break;
    case 2u: { OUT[g] = round_bf16(X[g]); } break;
    case 3u: {
      const u32 b = g * 32u;
      f32 amax = 0.0f;
      for (u32 j = 0u; j < 32u; j++) { amax = fmaxf(amax, fabsf(X[b + j])); }
      const f32 d = round_f16(div_rn(amax, 127.0f));
      f32 id = 0.0f;
      if (amax != 0.0f) { id = div_rn(127.0f, amax); }
      for (u32 j = 0u; j < 32u; j++) { OUT[b + j] = round_even(X[b + j] * id) * d; }
    } break;
    case 4u: {
      const u32 b = g * 256u;
      f32 amax = 0.0f;
      f32 mx = 0.0f;
      for (u32 j = 0u; j < 256u; j++) {
        const f32 v = X[b + j];
        if (fabsf(v) > amax) { amax = fabsf(v); mx = v; }
      }
      if (amax == 0.0f) {
        for (u32 j = 0u; j < 256u; j++) { OUT[b + j] = 0.0f; }
      } else {
        const f32 s = div_rn(-127.0f, mx);
        const f32 d = div_rn(1.0f, s);
        for (u32 j = 0u; j < 256u; j++) { OUT[b + j] = fminf(127.0f, round_even(s * X[b + j])) * d; }
      }
    } break;
    default: { OUT[g] = X[g]; } break;
  }
}

extern "C" int rf_k_act_round(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(act_round_main, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1));
}
