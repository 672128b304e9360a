// Twin of shaders/matmul.wgsl: bindings as pointers, the dequant helpers take W first and the
// weight type as DQ.
//
// matmul (prefill): Y[m][n] = sum_k X[m][k] * W[n][k] (+ bias[n]) for many rows m.
// Tiled: a workgroup of 16x16 threads computes a 64x64 tile of Y, stepping k in slices of 16;
// each slice of W (64 rows x 16) is dequantized once into workgroup memory (one dq4 per thread)
// next to the matching slice of X, and every thread accumulates a 4x4 register block
// (rows ty + 16a, columns tx + 16b: strided so that reads of the tiles spread over banks).
// The weight may be one part of a weight split by rows (out_offset = the part's first row).
//
// On NVIDIA GPUs from sm_80 on, every weight type but F32 multiplies on the tensor cores instead
// (matmul_tc), with FP16 wmma (m16n16k16, f32 accumulation); BF16 weights with BF16 wmma.
// - Numerics (fast numerics only): x and the dequantized w are rounded to f16 (bf16 for BF16
//   weights) and the sums run in another order than the WGSL's f32 FMA chains. F16/BF16 weights
//   meet x already rounded to their type (act_round), so every product is exact and only the f32
//   accumulation order differs (inside matmul's bound). Quantized weights: d*q and the Q8-rounded
//   x each lose at most 2^-11 relatively, an NMSE of order 1e-7, far inside matmulQuantized
//   (1e-5). The one new limit is f16's range: an x or w past 65504 becomes inf (the f32 path
//   has no such limit), and values under 6.1e-5 lose bits as subnormals. F32 weights keep the
//   f32 path, as f16 (or TF32) would exceed the f32 matmul bound.
// - Tiles: BM rows of X by BN rows of W per workgroup of 256 threads (8 warps, 2 along M by 4
//   along N, each warp (BM/2) x (BN/4) of Y as 16x16 accumulator fragments); the host picks
//   128x128 when that still gives about a GPU's worth of workgroups, else 64x128, else 64x64
//   (matmul_shape). The dispatch keeps matmul.wgsl's grid (one workgroup per 64x64 tile): the
//   workgroups are numbered linearly and the last ones take the larger tiles, M fastest (so
//   neighbours read the same W rows, from L2); the surplus, dispatched first, returns at once.
// - k in slices of KS = 32 (64 for 64x64 tiles, which fit twice the k in the same shared memory:
//   half the slices where few workgroups each walk all of K), double-buffered in shared memory
//   (f16, rows padded by 8 halves), one barrier per slice: while slice s is multiplied, slice
//   s+1 of X is in flight in registers (16-byte loads when the rows allow); slice s+1 of W is
//   dequantized after the multiply (dq4, the same helpers as the f32 path, so every weight type
//   works); both are then stored, converted, into the other buffer. The lines of slice s+2 of
//   both are prefetched into L1 meanwhile.
// - Rows past M or N load the last valid row (their results are never stored), so the full slices
//   load without bounds checks; only a slice crossing K (or X rows not 16-byte aligned, K % 4 != 0)
//   loads element by element, zero past K.
// - Epilogue: each warp stores one accumulator fragment at a time into its own 16x16 scratch and
//   writes it out with the bias, the same `v + bias` as the f32 path.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"
#if RF_CUDA
#include <type_traits>
#include <mma.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
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

// Tensor-core tile shapes (rows of X x rows of W per workgroup, k per slice), picked by the host.
constexpr u32 TC_SHAPES[3][3] = {{128u, 128u, 32u}, {64u, 128u, 32u}, {64u, 64u, 64u}};

// The largest shape that still gives about a GPU's worth of workgroups (an H200 has 132 SMs;
// fewer, larger tiles read X and W fewer times but leave SMs idle).
inline u32 matmul_shape(u32 m, u32 n) {
  auto tiles = [&](u32 s) { return ((m + TC_SHAPES[s][0] - 1u) / TC_SHAPES[s][0]) * ((n + TC_SHAPES[s][1] - 1u) / TC_SHAPES[s][1]); };
  if (tiles(0u) >= 128u) return 0u;
  if (tiles(1u) >= 64u) return 1u;
  return 2u;
}
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
namespace {
constexpr u32 TC_CLD = 16u;  // epilogue scratch row stride (floats)
constexpr u32 TC_SMEM = 2u * (128u + 128u) * 40u * 2u; // bytes: two slices of the largest tile (rows of 32 + 8 halves), 40 KiB
__shared__ __align__(128) unsigned char tc_sh[TC_SMEM];

// The tensor cores' element type per weight type: f16, bf16 for BF16 weights.
struct TcHalf {
  typedef __half T;
  static RF_INLINE u32 pack2(f32 a, f32 b) {
    const __half2 h = __floats2half2_rn(a, b); // a in the low half: the lower address
    u32 u;
    memcpy(&u, &h, 4);
    return u;
  }
};
struct TcBf16 {
  typedef __nv_bfloat16 T;
  static RF_INLINE u32 pack2(f32 a, f32 b) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    u32 u;
    memcpy(&u, &h, 4);
    return u;
  }
};
template <class DQ> struct TcElem { typedef TcHalf E; };
template <> struct TcElem<BF16> { typedef TcBf16 E; };

template <class E> RF_INLINE uint2 tc_pack4(vec4<f32> v) { return make_uint2(E::pack2(v.x, v.y), E::pack2(v.z, v.w)); }

template <class DQ, class E, u32 BM, u32 BN, u32 KS>
RF_INLINE void matmul_tc(const Params& P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
                         const f32* __restrict__ BIAS) {
  using namespace nvcuda;
  typedef typename E::T T;
  // Rows of KS + 8 halves: a multiple of 16 bytes (wmma) whose 8 rows of a fragment fall on
  // distinct banks (80 or 144 bytes).
  constexpr u32 LDS = KS + 8u;
  constexpr u32 FM = BM / 32u;  // 16-row fragments per warp (2 warps along M)
  constexpr u32 FN = BN / 64u;  // 16-column fragments per warp (4 warps along N)
  constexpr u32 TPR = KS / 4u;  // loader threads per tile row (4 k each)
  constexpr u32 LR = 256u / TPR; // tile rows loaded per pass
  constexpr u32 XL = BM / LR;   // X rows each thread loads per slice
  constexpr u32 WL = BN / LR;   // W rows each thread loads per slice
  constexpr u32 STAGE = (BM + BN) * LDS; // elements of one buffered slice: X rows, then W rows
  static_assert(FM >= 1u && FN >= 1u && XL >= 1u && WL >= 1u && KS % 32u == 0u && 2u * STAGE * 2u <= TC_SMEM, "tile shape");
  static_assert(8u * 16u * TC_CLD * 4u <= TC_SMEM, "epilogue scratch");
  T* const sh = reinterpret_cast<T*>(tc_sh);
  const u32 lid = threadIdx.x;
  const u32 warp = lid / 32u;
  const u32 lane = lid % 32u;
  const u32 wm = (warp / 4u) * (BM / 2u); // the warp's first row and column in the tile
  const u32 wn = (warp % 4u) * (BN / 4u);
  // Loader: thread lid loads k lk..lk+3 of tile rows lr + LR*i (TPR threads per row).
  const u32 lr = lid / TPR;
  const u32 lk = (lid % TPR) * 4u;
  const u32 M = P.m;
  const u32 N = P.w_rows;
  const u32 cols = P.cols;
  const u32 tiles_m = (M + BM - 1u) / BM;
  const u32 tiles = tiles_m * ((N + BN - 1u) / BN);
  const u32 nk = (cols + KS - 1u) / KS;
  // Slices [0, nfast) lie inside K and take 16-byte loads of X.
  const bool xvec = (cols % 4u) == 0u && (reinterpret_cast<uintptr_t>(X) & 15u) == 0u;
  const u32 nfast = xvec ? cols / KS : 0u;
  // Bytes of a W row one slice reads (a whole super-block for the k-quants), and where in them
  // this thread's prefetch points.
  constexpr u32 WRAW = (DQ::QK >= KS ? 1u : KS / DQ::QK) * DQ::BLOCK_BYTES;
  const u32 woff = min((lid % TPR) * 32u, WRAW - 1u);
  // X's prefetch: thread lid < BM * LPR takes 128 bytes (a line when aligned) of tile row lid / LPR.
  constexpr u32 LPR = KS / 32u;
  const bool xpf = lid < BM * LPR;

  // Tiles go to the last workgroups: the surplus ones come first in dispatch order and return
  // while every SM still has room, instead of trickling through the few slots the tiles leave.
  const u32 groups = gridDim.x * gridDim.y;
  const u32 lin = blockIdx.x + gridDim.x * blockIdx.y;
  const u32 skip = groups > tiles ? groups - tiles : 0u;
  for (u32 t = lin - skip; lin >= skip && t < tiles; t += groups) {
    const u32 m0 = (t % tiles_m) * BM;
    const u32 n0 = (t / tiles_m) * BN;
    u32 xrow[XL]; // element offset of each loaded X row
    u32 wrb[WL];  // byte offset of each loaded W row
#pragma unroll
    for (u32 i = 0u; i < XL; i++) { xrow[i] = min(m0 + lr + LR * i, M - 1u) * cols; }
#pragma unroll
    for (u32 i = 0u; i < WL; i++) { wrb[i] = min(n0 + lr + LR * i, N - 1u) * P.row_bytes; }
    const u32 xpf_off = min(m0 + min(lid / LPR, BM - 1u), M - 1u) * cols + (lid % LPR) * 32u;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[FM][FN];
#pragma unroll
    for (u32 i = 0u; i < FM; i++) {
#pragma unroll
      for (u32 j = 0u; j < FN; j++) { wmma::fill_fragment(acc[i][j], 0.0f); }
    }
    vec4<f32> xr[XL]; // the next slice of X, as loaded
    uint2 wr[WL];     // the next slice of W, dequantized and packed

    // A slice inside K, X rows 16-byte aligned: X's loads first (converted only when stored), W's
    // dequantization after the multiply, from lines `prefetch` asked for a slice earlier (dq4
    // loads and decodes in one, so its latency would otherwise sit before the multiply).
    auto load_x_fast = [&](u32 k0) {
#pragma unroll
      for (u32 i = 0u; i < XL; i++) { xr[i] = *reinterpret_cast<const vec4<f32>*>(X + xrow[i] + k0 + lk); }
    };
    auto load_w_fast = [&](u32 k0) {
#pragma unroll
      for (u32 i = 0u; i < WL; i++) { wr[i] = tc_pack4<E>(DQ::dq4(W, wrb[i], k0 + lk)); }
    };
    // Into L1, for slice k0: the quant block(s) of each loaded W row that it reads (TPR threads
    // per row, 32 bytes apart, clamped into the row's bytes of the slice), and X's tile rows.
    auto prefetch = [&](u32 k0) {
#pragma unroll
      for (u32 i = 0u; i < WL; i++) {
        const u32 b = wrb[i] + (k0 / DQ::QK) * DQ::BLOCK_BYTES + woff;
        asm volatile("prefetch.global.L1 [%0];" ::"l"(__cvta_generic_to_global(W + (b >> 2u))));
      }
      if (xpf) { asm volatile("prefetch.global.L1 [%0];" ::"l"(__cvta_generic_to_global(X + xpf_off + k0))); }
    };
    // Any slice: element by element where needed, zero past K in both operands (a zero times
    // whatever lies past K could still be NaN).
    auto load_safe = [&](u32 k0) {
      const u32 k = k0 + lk;
#pragma unroll
      for (u32 i = 0u; i < XL; i++) {
        vec4<f32> xv = vec4<f32>(0.0f);
        for (u32 e = 0u; e < 4u; e++) {
          if (k + e < cols) { xv[e] = X[xrow[i] + k + e]; }
        }
        xr[i] = xv;
      }
#pragma unroll
      for (u32 i = 0u; i < WL; i++) {
        vec4<f32> wv = vec4<f32>(0.0f);
        if (k + 3u < cols) {
          wv = DQ::dq4(W, wrb[i], k);
        } else {
          for (u32 e = 0u; e < 4u; e++) {
            if (k + e < cols) { wv[e] = DQ::dq1(W, wrb[i], k + e); }
          }
        }
        wr[i] = tc_pack4<E>(wv);
      }
    };
    auto store = [&](u32 stage) {
      T* const xs_t = sh + stage * STAGE;
      T* const ws_t = xs_t + BM * LDS;
#pragma unroll
      for (u32 i = 0u; i < XL; i++) { *reinterpret_cast<uint2*>(xs_t + (lr + LR * i) * LDS + lk) = tc_pack4<E>(xr[i]); }
#pragma unroll
      for (u32 i = 0u; i < WL; i++) { *reinterpret_cast<uint2*>(ws_t + (lr + LR * i) * LDS + lk) = wr[i]; }
    };
    auto compute = [&](u32 stage) {
      const T* const xs_t = sh + stage * STAGE;
      const T* const ws_t = xs_t + BM * LDS;
#pragma unroll
      for (u32 kk = 0u; kk < KS; kk += 16u) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b[FN];
#pragma unroll
        for (u32 j = 0u; j < FN; j++) { wmma::load_matrix_sync(b[j], ws_t + (wn + 16u * j) * LDS + kk, LDS); }
#pragma unroll
        for (u32 i = 0u; i < FM; i++) {
          wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
          wmma::load_matrix_sync(a, xs_t + (wm + 16u * i) * LDS + kk, LDS);
#pragma unroll
          for (u32 j = 0u; j < FN; j++) { wmma::mma_sync(acc[i][j], a, b[j], acc[i][j]); }
        }
      }
    };

    if (nfast > 0u) {
      load_x_fast(0u);
      load_w_fast(0u);
      if (nfast > 1u) { prefetch(KS); }
    } else {
      load_safe(0u);
    }
    store(0u);
    for (u32 s = 0u; s < nk; s++) {
      // Slice s is in buffer s % 2; every warp is done with buffer (s + 1) % 2 (slice s - 1).
      __syncthreads();
      const u32 cur = s & 1u;
      if (s + 1u < nfast) {
        prefetch(min(s + 2u, nfast - 1u) * KS);
        load_x_fast((s + 1u) * KS);
        compute(cur);
        load_w_fast((s + 1u) * KS);
        store(cur ^ 1u);
      } else if (s + 1u < nk) {
        load_safe((s + 1u) * KS);
        compute(cur);
        store(cur ^ 1u);
      } else {
        compute(cur);
      }
    }
    __syncthreads(); // the buffers become the epilogue's scratch

    f32* const scratch = reinterpret_cast<f32*>(tc_sh) + warp * (16u * TC_CLD);
#pragma unroll
    for (u32 i = 0u; i < FM; i++) {
#pragma unroll
      for (u32 j = 0u; j < FN; j++) {
        wmma::store_matrix_sync(scratch, acc[i][j], TC_CLD, wmma::mem_row_major);
        __syncwarp();
        // Two fragment rows per step, 16 consecutive columns each.
        for (u32 e = 0u; e < 8u; e++) {
          const u32 r = 2u * e + lane / 16u;
          const u32 c = lane % 16u;
          const u32 m = m0 + wm + 16u * i + r;
          const u32 n = n0 + wn + 16u * j + c;
          if (m < M && n < N) {
            const u32 oc = P.out_offset + n;
            f32 v = scratch[r * TC_CLD + c];
            if (P.has_bias != 0u) { v += BIAS[oc]; }
            Y[m * P.out_cols + oc] = v;
          }
        }
        __syncwarp();
      }
    }
    __syncthreads(); // before a next tile stores its first slice over the scratch
  }
}
}
#endif

// The f32 tiles (matmul.wgsl's arithmetic), for every GPU and weight type without matmul_tc.
template <class DQ>
RF_INLINE void matmul_f32(const Params& P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
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

// BM x BN, KS: matmul_tc's tile shape (TC_SHAPES); the f32 path ignores them.
// On NVIDIA, the 128x128 tiles are held to 128 registers: two workgroups per SM.
#if RF_CUDA
#define MATMUL_BOUNDS __launch_bounds__(256, (BM >= 128u && !std::is_same<DQ, BF16>::value) ? 2 : 1)
#else
#define MATMUL_BOUNDS
#endif
template <class DQ, u32 BM, u32 BN, u32 KS>
__global__ void MATMUL_BOUNDS matmul_main(const Params P, const u32* __restrict__ W, const f32* __restrict__ X,
                                          f32* __restrict__ Y, const f32* __restrict__ BIAS) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (DQ::TYPE != F32::TYPE) {
    matmul_tc<DQ, typename TcElem<DQ>::E, BM, BN, KS>(P, W, X, Y, BIAS);
  } else {
    matmul_f32<DQ>(P, W, X, Y, BIAS);
  }
#else
  matmul_f32<DQ>(P, W, X, Y, BIAS);
#endif
}

template <class DQ> static int matmul_launch(const rf_launch* l, const Params& P) {
  const u32 wg = rf_wg_fixed(l, 256u);
#if RF_CUDA
  if constexpr (DQ::TYPE != F32::TYPE) {
    switch (matmul_shape(P.m, P.w_rows)) {
      case 0u: return rf_go(matmul_main<DQ, TC_SHAPES[0][0], TC_SHAPES[0][1], TC_SHAPES[0][2]>, l, wg, P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3));
      case 1u: return rf_go(matmul_main<DQ, TC_SHAPES[1][0], TC_SHAPES[1][1], TC_SHAPES[1][2]>, l, wg, P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3));
      default: break;
    }
  }
#endif
  return rf_go(matmul_main<DQ, TC_SHAPES[2][0], TC_SHAPES[2][1], TC_SHAPES[2][2]>, l, wg, P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3));
}

extern "C" int rf_k_matmul(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH(l->dequant, DQ, return matmul_launch<DQ>(l, P));
}
