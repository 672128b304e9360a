// Twin of shaders/matvec_q8k_exact.wgsl: native fma (fmx) and rounded products (mul_rn); bindings as
// pointers, the dequant helpers take W first (bsum takes XQ first) and the weight type as DQ. The
// WGSL override WG is the launch's block size (default 64).
//
// matvec_q8k_exact: Y[r][o] = W[o] · X[r] (+ bias[o]) for K-quantized weights (Q2_K..Q6_K) against
// Q8_K activations from q8k_quant, with the arithmetic of the CPU backend's kquantDot
// (src/backends/cpu/kquant-dot.ts; ggml's AVX2 ggml_vec_dot_q*_K_q8_K), bit for bit: per superblock
// 8 exact int32 lanes (lane k holds elements 4k..4k+3 of every 32), acc[k] = fma(dx*dw, lane, acc[k]);
// the mins (K_MINS) 1: Q2_K into the same lanes first, 2: Q4_K into 4 lanes, 3: Q5_K into one float,
// each by fma with -dx*dmin; one 8-lane horizontal sum. One invocation per (x row, output).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"
#include "common/exact.h"

namespace {
struct Params {
  u32 cols;
  u32 out_cols;
  u32 w_rows;
  u32 row_bytes;
  u32 out_offset;
  u32 has_bias;
  u32 row_lo;
  u32 rows;
};

RF_INLINE i32 bsum(const u32* XQ, u32 xo, u32 j) { return bitcast<i32>(XQ[xo + 65u + j]); }
}

template <class DQ>
__global__ void matvec_q8k_exact_main(const Params P, const u32* __restrict__ W, const u32* __restrict__ XQ, f32* __restrict__ Y,
                                      const f32* __restrict__ BIAS) {
  constexpr u32 BLOCK_BYTES = DQ::BLOCK_BYTES;
  constexpr u32 K_MINS = DQ::K_MINS;
  const vec3<u32> gid = global_invocation_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  exact_init();
  const u32 task = gid.x + gid.y * nwg.x * WG;
  if (task >= P.rows * P.w_rows) { return; }
  const u32 o = task % P.w_rows;
  const u32 r = P.row_lo + task / P.w_rows;
  const u32 nb = P.cols / 256u;
  const u32 rb = o * P.row_bytes;
  array<f32, 8> acc;
  array<f32, 4> accm;
  f32 summs = 0.0f;
  for (u32 i = 0u; i < nb; i++) {
    const u32 b = rb + i * BLOCK_BYTES;
    const u32 xo = (r * nb + i) * 81u;
    const f32 yd = bitcast<f32>(XQ[xo + 64u]);
    const f32 d = mul_rn(yd, half_to_f32(ld_u16(W, b + DQ::KD_OFF)));
    const f32 dmin = mul_rn(-yd, half_to_f32(ld_u16(W, b + DQ::KDMIN_OFF)));
    if (K_MINS == 1u) {
      for (u32 k = 0u; k < 8u; k++) {
        const i32 prod = DQ::kmin(W, b, 2u * k) * bsum(XQ, xo, 2u * k) + DQ::kmin(W, b, 2u * k + 1u) * bsum(XQ, xo, 2u * k + 1u);
        acc[k] = fmx(dmin, f32(prod), acc[k]);
      }
    } else if (K_MINS >= 2u) {
      array<i32, 8> s;
      for (u32 j = 0u; j < 8u; j++) { s[j] = DQ::kmin(W, b, j) * (bsum(XQ, xo, 2u * j) + bsum(XQ, xo, 2u * j + 1u)); }
      if (K_MINS == 2u) {
        for (u32 k = 0u; k < 4u; k++) { accm[k] = fmx(dmin, f32(s[2u * k] + s[2u * k + 1u]), accm[k]); }
      } else {
        i32 total = 0;
        for (u32 j = 0u; j < 8u; j++) { total += s[j]; }
        summs = fmx(dmin, f32(total), summs);
      }
    }
    array<i32, 8> lanes;
    for (u32 e = 0u; e < 256u; e += 4u) {
      const vec4<i32> p = DQ::ksq4(W, b, e) * sbytes4(XQ[xo + e / 4u]);
      const u32 k = (e >> 2u) & 7u;
      lanes[k] += (p.x + p.y) + (p.z + p.w);
    }
    for (u32 k = 0u; k < 8u; k++) { acc[k] = fmx(d, f32(lanes[k]), acc[k]); }
  }
  f32 v = hsum8(acc);
  if (K_MINS == 2u) { v = opq(v + opq(opq(accm[0] + accm[2]) + opq(accm[1] + accm[3]))); }
  if (K_MINS == 3u) { v = opq(v + summs); }
  const u32 oc = P.out_offset + o;
  if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
  Y[r * P.out_cols + oc] = v;
}

extern "C" int rf_k_matvec_q8k_exact(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH_K(l->dequant, DQ,
                      return rf_go(matvec_q8k_exact_main<DQ>, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3)));
}
