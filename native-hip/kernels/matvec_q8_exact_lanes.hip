// Twin of shaders/matvec_q8_exact_lanes.wgsl: native fma (fmx) and rounded products (mul_rn);
// bindings as pointers, the q8-dot helpers take W and XQ first and the weight type as DQ.
//
// matvec_q8_exact_lanes: matvec_q8_exact's products (same parameters, kinds 0-3, bit-identical
// results) spread over eight invocations per (x row, output), for GPUs, where one invocation per
// output leaves most of the device idle in decode. Invocation s holds int32 lane s: kinds 0-2 keep
// each lane's float accumulator in its own invocation (in ggml too the lanes are independent chains)
// and fold them in workgroup memory; kind 3 computes eight blocks' integer dots at once and one
// invocation adds them to the float chain in order.
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

// 8 (row, output) tasks of 8 lanes per workgroup of 64.
constexpr u32 TASKS = 8u;
__shared__ f32 sh_f[64];
__shared__ i32 sh_i[64];

// The eight lane accumulators of task tl, from workgroup memory.
RF_INLINE array<f32, 8> lanes_of(u32 tl) {
  array<f32, 8> a;
  for (u32 j = 0u; j < 8u; j++) { a[j] = sh_f[tl * 8u + j]; }
  return a;
}
}

template <class DQ>
__global__ void matvec_q8_exact_lanes_main(const Params P, const u32* __restrict__ W, const u32* __restrict__ XQ, f32* __restrict__ Y,
                                           const f32* __restrict__ BIAS) {
  constexpr u32 BLOCK_BYTES = DQ::BLOCK_BYTES;
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 li = local_invocation_index();
  exact_init();
  const u32 s = li & 7u;
  const u32 tl = li >> 3u;
  const u32 tasks = P.rows * P.w_rows;
  const u32 task = (wid.x + wid.y * nwg.x) * TASKS + tl;
  // Tasks past the end compute a copy of the last one (every invocation must reach the barriers).
  const bool live = task < tasks;
  const u32 t = min(task, tasks - 1u);
  const u32 o = t % P.w_rows;
  const u32 r = P.row_lo + t / P.w_rows;
  const u32 nb = P.cols / 32u;
  const u32 rb = o * P.row_bytes;
  const u32 xb0 = r * nb;
  const u32 kind = P.kind;
  f32 v = 0.0f;
  if (kind == 3u) {
    for (u32 k0 = 0u; k0 < nb; k0 += 8u) {
      const u32 k = k0 + s;
      if (k < nb) {
        const u32 b = rb + k * BLOCK_BYTES;
        sh_i[li] = isum8(block_lanes<DQ>(W, XQ, b, xb0 + k));
        sh_f[li] = mul_rn(wd(W, b), xd(XQ, xb0 + k));
      }
      workgroupBarrier();
      if (s == 0u) {
        const u32 m = min(8u, nb - k0);
        for (u32 c = 0u; c < m; c++) { v = fmx(f32(sh_i[li + c]), sh_f[li + c], v); }
      }
      workgroupBarrier();
    }
  } else if (kind == 2u) {
    f32 acc = 0.0f;
    f32 acc2 = 0.0f;
    u32 k = 0u;
    for (; k + 1u < nb; k += 2u) {
      const u32 b0 = rb + k * BLOCK_BYTES;
      acc = fmx(mul_rn(xd(XQ, xb0 + k), wd(W, b0)), f32(lane_sum<DQ>(W, XQ, b0, xb0 + k, s)), acc);
      const u32 b1 = b0 + BLOCK_BYTES;
      acc2 = fmx(mul_rn(xd(XQ, xb0 + k + 1u), wd(W, b1)), f32(lane_sum<DQ>(W, XQ, b1, xb0 + k + 1u, s)), acc2);
    }
    sh_f[li] = opq(acc + acc2);
    workgroupBarrier();
    if (s == 0u) {
      v = hsum8(lanes_of(tl));
      for (; k < nb; k++) {
        const u32 b = rb + k * BLOCK_BYTES;
        v = opq(v + mul_rn(mul_rn(wd(W, b), xd(XQ, xb0 + k)), f32(isum8(block_lanes<DQ>(W, XQ, b, xb0 + k)))));
      }
    }
  } else {
    f32 acc = 0.0f;
    f32 summs = 0.0f;
    for (u32 k = 0u; k < nb; k++) {
      const u32 b = rb + k * BLOCK_BYTES;
      if (kind == 1u && s == 0u) {
        summs = opq(summs + mul_rn(wm(W, b), xs(XQ, xb0 + k)));
      }
      acc = fmx(mul_rn(wd(W, b), xd(XQ, xb0 + k)), f32(lane_sum<DQ>(W, XQ, b, xb0 + k, s)), acc);
    }
    sh_f[li] = acc;
    workgroupBarrier();
    if (s == 0u) {
      v = hsum8(lanes_of(tl));
      if (kind == 1u) { v = opq(v + summs); }
    }
  }
  if (s == 0u && live) {
    const u32 oc = P.out_offset + o;
    if (P.has_bias != 0u) { v = opq(v + BIAS[oc]); }
    Y[r * P.out_cols + oc] = v;
  }
}

extern "C" int rf_k_matvec_q8_exact_lanes(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH_Q(l->dequant, DQ,
                      return rf_go(matvec_q8_exact_lanes_main<DQ>, l, rf_wg_fixed(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2),
                                   rf_buf(l, 3)));
}
