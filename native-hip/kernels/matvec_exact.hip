// Twin of shaders/matvec_exact.wgsl: native fma (fmx) and rounded products (mul_rn); bindings as
// pointers, the dequant helpers take W first and the weight type as DQ. ggml's double sums (kinds 1
// and 3) are native doubles where the WGSL emulates them by float-float pairs (ff_add_f, ff_round):
// the double is the CPU reference's own arithmetic (dotVecF16 / dotVecBf16 in
// src/backends/cpu/ggml-simd.ts add the same float terms in double and round once).
//
// matvec_exact: Y[r][o] = W[o] · X[r] (+ bias[o]) for float weights (F32/F16/BF16, X already rounded
// to the vec-dot type), with the float32 operations of the kernel llama.cpp's CPU backend runs for
// this type and batch (see src/backends/cpu/ggml-simd.ts), so that results are bit-identical:
//   kind 0 ggml_vec_dot_f32: 64 FMA lanes over steps of 64, the AVX-512 reduction tree, then the
//          leftovers as GCC vectorizes them (8-wide rounded products added in order, FMA tail);
//   kind 1 ggml_vec_dot_f16: the same 64 lanes and tree, leftovers as exact products in double;
//   kind 2 tinyBLAS (batches, k % 16 == 0): 16 FMA lanes, one _mm512_reduce_add_ps;
//   kind 3 ggml_vec_dot_bf16: two 16-lane vdpbf16ps accumulators over steps of 64, each reduced and
//          added in double, leftovers in double;
//   kind 4 tinyBLAS BF16 (batches, k % 32 == 0): 16 vdpbf16ps lanes, one reduction.
// One workgroup of 64 invocations per output: invocation j is SIMD lane j. A dispatch covers x rows
// row_lo..row_lo+rows-1 of one kind (the host splits a batch into runs of rows that take the same
// kernel); workgroups past rows x w_rows (a grid spilling into y) do nothing.
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
  u32 kind;
  u32 row_lo;
  u32 rows;
};

__shared__ f32 lanes[64];

RF_INLINE array<f32, 16> lanes16(u32 o) {
  array<f32, 16> l;
  for (u32 j = 0u; j < 16u; j++) { l[j] = lanes[o + j]; }
  return l;
}
}

template <class DQ>
__global__ void matvec_exact_main(const Params P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
                                  const f32* __restrict__ BIAS) {
  auto dq1 = [&](u32 rb, u32 i) { return DQ::dq1(W, rb, i); };
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 j = local_invocation_index();
  exact_init();
  const u32 task = wid.x + wid.y * nwg.x;
  if (task >= P.rows * P.w_rows) { return; }
  const u32 o = task % P.w_rows;
  const u32 r = P.row_lo + task / P.w_rows;
  const u32 n = P.cols;
  const u32 rb = o * P.row_bytes;
  const u32 xb = r * n;
  const u32 kind = P.kind;
  f32 acc = 0.0f;
  if (kind <= 1u) {
    const u32 np = n - n % 64u;
    for (u32 i = 0u; i < np; i += 64u) { acc = fmx(dq1(rb, i + j), X[xb + i + j], acc); }
  } else if (kind == 2u) {
    if (j < 16u) { for (u32 i = 0u; i < n; i += 16u) { acc = fmx(dq1(rb, i + j), X[xb + i + j], acc); } }
  } else {
    // vdpbf16ps: lane l adds the product of elements 2l+1, then 2l, of each 32-element chunk.
    const u32 lane = j % 16u;
    const u32 step = select(32u, 64u, kind == 3u);
    u32 start = 0u;
    if (kind == 3u && j >= 16u) { start = 32u; }
    const u32 limit = select(n, n - n % 64u, kind == 3u);
    if ((kind == 3u && j < 32u) || (kind == 4u && j < 16u)) {
      for (u32 i = start; i < limit; i += step) {
        const f32 t = fmx(dq1(rb, i + 2u * lane + 1u), X[xb + i + 2u * lane + 1u], acc);
        acc = fmx(dq1(rb, i + 2u * lane), X[xb + i + 2u * lane], t);
      }
    }
  }
  lanes[j] = acc;
  workgroupBarrier();
  if (j != 0u) { return; }
  f32 v;
  if (kind <= 1u) {
    const u32 np = n - n % 64u;
    array<f32, 16> m;
    for (u32 k = 0u; k < 16u; k++) { m[k] = (lanes[k] + lanes[32u + k]) + (lanes[16u + k] + lanes[48u + k]); }
    f32 s = 0.0f;
    if (np > 0u || kind == 0u) { s = reduce16(m); }
    if (kind == 0u) {
      const u32 cut = np + ((n - np) & ~7u);
      for (u32 i = np; i < cut; i++) { s = opq(s + mul_rn(dq1(rb, i), X[xb + i])); }
      for (u32 i = cut; i < n; i++) { s = fmx(dq1(rb, i), X[xb + i], s); }
      v = s;
    } else {
      // The products of f16 values are exact in f32; the sum is ggml's double, rounded once.
      double d = double(s);
      for (u32 i = np; i < n; i++) { d += double(mul_rn(dq1(rb, i), X[xb + i])); }
      v = f32(d);
    }
  } else if (kind == 2u || kind == 4u) {
    v = reduce16(lanes16(0u));
  } else {
    // The two reductions and the products of bf16 values (exact in f32) added in double, rounded once.
    double d = double(reduce16(lanes16(0u)));
    d += double(reduce16(lanes16(16u)));
    for (u32 i = n - n % 64u; i < n; i++) { d += double(mul_rn(dq1(rb, i), X[xb + i])); }
    v = f32(d);
  }
  const u32 oc = P.out_offset + o;
  if (P.has_bias != 0u) { v = v + BIAS[oc]; }
  Y[r * P.out_cols + oc] = v;
}

extern "C" int rf_k_matvec_exact(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH(l->dequant, DQ,
                    return rf_go(matvec_exact_main<DQ>, l, rf_wg_fixed(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3)));
}
