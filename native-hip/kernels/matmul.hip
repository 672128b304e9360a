// Twin of shaders/matmul.wgsl: bindings as pointers, the dequant helpers take W first and the
// weight type as DQ. On NVIDIA GPUs from sm_80 on, for every weight type but F32, the same
// workgroup (256 threads, one 64x64 tile of Y, the same grid) multiplies on the tensor cores
// instead (matmul_tf32): slices of 32 k, the next slice's X and dequantized W loaded into
// registers while the current one is multiplied; each of the 8 warps computes two 16x16 blocks of
// the tile with TF32 wmma (x and w rounded to TF32's 10-bit mantissa, f32 accumulation), and the
// tile goes through workgroup memory to the same epilogue. The sums' order and rounding differ
// from the WGSL's f32 FMA chains (fast numerics): F16/BF16 weights meet x rounded to their type,
// exact in TF32; quantized weights stay far inside matmulQuantized; F32 weights keep the f32 path,
// as TF32 would exceed the f32 matmul bound.
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
#if RF_CUDA
#include <mma.h>
#endif

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

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
namespace {
constexpr u32 TBK = 32u;     // k per slice
constexpr u32 TSTRIDE = 36u; // TBK + 4: wmma wants rows of a multiple of 16 bytes, 32-byte aligned fragments
constexpr u32 CSTRIDE = 68u; // TILE + 4
__shared__ __align__(32) f32 tsh[2u * TILE * TSTRIDE]; // X slice, W slice; then the Y tile (TILE * CSTRIDE)
}

// Elements k..k+3 of X row xm and of W row wn (zero past the ends), as the f32 path loads them.
template <class DQ>
RF_INLINE void tf32_load4(const Params& P, const u32* W, const f32* X, u32 xm, u32 wn, u32 rb, u32 k, vec4<f32>& xv, vec4<f32>& wv) {
  const u32 cols = P.cols;
  xv = vec4<f32>(0.0f);
  wv = vec4<f32>(0.0f);
  if (k + 3u < cols) {
    if (xm < P.m) {
      const u32 xb = xm * cols + k;
      xv = vec4<f32>(X[xb], X[xb + 1u], X[xb + 2u], X[xb + 3u]);
    }
    if (wn < P.w_rows) { wv = DQ::dq4(W, rb, k); }
  } else {
    for (u32 e = 0u; e < 4u; e++) {
      if (k + e < cols) {
        if (xm < P.m) { xv[e] = X[xm * cols + k + e]; }
        if (wn < P.w_rows) { wv[e] = DQ::dq1(W, rb, k + e); }
      }
    }
  }
}

template <class DQ>
RF_INLINE void matmul_tf32(const Params& P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
                           const f32* __restrict__ BIAS) {
  using namespace nvcuda;
  const vec3<u32> wid = workgroup_id();
  const u32 lid = local_invocation_index();
  const u32 n0 = wid.x * TILE;
  const u32 m0 = wid.y * TILE;
  const u32 cols = P.cols;
  // Loader: each thread loads 8 consecutive k of one tile row, of X and of W.
  const u32 lr = lid / 4u;
  const u32 lk = (lid % 4u) * 8u;
  const u32 xm = m0 + lr;
  const u32 wn = n0 + lr;
  const u32 rb = wn * P.row_bytes;
  f32* xs_t = tsh;
  f32* ws_t = tsh + TILE * TSTRIDE;
  // Warp w: tile rows 16 * (w / 2), tile columns 32 * (w % 2) and 16 more.
  const u32 warp = lid / 32u;
  const u32 fr = (warp / 2u) * 16u;
  const u32 fc = (warp % 2u) * 32u;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> c0, c1;
  wmma::fill_fragment(c0, 0.0f);
  wmma::fill_fragment(c1, 0.0f);
  vec4<f32> xa, xb, wa, wb;
  tf32_load4<DQ>(P, W, X, xm, wn, rb, lk, xa, wa);
  tf32_load4<DQ>(P, W, X, xm, wn, rb, lk + 4u, xb, wb);
  for (u32 k0 = 0u; k0 < cols; k0 += TBK) {
    const u32 s = lr * TSTRIDE + lk;
    xs_t[s] = xa.x; xs_t[s + 1u] = xa.y; xs_t[s + 2u] = xa.z; xs_t[s + 3u] = xa.w;
    xs_t[s + 4u] = xb.x; xs_t[s + 5u] = xb.y; xs_t[s + 6u] = xb.z; xs_t[s + 7u] = xb.w;
    ws_t[s] = wa.x; ws_t[s + 1u] = wa.y; ws_t[s + 2u] = wa.z; ws_t[s + 3u] = wa.w;
    ws_t[s + 4u] = wb.x; ws_t[s + 5u] = wb.y; ws_t[s + 6u] = wb.z; ws_t[s + 7u] = wb.w;
    workgroupBarrier();
    if (k0 + TBK < cols) {
      tf32_load4<DQ>(P, W, X, xm, wn, rb, k0 + TBK + lk, xa, wa);
      tf32_load4<DQ>(P, W, X, xm, wn, rb, k0 + TBK + lk + 4u, xb, wb);
    }
#pragma unroll
    for (u32 kk = 0u; kk < TBK; kk += 8u) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b0, b1;
      wmma::load_matrix_sync(a, xs_t + fr * TSTRIDE + kk, TSTRIDE);
      wmma::load_matrix_sync(b0, ws_t + fc * TSTRIDE + kk, TSTRIDE);
      wmma::load_matrix_sync(b1, ws_t + (fc + 16u) * TSTRIDE + kk, TSTRIDE);
      for (int t = 0; t < a.num_elements; t++) { a.x[t] = wmma::__float_to_tf32(a.x[t]); }
      for (int t = 0; t < b0.num_elements; t++) {
        b0.x[t] = wmma::__float_to_tf32(b0.x[t]);
        b1.x[t] = wmma::__float_to_tf32(b1.x[t]);
      }
      wmma::mma_sync(c0, a, b0, c0);
      wmma::mma_sync(c1, a, b1, c1);
    }
    workgroupBarrier();
  }
  f32* ct = tsh;
  wmma::store_matrix_sync(ct + fr * CSTRIDE + fc, c0, CSTRIDE, wmma::mem_row_major);
  wmma::store_matrix_sync(ct + fr * CSTRIDE + fc + 16u, c1, CSTRIDE, wmma::mem_row_major);
  workgroupBarrier();
  const u32 tx = lid % 16u;
  const u32 ty = lid / 16u;
  for (u32 i = 0u; i < 4u; i++) {
    const u32 m = m0 + ty + 16u * i;
    if (m >= P.m) { continue; }
    for (u32 j = 0u; j < 4u; j++) {
      const u32 n = n0 + tx + 16u * j;
      if (n >= P.w_rows) { continue; }
      const u32 oc = P.out_offset + n;
      f32 v = ct[(ty + 16u * i) * CSTRIDE + tx + 16u * j];
      if (P.has_bias != 0u) { v += BIAS[oc]; }
      Y[m * P.out_cols + oc] = v;
    }
  }
}
#endif

template <class DQ>
__global__ void matmul_main(const Params P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
                            const f32* __restrict__ BIAS) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (DQ::TYPE != F32::TYPE) {
    matmul_tf32<DQ>(P, W, X, Y, BIAS);
    return;
  }
#endif
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
