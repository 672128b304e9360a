// Twin of shaders/matvec_q8k_exact_lanes.wgsl: native fma (fmx) and rounded products (mul_rn);
// bindings as pointers, the dequant helpers take W first (bsum takes XQ first) and the weight type
// as DQ.
//
// matvec_q8k_exact_lanes: matvec_q8k_exact's products (same parameters, bit-identical results)
// spread over eight invocations per (x row, output), for GPUs. Invocation k holds int32 lane k of
// every superblock (elements 4k..4k+3 of each 32) and its float chain acc[k], with its share of the
// mins: K_MINS 1 (Q2_K) lane k's two sub-block mins into acc[k]; 2 (Q4_K) invocation k < 4 keeps
// accm[k]; 3 (Q5_K) invocation 0 keeps the one float. The chains are folded in workgroup memory.
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

// 8 (row, output) tasks of 8 lanes per workgroup of 64.
constexpr u32 TASKS = 8u;
__shared__ f32 acc_sh[64];
__shared__ f32 accm_sh[64];

RF_INLINE i32 bsum(const u32* XQ, u32 xo, u32 j) { return bitcast<i32>(XQ[xo + 65u + j]); }
}

template <class DQ>
__global__ void matvec_q8k_exact_lanes_main(const Params P, const u32* __restrict__ W, const u32* __restrict__ XQ, f32* __restrict__ Y,
                                            const f32* __restrict__ BIAS) {
  constexpr u32 BLOCK_BYTES = DQ::BLOCK_BYTES;
  constexpr u32 K_MINS = DQ::K_MINS;
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 li = local_invocation_index();
  exact_init();
  const u32 k = li & 7u;
  const u32 tl = li >> 3u;
  const u32 tasks = P.rows * P.w_rows;
  const u32 task = (wid.x + wid.y * nwg.x) * TASKS + tl;
  // Tasks past the end compute a copy of the last one (every invocation must reach the barrier).
  const bool live = task < tasks;
  const u32 t = min(task, tasks - 1u);
  const u32 o = t % P.w_rows;
  const u32 r = P.row_lo + t / P.w_rows;
  const u32 nb = P.cols / 256u;
  const u32 rb = o * P.row_bytes;
  f32 acc = 0.0f;
  f32 accm = 0.0f;
  f32 summs = 0.0f;
  for (u32 i = 0u; i < nb; i++) {
    const u32 b = rb + i * BLOCK_BYTES;
    const u32 xo = (r * nb + i) * 81u;
    const f32 yd = bitcast<f32>(XQ[xo + 64u]);
    const f32 d = mul_rn(yd, half_to_f32(ld_u16(W, b + DQ::KD_OFF)));
    const f32 dmin = mul_rn(-yd, half_to_f32(ld_u16(W, b + DQ::KDMIN_OFF)));
    if (K_MINS == 1u) {
      const i32 prod = DQ::kmin(W, b, 2u * k) * bsum(XQ, xo, 2u * k) + DQ::kmin(W, b, 2u * k + 1u) * bsum(XQ, xo, 2u * k + 1u);
      acc = fmx(dmin, f32(prod), acc);
    } else if (K_MINS == 2u) {
      if (k < 4u) {
        const i32 s0 = DQ::kmin(W, b, 2u * k) * (bsum(XQ, xo, 4u * k) + bsum(XQ, xo, 4u * k + 1u));
        const i32 s1 = DQ::kmin(W, b, 2u * k + 1u) * (bsum(XQ, xo, 4u * k + 2u) + bsum(XQ, xo, 4u * k + 3u));
        accm = fmx(dmin, f32(s0 + s1), accm);
      }
    } else if (K_MINS == 3u) {
      if (k == 0u) {
        i32 total = 0;
        for (u32 j = 0u; j < 8u; j++) { total += DQ::kmin(W, b, j) * (bsum(XQ, xo, 2u * j) + bsum(XQ, xo, 2u * j + 1u)); }
        summs = fmx(dmin, f32(total), summs);
      }
    }
    i32 lane = 0;
    for (u32 e = 4u * k; e < 256u; e += 32u) {
      const vec4<i32> p = DQ::ksq4(W, b, e) * sbytes4(XQ[xo + e / 4u]);
      lane += (p.x + p.y) + (p.z + p.w);
    }
    acc = fmx(d, f32(lane), acc);
  }
  acc_sh[li] = acc;
  accm_sh[li] = accm;
  workgroupBarrier();
  if (k == 0u && live) {
    array<f32, 8> a;
    for (u32 j = 0u; j < 8u; j++) { a[j] = acc_sh[li + j]; }
    f32 v = hsum8(a);
    if (K_MINS == 2u) { v = opq(v + opq(opq(accm_sh[li] + accm_sh[li + 2u]) + opq(accm_sh[li + 1u] + accm_sh[li + 3u]))); }
    if (K_MINS == 3u) { v = opq(v + summs); }
    const u32 oc = P.out_offset + o;
    if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
    Y[r * P.out_cols + oc] = v;
  }
}

extern "C" int rf_k_matvec_q8k_exact_lanes(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH_K(l->dequant, DQ,
                      return rf_go(matvec_q8k_exact_lanes_main<DQ>, l, rf_wg_fixed(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2),
                                   rf_buf(l, 3)));
}
