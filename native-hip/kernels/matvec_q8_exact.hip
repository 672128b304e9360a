// Twin of shaders/matvec_q8_exact.wgsl: native fma (fmx) and rounded products (mul_rn); bindings as
// pointers, the q8-dot helpers take W and XQ first and the weight type as DQ. The WGSL override WG
// is the launch's block size (default 64).
//
// matvec_q8_exact: Y[r][o] = W[o] · X[r] (+ bias[o]) for legacy-quantized weights (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, IQ4_NL) against Q8 activations from q8_quant, with the arithmetic of the CPU
// backend's quantDot (src/backends/cpu/quant-dot.ts), bit for bit:
//   kind 0 ggml_vec_dot_*_q8_0 / tinyBLAS_Q0: per block, 8 exact int32 lanes of 4 products each,
//          acc[lane] = fma(dw*dx, lane, acc[lane]); one 8-lane horizontal sum;
//   kind 1 Q4_1/Q5_1 (_q8_1): kind 0 plus summs = sum of min * Q8_1 block sum, added at the end;
//   kind 2 IQ4_NL single row: blocks alternate two accumulator sets, a leftover block added after;
//   kind 3 repacked Q4_0 (q4_0_8x8 gemv/gemm): s = fma(block's integer dot, dw*dx, s).
// One invocation per (x row, output).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"
#include "common/exact.h"
#include "common/q8-dot.h"

namespace {
struct Params {
  u32 cols;
  u32 out_cols;
  u32 w_rows;
  u32 row_bytes;
  u32 out_offset;
  u32 has_bias;
  u32 kind;
  u32 row_lo;
  u32 rows;
};
}

template <class DQ>
__global__ void matvec_q8_exact_main(const Params P, const u32* __restrict__ W, const u32* __restrict__ XQ, f32* __restrict__ Y,
                                     const f32* __restrict__ BIAS) {
  constexpr u32 BLOCK_BYTES = DQ::BLOCK_BYTES;
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 task = gid.x + gid.y * nwg.x * WG;
  if (task >= P.rows * P.w_rows) { return; }
  const u32 o = task % P.w_rows;
  const u32 r = P.row_lo + task / P.w_rows;
  const u32 nb = P.cols / 32u;
  const u32 rb = o * P.row_bytes;
  const u32 xb0 = r * nb;
  const u32 kind = P.kind;
  array<f32, 8> acc;
  f32 v = 0.0f;
  if (kind == 3u) {
    for (u32 k = 0u; k < nb; k++) {
      const u32 b = rb + k * BLOCK_BYTES;
      const array<i32, 8> l = block_lanes<DQ>(W, XQ, b, xb0 + k);
      v = fmx(f32(isum8(l)), mul_rn(wd(W, b), xd(XQ, xb0 + k)), v);
    }
  } else if (kind == 2u) {
    array<f32, 8> acc2;
    u32 k = 0u;
    for (; k + 1u < nb; k += 2u) {
      const u32 b0 = rb + k * BLOCK_BYTES;
      const array<i32, 8> l0 = block_lanes<DQ>(W, XQ, b0, xb0 + k);
      const f32 d0 = mul_rn(xd(XQ, xb0 + k), wd(W, b0));
      for (u32 j = 0u; j < 8u; j++) { acc[j] = fmx(d0, f32(l0[j]), acc[j]); }
      const u32 b1 = b0 + BLOCK_BYTES;
      const array<i32, 8> l1 = block_lanes<DQ>(W, XQ, b1, xb0 + k + 1u);
      const f32 d1 = mul_rn(xd(XQ, xb0 + k + 1u), wd(W, b1));
      for (u32 j = 0u; j < 8u; j++) { acc2[j] = fmx(d1, f32(l1[j]), acc2[j]); }
    }
    for (u32 j = 0u; j < 8u; j++) { acc[j] = opq(acc[j] + acc2[j]); }
    v = hsum8(acc);
    for (; k < nb; k++) {
      const u32 b = rb + k * BLOCK_BYTES;
      const array<i32, 8> l = block_lanes<DQ>(W, XQ, b, xb0 + k);
      v = opq(v + mul_rn(mul_rn(wd(W, b), xd(XQ, xb0 + k)), f32(isum8(l))));
    }
  } else {
    f32 summs = 0.0f;
    for (u32 k = 0u; k < nb; k++) {
      const u32 b = rb + k * BLOCK_BYTES;
      if (kind == 1u) {
        summs = opq(summs + mul_rn(wm(W, b), xs(XQ, xb0 + k)));
      }
      const array<i32, 8> l = block_lanes<DQ>(W, XQ, b, xb0 + k);
      const f32 d = mul_rn(wd(W, b), xd(XQ, xb0 + k));
      for (u32 j = 0u; j < 8u; j++) { acc[j] = fmx(d, f32(l[j]), acc[j]); }
    }
    v = hsum8(acc);
    if (kind == 1u) { v = opq(v + summs); }
  }
  const u32 oc = P.out_offset + o;
  if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
  Y[r * P.out_cols + oc] = v;
}

extern "C" int rf_k_matvec_q8_exact(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH_Q(l->dequant, DQ,
                      return rf_go(matvec_q8_exact_main<DQ>, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3)));
}
