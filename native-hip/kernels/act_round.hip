// Twin of shaders/act_round.wgsl (bindings as pointers; half.h and exact.h over native
// conversions and division).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/half.h"
#include "common/exact.h"

// act_round: rounds activations the way llama.cpp's CPU matmul does before its dot products
// (it converts x to the weight type's "vec_dot type"), so that every backend computes the same
// logits as the reference engine. One invocation per block (per 4 values in mode 3); modes:
//   1 f16   (block 1): round to the nearest half
//   2 bf16  (block 1): ggml's round-to-nearest-even on the upper 16 bits (NaN kept quiet)
//   3 q8_0  (block 32): d = f16(amax / 127), q = round_half_even(x * 127 / amax), x' = q * d;
//                       8 invocations per block (WG a multiple of 8), 4 values each, the block's
//                       amax through workgroup memory (a max: the order does not matter)
//   4 q8_K  (block 256): the value of largest magnitude maps to -127: s = -127 / max,
//                        q = min(127, round_half_even(s * x)), x' = q / s
namespace {
struct Params {
  u32 n_blocks;
  u32 mode;
};

// Mode 3 for invocation g (values 4g..4g+3 of block g / 8).
RF_INLINE void round_q8(const Params& P, const f32* __restrict__ X, f32* __restrict__ OUT, f32* qmax, u32 g, u32 lid) {
  const bool live = g / 8u < P.n_blocks;
  const u32 i = g * 4u;
  vec4<f32> v = vec4<f32>(0.0f);
  if (live) { v = vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]); }
  qmax[lid] = fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
  workgroupBarrier();
  const u32 l0 = lid & ~7u;
  f32 amax = 0.0f;
  for (u32 j = 0u; j < 8u; j++) { amax = fmaxf(amax, qmax[l0 + j]); }
  if (!live) { return; }
  const f32 d = round_f16(div_rn(amax, 127.0f));
  f32 id = 0.0f;
  if (amax != 0.0f) { id = div_rn(127.0f, amax); }
  OUT[i] = round_even(v.x * id) * d;
  OUT[i + 1u] = round_even(v.y * id) * d;
  OUT[i + 2u] = round_even(v.z * id) * d;
  OUT[i + 3u] = round_even(v.w * id) * d;
}
}

__global__ void act_round_main(const Params P, const f32* __restrict__ X, f32* __restrict__ OUT) {
  __shared__ f32 qmax[RF_MAX_WG];
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 g = gid.x + gid.y * nwg.x * WG;
  if (P.mode == 3u) {
    round_q8(P, X, OUT, qmax, g, local_invocation_index());
    return;
  }
  if (g >= P.n_blocks) { return; }
  switch (P.mode) {
    case 1u: { OUT[g] = round_f16(X[g]); } break;
    case 2u: { OUT[g] = round_bf16(X[g]); } break;
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
