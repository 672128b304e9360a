// Twin of shaders/q8_quant.wgsl: native correctly rounded division (div_rn), round_even for WGSL's
// round(); bindings as pointers. The WGSL override WG is the launch's block size (default 64).
//
// q8_quant: activations to Q8_0/Q8_1 blocks exactly as the CPU backend's quantizeQ8Rows (ggml's x86
// quantize_row_q8_0/_q8_1): per 32-block, dF = amax / 127, id = 127 / amax (both correctly rounded),
// q = round_half_even(x * id), d = f16(dF), s = f16(dF * sum(q)). Output per block: 8 words of packed
// i8 quants, then the bits of d and s as f32 (Q8_WORDS words).
// Eight invocations per block (WG a multiple of 8): invocation w quantizes elements 4w..4w+3 into
// word w; the block's amax and sum(q) go through workgroup memory (a max and an integer sum: the
// order does not matter, so the result is the one-invocation loop's).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"

namespace {
struct Params {
  u32 n_blocks;
};
}

__global__ void q8_quant_main(const Params P, const f32* __restrict__ X, u32* __restrict__ XQ) {
  __shared__ f32 qmax[RF_MAX_WG];
  __shared__ i32 qsum[RF_MAX_WG];
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 lid = local_invocation_index();
  const u32 g = gid.x + gid.y * nwg.x * WG;
  const u32 blk = g / 8u;
  const u32 w = g % 8u;
  const bool live = blk < P.n_blocks;
  const u32 i = g * 4u;
  vec4<f32> v = vec4<f32>(0.0f);
  if (live) { v = vec4<f32>(X[i], X[i + 1u], X[i + 2u], X[i + 3u]); }
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
  if (!live) { return; }
  const u32 ob = blk * 10u;
  XQ[ob + w] = packed;
  if (w == 0u) {
    i32 total = 0;
    for (u32 j = 0u; j < 8u; j++) { total += qsum[l0 + j]; }
    XQ[ob + 8u] = bitcast<u32>(to_f16(dF));
    XQ[ob + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(total))));
  }
}

extern "C" int rf_k_q8_quant(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  return rf_go(q8_quant_main, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1));
}
