// Twin of shaders/matmul_q8_exact.wgsl: native fma (fmx) and rounded products (mul_rn); bindings as
// pointers, the staged tiles are __shared__ arrays named W and XQ that the dequant and q8-dot helpers
// take first. arrayLength(&WSRC) has no pointer equivalent: wlen is the words of the part's
// w_rows * row_bytes bytes, rounded up, which is the binding's length under WebGPU (weight parts are
// allocated at exactly that size) and a lower bound of it here. Words past the part's rows are only
// ever shifted out by ld_u32, so the clamp affects no result.
//
// matmul_q8_exact: matvec_q8_exact's products (same parameters, kinds 0, 1 and 3, bit-identical
// results) for batches of rows, tiled: a workgroup computes 16 rows x 16 outputs, each invocation
// 2 x 2 of them with their whole float chains, and stages chunks of the 16 weight rows and the 16 Q8
// rows in workgroup memory, so each is read from storage once per tile instead of once per product.
// The staged arrays are named W and XQ, so the dequant and q8-dot helpers read them unchanged
// (with byte addresses relative to the tile).
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

constexpr u32 KC = 8u; // blocks per chunk
constexpr u32 T = 16u; // rows and outputs per tile

// Lane w's integer products of a weight block (quants qa) with an activation block word.
RF_INLINE i32 lane4(vec4<i32> qa, u32 xw) {
  const vec4<i32> p = qa * sbytes4(xw);
  return (p.x + p.y) + (p.z + p.w);
}
}

template <class DQ>
__global__ void matmul_q8_exact_main(const Params P, const u32* __restrict__ WSRC, const u32* __restrict__ XSRC, f32* __restrict__ Y,
                                     const f32* __restrict__ BIAS) {
  constexpr u32 BLOCK_BYTES = DQ::BLOCK_BYTES;
  // Words per staged weight row: a chunk's bytes from an unaligned start.
  constexpr u32 WSTRIDE = (KC * BLOCK_BYTES + 3u) / 4u + 1u;
  __shared__ u32 W[T * WSTRIDE];
  __shared__ u32 XQ[T * KC * 10u];
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 li = local_invocation_index();
  exact_init();
  const u32 n_ot = (P.w_rows + T - 1u) / T;
  const u32 tile = wid.x + wid.y * nwg.x;
  const u32 ot = tile % n_ot;
  const u32 rt = tile / n_ot;
  if (rt * T >= P.rows) { return; }
  // Invocation (rq, oq) computes rows rq, rq + 8 x outputs oq, oq + 8 of the tile: four products
  // per staged load. Rows and outputs past the end repeat the last one (nothing is written).
  const u32 rq = li / 8u;
  const u32 oq = li % 8u;
  const u32 nb = P.cols / 32u;
  const u32 kind = P.kind;
  const u32 wlen = (P.w_rows * P.row_bytes + 3u) / 4u;
  array<u32, 2> o;
  array<u32, 2> r;
  for (u32 i = 0u; i < 2u; i++) {
    o[i] = min(ot * T + oq + 8u * i, P.w_rows - 1u);
    r[i] = P.row_lo + min(rt * T + rq + 8u * i, P.rows - 1u);
  }
  // Accumulators per (row i, output k) pair p = 2i + k.
  array<array<f32, 8>, 4> acc;
  array<f32, 4> summs;
  array<f32, 4> v;
  for (u32 k0 = 0u; k0 < nb; k0 += KC) {
    for (u32 e = li; e < T * WSTRIDE; e += 64u) {
      const u32 q = e / WSTRIDE;
      const u32 gw = (min(ot * T + q, P.w_rows - 1u) * P.row_bytes + k0 * BLOCK_BYTES) / 4u + e % WSTRIDE;
      W[e] = select(0u, WSRC[min(gw, wlen - 1u)], gw < wlen);
    }
    for (u32 e = li; e < T * KC * 10u; e += 64u) {
      const u32 q = e / (KC * 10u);
      const u32 rr = P.row_lo + min(rt * T + q, P.rows - 1u);
      const u32 blk = min(k0 + (e % (KC * 10u)) / 10u, nb - 1u);
      XQ[e] = XSRC[(rr * nb + blk) * 10u + e % 10u];
    }
    workgroupBarrier();
    const u32 kc = min(KC, nb - k0);
    for (u32 kk = 0u; kk < kc; kk++) {
      array<u32, 2> b;
      array<u32, 2> xb;
      for (u32 i = 0u; i < 2u; i++) {
        b[i] = (oq + 8u * i) * WSTRIDE * 4u + (o[i] * P.row_bytes + k0 * BLOCK_BYTES) % 4u + kk * BLOCK_BYTES;
        xb[i] = (rq + 8u * i) * KC + kk;
      }
      array<array<i32, 8>, 4> l;
      for (u32 w = 0u; w < 8u; w++) {
        const vec4<i32> q0 = DQ::qi4(W, b[0], 4u * w);
        const vec4<i32> q1 = DQ::qi4(W, b[1], 4u * w);
        const u32 x0 = XQ[xb[0] * 10u + w];
        const u32 x1 = XQ[xb[1] * 10u + w];
        l[0][w] = lane4(q0, x0);
        l[1][w] = lane4(q1, x0);
        l[2][w] = lane4(q0, x1);
        l[3][w] = lane4(q1, x1);
      }
      for (u32 p = 0u; p < 4u; p++) {
        const u32 bw = b[p & 1u];
        const u32 bx = xb[p >> 1u];
        if (kind == 3u) {
          v[p] = fmx(f32(isum8(l[p])), mul_rn(wd(W, bw), xd(XQ, bx)), v[p]);
        } else {
          if (kind == 1u) { summs[p] = opq(summs[p] + mul_rn(wm(W, bw), xs(XQ, bx))); }
          const f32 d = mul_rn(wd(W, bw), xd(XQ, bx));
          for (u32 j = 0u; j < 8u; j++) { acc[p][j] = fmx(d, f32(l[p][j]), acc[p][j]); }
        }
      }
    }
    workgroupBarrier();
  }
  for (u32 p = 0u; p < 4u; p++) {
    const u32 i = p >> 1u;
    const u32 k = p & 1u;
    if (ot * T + oq + 8u * k >= P.w_rows || rt * T + rq + 8u * i >= P.rows) { continue; }
    f32 y = v[p];
    if (kind != 3u) {
      y = hsum8(acc[p]);
      if (kind == 1u) { y = opq(y + summs[p]); }
    }
    const u32 oc = P.out_offset + o[k];
    if (P.has_bias != 0u) { y = opq(y + BIAS[oc]); }
    Y[r[i] * P.out_cols + oc] = y;
  }
}

extern "C" int rf_k_matmul_q8_exact(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH_Q(l->dequant, DQ,
                      return rf_go(matmul_q8_exact_main<DQ>, l, rf_wg_fixed(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3)));
}
