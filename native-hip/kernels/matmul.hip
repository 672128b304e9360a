// Twin of shaders/matmul.wgsl: bindings as pointers, the dequant helpers take W first and the
// weight type as DQ.
//
// matmul (prefill): Y[m][n] = sum_k X[m][k] * W[n][k] (+ bias[n]) for many rows m.
// Tiled: a workgroup of 16x16 threads computes a 64x64 tile of Y, stepping k in slices of 16;
// each slice of W (64 rows x 16) is dequantized once into workgroup memory (one dq4 per thread)
// next to the matching slice of X, and every thread accumulates a 4x4 register block
// (rows ty + 16a, columns tx + 16b: strided so that reads of the tiles spread over banks).
// The weight may be one part of a weight split by rows (out_offset = the part's first row).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"

namespace {
struct Params {
  u32 m;          // X rows
  u32 cols;       // shared dimension K
  u32 out_cols;   // row stride of Y
  u32 w_rows;     // rows of this weight part (N)
  u32 row_bytes;
  u32 out_offset;
  u32 has_bias;
};

constexpr u32 TILE = 64u;
constexpr u32 BK = 16u;
constexpr u32 STRIDE = 17u; // BK + 1: padding against bank conflicts

__shared__ f32 xs[1088]; // TILE * STRIDE
__shared__ f32 ws[1088];
}

template <class DQ>
__global__ void matmul_main(const Params P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
                            const f32* __restrict__ BIAS) {
  auto dq4 = [&](u32 rb, u32 i) { return DQ::dq4(W, rb, i); };
  auto dq1 = [&](u32 rb, u32 i) { return DQ::dq1(W, rb, i); };
  const vec3<u32> wid = workgroup_id();
  const u32 lid = local_invocation_index();
  const u32 n0 = wid.x * TILE;
  const u32 m0 = wid.y * TILE;
  const u32 tx = lid % 16u;
  const u32 ty = lid / 16u;
  const u32 cols = P.cols;
  // Loader coordinates: each thread loads 4 consecutive k of one tile row, of X and of W.
  const u32 lr = lid / 4u;
  const u32 lk = (lid % 4u) * 4u;
  const u32 xm = m0 + lr;
  const u32 wn = n0 + lr;
  const u32 rb = wn * P.row_bytes;
  array<array<f32, 4>, 4> acc;
  for (u32 k0 = 0u; k0 < cols; k0 += BK) {
    const u32 k = k0 + lk;
    vec4<f32> xv = vec4<f32>(0.0f);
    vec4<f32> wv = vec4<f32>(0.0f);
    if (k + 3u < cols) {
      if (xm < P.m) {
        const u32 xb = xm * cols + k;
        xv = vec4<f32>(X[xb], X[xb + 1u], X[xb + 2u], X[xb + 3u]);
      }
      if (wn < P.w_rows) { wv = dq4(rb, k); }
    } else {
      for (u32 e = 0u; e < 4u; e++) {
        if (k + e < cols) {
          if (xm < P.m) { xv[e] = X[xm * cols + k + e]; }
          if (wn < P.w_rows) { wv[e] = dq1(rb, k + e); }
        }
      }
    }
    const u32 s = lr * STRIDE + lk;
    xs[s] = xv.x; xs[s + 1u] = xv.y; xs[s + 2u] = xv.z; xs[s + 3u] = xv.w;
    ws[s] = wv.x; ws[s + 1u] = wv.y; ws[s + 2u] = wv.z; ws[s + 3u] = wv.w;
    workgroupBarrier();
    for (u32 kk = 0u; kk < BK; kk++) {
      array<f32, 4> a;
      array<f32, 4> b;
      for (u32 t = 0u; t < 4u; t++) {
        a[t] = xs[(ty + 16u * t) * STRIDE + kk];
        b[t] = ws[(tx + 16u * t) * STRIDE + kk];
      }
      for (u32 i = 0u; i < 4u; i++) {
        for (u32 j = 0u; j < 4u; j++) { acc[i][j] += a[i] * b[j]; }
      }
    }
    workgroupBarrier();
  }
  for (u32 i = 0u; i < 4u; i++) {
    const u32 m = m0 + ty + 16u * i;
    if (m >= P.m) { continue; }
    for (u32 j = 0u; j < 4u; j++) {
      const u32 n = n0 + tx + 16u * j;
      if (n >= P.w_rows) { continue; }
      const u32 oc = P.out_offset + n;
      f32 v = acc[i][j];
      if (P.has_bias != 0u) { v += BIAS[oc]; }
      Y[m * P.out_cols + oc] = v;
    }
  }
}

extern "C" int rf_k_matmul(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH(l->dequant, DQ,
                    return rf_go(matmul_main<DQ>, l, rf_wg_fixed(l, 256u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3)));
}
