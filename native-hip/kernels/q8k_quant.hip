// Twin of shaders/q8k_quant.wgsl: native correctly rounded division (div_rn), round_even for WGSL's
// round(); bindings as pointers. The WGSL override WG is the launch's block size (default 64).
//
// q8k_quant: activations to Q8_K superblocks exactly as the CPU backend's quantizeQ8KRows
// (quantize_row_q8_K_ref): max = the first value of largest magnitude, iscale = -127 / max,
// q = min(127, round_half_even(iscale * x)), d = 1 / iscale, sums of each 16 quants; all zero when
// the block is. Output per superblock (Q8K_WORDS = 81 words): 64 words of packed i8 quants, d as f32
// bits, 16 i32 sums. One invocation per superblock.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"

namespace {
struct Params {
  u32 n_blocks;
};
}

__global__ void q8k_quant_main(const Params P, const f32* __restrict__ X, u32* __restrict__ XQ) {
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 blk = gid.x + gid.y * nwg.x * WG;
  if (blk >= P.n_blocks) { return; }
  const u32 o = blk * 256u;
  const u32 ob = blk * 81u;
  f32 amax = 0.0f;
  f32 mx = 0.0f;
  for (u32 j = 0u; j < 256u; j++) {
    const f32 a = fabsf(X[o + j]);
    if (a > amax) { amax = a; mx = X[o + j]; }
  }
  if (amax == 0.0f) {
    for (u32 w = 0u; w < 81u; w++) { XQ[ob + w] = 0u; }
    return;
  }
  const f32 iscale = div_rn(-127.0f, mx);
  for (u32 g = 0u; g < 16u; g++) {
    i32 sum = 0;
    for (u32 w = 0u; w < 4u; w++) {
      u32 packed = 0u;
      for (u32 c = 0u; c < 4u; c++) {
        const i32 v = min(127, i32(round_even(mul_rn(iscale, X[o + 16u * g + 4u * w + c]))));
        sum += v;
        packed |= (bitcast<u32>(v) & 0xffu) << (8u * c);
      }
      XQ[ob + 4u * g + w] = packed;
    }
    XQ[ob + 65u + g] = bitcast<u32>(sum);
  }
  XQ[ob + 64u] = bitcast<u32>(div_rn(1.0f, iscale));
}

extern "C" int rf_k_q8k_quant(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(q8k_quant_main, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1));
}
