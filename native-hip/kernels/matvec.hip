// Twin of shaders/matvec.wgsl: bindings as pointers, the dequant helpers take W first; the weight
// type (DQ), the reduction flavour (RED) and NX are template parameters, as WGSL composes the type's
// dq4/dq1 and the reduction into the module and takes NX as a pipeline constant. The WGSL override
// WG is the launch's block size (default 64).
//
// matvec: y[r][o] = sum_i W[o][i] * x[r][i] (+ bias[o]) for a few rows r (decode).
// One workgroup per NR = 4 consecutive output rows: its WG threads stride over the columns in
// groups of 4 elements, dequantize the 4 weight rows' groups once and use them for every x row
// (each x group is loaded once for all 4 weight rows), then reduce the 4 sums of each x row
// together (wg_sum4). One pipeline per x row count NX (1..8). The weight may be one part of a weight
// split by rows (out_offset = the part's first row).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"
#include "common/reduce-shared.h"
#include "common/reduce-subgroup.h"

namespace {
struct Params {
  u32 cols;       // shared dimension
  u32 out_cols;   // row stride of y (the full weight's rows)
  u32 w_rows;     // rows of this weight part
  u32 row_bytes;  // bytes per weight row
  u32 out_offset; // first output column written by this part
  u32 has_bias;
};

constexpr u32 NR = 4u;
}

// NX: x rows, a template constant so that the accumulators stay in registers (as the WGSL's
// pipeline constant).
template <class DQ, class RED, u32 NX>
__global__ void matvec_main(const Params P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
                            const f32* __restrict__ BIAS) {
  auto dq4 = [&](u32 rb, u32 i) { return DQ::dq4(W, rb, i); };
  auto dq1 = [&](u32 rb, u32 i) { return DQ::dq1(W, rb, i); };
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  RED::red_init();
  const u32 lid = local_invocation_index();
  const u32 o0 = (wid.x + wid.y * nwg.x) * NR;
  if (o0 >= P.w_rows) { return; }
  // Rows past the end repeat the last row (their sums are not stored): no branch in the loop.
  const u32 last = P.w_rows - 1u;
  const vec4<u32> rb = vec4<u32>(o0, min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last)) * P.row_bytes;
  const u32 cols = P.cols;
  const u32 c4 = cols & ~3u;
  array<vec4<f32>, 8> acc; // NX <= 8
  for (u32 i = lid * 4u; i < c4; i += WG * 4u) {
    const vec4<f32> w0 = dq4(rb.x, i);
    const vec4<f32> w1 = dq4(rb.y, i);
    const vec4<f32> w2 = dq4(rb.z, i);
    const vec4<f32> w3 = dq4(rb.w, i);
#pragma unroll
    for (u32 r = 0u; r < NX; r++) {
      const u32 xb = r * cols + i;
      const vec4<f32> x = vec4<f32>(X[xb], X[xb + 1u], X[xb + 2u], X[xb + 3u]);
      acc[r] += vec4<f32>(dot(w0, x), dot(w1, x), dot(w2, x), dot(w3, x));
    }
  }
  for (u32 i = c4 + lid; i < cols; i += WG) {
    const vec4<f32> w = vec4<f32>(dq1(rb.x, i), dq1(rb.y, i), dq1(rb.z, i), dq1(rb.w, i));
#pragma unroll
    for (u32 r = 0u; r < NX; r++) { acc[r] += w * X[r * cols + i]; }
  }
#pragma unroll
  for (u32 r = 0u; r < NX; r++) {
    const vec4<f32> s = RED::wg_sum4(acc[r]);
    if (lid == 0u) {
      for (u32 k = 0u; k < NR; k++) {
        const u32 o = o0 + k;
        if (o < P.w_rows) {
          const u32 oc = P.out_offset + o;
          f32 v = s[k];
          if (P.has_bias != 0u) { v += BIAS[oc]; }
          Y[r * P.out_cols + oc] = v;
        }
      }
    }
  }
}

extern "C" int rf_k_matvec(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH(l->dequant, DQ,
    RF_REDUCE_SWITCH(l->reduce, RED,
      RF_NX_SWITCH(l->variant, NX,
        return rf_go(matvec_main<DQ, RED, NX>, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3)))));
}
