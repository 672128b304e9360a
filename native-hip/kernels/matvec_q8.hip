// Twin of shaders/matvec_q8.wgsl: dot4I8Packed is the native dp4a (rf_wgsl.h); Q4_0 and Q8_0 form
// the packed quants of wpack straight from the block's words, loaded without a branch per word
// (the same bits as pack4xI8(qi4)); the block loop is unrolled by 2 (the same sums in the same
// order). Bindings as pointers, the dequant helpers take W first; the weight type (DQ), the
// reduction flavour (RED) and NX are template parameters. The WGSL override WG is the launch's
// block size (default 64).
//
// matvec_q8: fast decode matvec for the legacy 32-blocks (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL) against
// x quantized to Q8 blocks by q8_quant (the same quants and scales as act_round's q8_0 mode, which
// the f32 matvec reads): y[r][o] = sum_k wd*xd * idot_k (+ wm*xs_k for types with a min)
// (+ bias[o]), for a few x rows r. The block's integer dot is exact, so only the float sum's order
// differs from matvec over act_round's x.
// One workgroup per NR = 4 consecutive output rows: invocation l takes whole blocks k = l, l + WG,
// ..., so a warp reads consecutive blocks of each row once, at full width; each x block is read
// once for the 4 weight rows; the 4 sums of each x row are reduced together (wg_sum4).
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"
#include "common/reduce-shared.h"
#include "common/reduce-subgroup.h"

namespace {
struct Params {
  u32 cols;       // shared dimension (a multiple of 32)
  u32 out_cols;   // row stride of y (the full weight's rows)
  u32 w_rows;     // rows of this weight part
  u32 row_bytes;  // bytes per weight row
  u32 out_offset; // first output column written by this part
  u32 has_bias;
};

constexpr u32 NR = 4u;

// N consecutive words from byte c (c even), as ld_u32 reads them, without a branch per word: neighbouring
// blocks alternate between 4- and 2-byte alignment, so ld_u32's branch would split every warp. The
// aligned case loads its last word twice instead of the word past it (which ld_u32 reads too).
template <u32 N> RF_INLINE array<u32, N> ld_words(const u32* W, u32 c) {
  const u32 a = c >> 2u;
  const u32 sh = (c & 2u) * 8u;
  array<u32, N + 1u> v;
#pragma unroll
  for (u32 i = 0u; i < N; i++) { v[i] = W[a + i]; }
  v[N] = W[a + N - 1u + (sh >> 4u)];
  array<u32, N> q;
#pragma unroll
  for (u32 i = 0u; i < N; i++) { q[i] = sh == 0u ? v[i] : ((v[i] >> 16u) | (v[i + 1u] << 16u)); }
  return q;
}

// The block at byte b as 8 words of packed i8 quants (elements 4w..4w+3 in word w), as XQ holds x.
template <class DQ> RF_INLINE array<u32, 8> wpack(const u32* W, u32 b) {
  array<u32, 8> q;
  if constexpr (DQ::TYPE == Q4_0::TYPE) {
    // Nibbles n in 0..15 to the i8 n - 8 bytewise: n + 0x78 stays below 0x100, ^ 0x80 subtracts 0x80.
    const array<u32, 4> v = ld_words<4u>(W, b + 2u);
#pragma unroll
    for (u32 w = 0u; w < 4u; w++) {
      q[w] = ((v[w] & 0x0F0F0F0Fu) + 0x78787878u) ^ 0x80808080u;
      q[w + 4u] = (((v[w] >> 4u) & 0x0F0F0F0Fu) + 0x78787878u) ^ 0x80808080u;
    }
  } else if constexpr (DQ::TYPE == Q8_0::TYPE) {
    const array<u32, 8> v = ld_words<8u>(W, b + 2u);
#pragma unroll
    for (u32 w = 0u; w < 8u; w++) { q[w] = v[w]; }
  } else {
    for (u32 w = 0u; w < 8u; w++) { q[w] = pack4xI8(DQ::qi4(W, b, 4u * w)); }
  }
  return q;
}

// The block's integer dot with x block xb.
RF_INLINE i32 idot(const u32* XQ, const array<u32, 8>& q, u32 xb) {
  i32 s = 0;
#pragma unroll
  for (u32 w = 0u; w < 8u; w++) { s = dot4I8Packed(q[w], XQ[xb * 10u + w]) + s; }
  return s;
}

// Weight row j of the workgroup's 4 (block at byte b) against x block xb.
template <class DQ> RF_INLINE f32 bdot(const u32* W, const u32* XQ, const array<u32, 8>& q, u32 b, u32 xb) {
  f32 v = ld_f16(W, b) * bitcast<f32>(XQ[xb * 10u + 8u]) * f32(idot(XQ, q, xb));
  if constexpr (DQ::Q_HAS_MIN) { v += ld_f16(W, b + 2u) * bitcast<f32>(XQ[xb * 10u + 9u]); }
  return v;
}
}

template <class DQ, class RED, u32 NX>
__global__ void matvec_q8_main(const Params P, const u32* __restrict__ W, const u32* __restrict__ XQ, f32* __restrict__ Y,
                               const f32* __restrict__ BIAS) {
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
  const u32 nb = P.cols / 32u;
  array<vec4<f32>, 8> acc; // NX <= 8
#pragma unroll 2
  for (u32 k = lid; k < nb; k += WG) {
    const vec4<u32> b = rb + vec4<u32>(k * DQ::BLOCK_BYTES);
    const array<u32, 8> q0 = wpack<DQ>(W, b.x);
    const array<u32, 8> q1 = wpack<DQ>(W, b.y);
    const array<u32, 8> q2 = wpack<DQ>(W, b.z);
    const array<u32, 8> q3 = wpack<DQ>(W, b.w);
#pragma unroll
    for (u32 r = 0u; r < NX; r++) {
      const u32 xb = r * nb + k;
      acc[r] += vec4<f32>(bdot<DQ>(W, XQ, q0, b.x, xb), bdot<DQ>(W, XQ, q1, b.y, xb), bdot<DQ>(W, XQ, q2, b.z, xb),
                          bdot<DQ>(W, XQ, q3, b.w, xb));
    }
  }
#pragma unroll
  for (u32 r = 0u; r < NX; r++) {
    const vec4<f32> s = RED::wg_sum4(acc[r]);
    if (lid == 0u) {
      for (u32 j = 0u; j < NR; j++) {
        const u32 o = o0 + j;
        if (o < P.w_rows) {
          const u32 oc = P.out_offset + o;
          f32 v = s[j];
          if (P.has_bias != 0u) { v += BIAS[oc]; }
          Y[r * P.out_cols + oc] = v;
        }
      }
    }
  }
}

extern "C" int rf_k_matvec_q8(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH_Q(l->dequant, DQ,
    RF_REDUCE_SWITCH(l->reduce, RED,
      RF_NX_SWITCH(l->variant, NX,
        return rf_go(matvec_q8_main<DQ, RED, NX>, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3)))));
}
