// Twin of shaders/matvec_xr.wgsl: native correctly rounded division (div_rn), round_even for WGSL's
// round(), hardware f16 rounding (round_f16); bindings as pointers, the dequant helpers take W first;
// the weight type (DQ) and the reduction flavour (RED) are template parameters. The WGSL override
// WG is the launch's block size (default 64).
//
// matvec_xr: matvec for one x row whose rounding (act_round modes 1 f16, 2 bf16, 3 q8_0) is done
// inside the workgroup, saving the separate act_round dispatch in decode.
// Each workgroup copies x (at most MAX_COLS values) into workgroup memory, rounds it there
// (elementwise, or one 32-block per thread for q8_0), then runs the matvec loop of matvec
// (NR = 4 weight rows per workgroup) reading x from workgroup memory. Rounding x again in every
// workgroup costs far less than the dispatch it replaces: x is small, the weights are not.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "rf_dequant.h"
#include "common/reduce-shared.h"
#include "common/reduce-subgroup.h"
#include "common/half.h"
#include "common/exact.h"

namespace {
struct Params {
  u32 cols;
  u32 out_cols;
  u32 w_rows;
  u32 row_bytes;
  u32 out_offset;
  u32 has_bias;
  u32 mode; // act_round mode: 1 f16, 2 bf16, 3 q8_0
};

constexpr u32 NR = 4u;
constexpr u32 MAX_COLS = 2048u;

__shared__ f32 xs[MAX_COLS];
}

template <class DQ, class RED>
__global__ void matvec_xr_main(const Params P, const u32* __restrict__ W, const f32* __restrict__ X, f32* __restrict__ Y,
                               const f32* __restrict__ BIAS) {
  auto dq4 = [&](u32 rb, u32 i) { return DQ::dq4(W, rb, i); };
  auto dq1 = [&](u32 rb, u32 i) { return DQ::dq1(W, rb, i); };
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  RED::red_init();
  exact_init();
  const u32 lid = local_invocation_index();
  const u32 o0 = (wid.x + wid.y * nwg.x) * NR;
  if (o0 >= P.w_rows) { return; }
  const u32 cols = P.cols;
  for (u32 i = lid; i < cols; i += WG) {
    const f32 v = X[i];
    if (P.mode == 1u) { xs[i] = round_f16(v); } else if (P.mode == 2u) { xs[i] = round_bf16(v); } else { xs[i] = v; }
  }
  workgroupBarrier();
  if (P.mode == 3u) {
    for (u32 blk = lid; blk < cols / 32u; blk += WG) {
      const u32 b = blk * 32u;
      f32 amax = 0.0f;
      for (u32 j = 0u; j < 32u; j++) { amax = fmaxf(amax, fabsf(xs[b + j])); }
      const f32 d = round_f16(div_rn(amax, 127.0f));
      f32 id = 0.0f;
      if (amax != 0.0f) { id = div_rn(127.0f, amax); }
      for (u32 j = 0u; j < 32u; j++) { xs[b + j] = round_even(xs[b + j] * id) * d; }
    }
    workgroupBarrier();
  }
  const u32 last = P.w_rows - 1u;
  const vec4<u32> rb = vec4<u32>(o0, min(o0 + 1u, last), min(o0 + 2u, last), min(o0 + 3u, last)) * P.row_bytes;
  const u32 c4 = cols & ~3u;
  vec4<f32> acc = vec4<f32>(0.0f);
  for (u32 i = lid * 4u; i < c4; i += WG * 4u) {
    const vec4<f32> x = vec4<f32>(xs[i], xs[i + 1u], xs[i + 2u], xs[i + 3u]);
    acc += vec4<f32>(dot(dq4(rb.x, i), x), dot(dq4(rb.y, i), x), dot(dq4(rb.z, i), x), dot(dq4(rb.w, i), x));
  }
  for (u32 i = c4 + lid; i < cols; i += WG) {
    acc += vec4<f32>(dq1(rb.x, i), dq1(rb.y, i), dq1(rb.z, i), dq1(rb.w, i)) * xs[i];
  }
  const vec4<f32> s = RED::wg_sum4(acc);
  if (lid == 0u) {
    for (u32 k = 0u; k < NR; k++) {
      const u32 o = o0 + k;
      if (o < P.w_rows) {
        const u32 oc = P.out_offset + o;
        f32 v = s[k];
        if (P.has_bias != 0u) { v += BIAS[oc]; }
        Y[oc] = v;
      }
    }
  }
}

extern "C" int rf_k_matvec_xr(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_DEQUANT_SWITCH(l->dequant, DQ,
    RF_REDUCE_SWITCH(l->reduce, RED,
      return rf_go(matvec_xr_main<DQ, RED>, l, rf_wg(l, 64u), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3))));
}
