// Twin of shaders/q8_quant.wgsl: native correctly rounded division (div_rn), round_even for WGSL's
// round(); bindings as pointers. The WGSL override WG is the launch's block size (default 64).
//
// q8_quant: activations to Q8_0/Q8_1 blocks exactly as the CPU backend's quantizeQ8Rows (ggml's x86
// quantize_row_q8_0/_q8_1): per 32-block, dF = amax / 127, id = 127 / amax (both correctly rounded),
// q = round_half_even(x * id), d = f16(dF), s = f16(dF * sum(q)). Output per block: 8 words of packed
// i8 quants, then the bits of d and s as f32 (Q8_WORDS words).
// One invocation per block.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"

namespace {
struct Params {
  u32 n_blocks;
};
}

__global__ void q8_quant_main(const Params P, const f32* __restrict__ X, u32* __restrict__ XQ) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 blk = gid.x + gid.y * nwg.x * WG;
  if (blk >= P.n_blocks) { return; }
  const u32 o = blk * 32u;
  f32 amax = 0.0f;
  for (u32 j = 0u; j < 32u; j++) { amax = fmaxf(amax, fabsf(X[o + j])); }
  const f32 dF = div_rn(amax, 127.0f);
  f32 id = 0.0f;
  if (amax != 0.0f) { id = div_rn(127.0f, amax); }
  i32 sum = 0;
  const u32 ob = blk * 10u;
  for (u32 w = 0u; w < 8u; w++) {
    u32 packed = 0u;
    for (u32 c = 0u; c < 4u; c++) {
      const i32 v = i32(round_even(mul_rn(X[o + 4u * w + c], id)));
      sum += v;
      packed |= (bitcast<u32>(v) & 0xffu) << (8u * c);
    }
    XQ[ob + w] = packed;
  }
  XQ[ob + 8u] = bitcast<u32>(to_f16(dF));
  XQ[ob + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(sum))));
}

extern "C" int rf_k_q8_quant(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(q8_quant_main, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1));
}
