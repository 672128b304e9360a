// Twin of shaders/attention_exact.wgsl (bindings as pointers; LONG a template parameter, picked by
// rf_launch.variant; the WGSL functions that read module-scope state are lambdas bound at the top of
// the kernel, kbase and pbase its private variables). fmx, mul_rn, div_rn and the f16 conversions
// are native instructions (common/exact.h). pbarrier() is one __syncthreads(), which also orders
// the workgroup's global memory (PS) as WGSL's storageBarrier. Workgroup memory: 15 KiB, static.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/exact.h"
#include "common/tanhf.h"

namespace {
struct Params {
  u32 rows;
  u32 n_heads;
  u32 n_kv_heads;
  u32 head_dim;
  u32 kv_dim;
  u32 context;
  f32 scale;
  u32 row_lo;
  u32 batched;
  u32 p_stride;
  u32 window;
  f32 softcap;
  f32 softcap_inv;
};

constexpr u32 WG = 256u;
constexpr u32 MAX_CTX = 2048u;

// Other invocations read the probabilities next: order workgroup and (LONG) storage writes.
RF_INLINE void pbarrier() { workgroupBarrier(); }

RF_INLINE f32 half_at(u32 buf_word, u32 e) {
  return half_to_f32((buf_word >> ((e & 1u) * 16u)) & 0xffffu);
}
}

template <u32 LONG>
__global__ void __launch_bounds__(WG) attention_exact_main(const Params P, const f32* __restrict__ Q, const u32* __restrict__ KC,
                                                           const u32* __restrict__ VC, const i32* __restrict__ SLOTS,
                                                           const i32* __restrict__ POS, f32* __restrict__ OUT, f32* __restrict__ PS) {
  __shared__ f32 q_sh[256];
  __shared__ f32 p_sh[MAX_CTX];
  __shared__ vec2<f32> ffp[WG];
  // The 16 lane values of 64 output dimensions (the weighted sum over V), four invocations each.
  __shared__ f32 lane_sh[1024];
  __shared__ u32 n_sh;

  u32 kbase;
  u32 pbase;

  auto pget = [&](u32 t) -> f32 {
    if (LONG != 0u) { return PS[pbase + t]; }
    return p_sh[t];
  };

  auto pset = [&](u32 t, f32 v) {
    if (LONG != 0u) { PS[pbase + t] = v; } else { p_sh[t] = v; }
  };

  auto k_at = [&](u32 t, u32 e) -> f32 {
    const u32 kvp = P.kv_dim / 2u;
    return half_at(KC[kbase + t * kvp + (e >> 1u)], e);
  };

  auto v_at = [&](u32 t, u32 e) -> f32 {
    const u32 kvp = P.kv_dim / 2u;
    return half_at(VC[kbase + t * kvp + (e >> 1u)], e);
  };

  auto score = [&](u32 t, bool tiny) -> f32 {
    const u32 hd = P.head_dim;
    if (tiny) {
      array<f32, 16> l;
      for (u32 c = 0u; c < 16u; c++) { l[c] = 0.0f; }
      for (u32 i = 0u; i < hd; i += 16u) {
        for (u32 c = 0u; c < 16u; c++) { l[c] = fmx(k_at(t, i + c), q_sh[i + c], l[c]); }
      }
      return reduce16(l);
    }
    const u32 np = hd - hd % 64u;
    vec2<f32> d = vec2<f32>(0.0f);
    if (np > 0u) {
      array<f32, 16> m;
      for (u32 c = 0u; c < 16u; c++) {
        f32 l0 = 0.0f; f32 l1 = 0.0f; f32 l2 = 0.0f; f32 l3 = 0.0f;
        for (u32 i = 0u; i < np; i += 64u) {
          l0 = fmx(k_at(t, i + c), q_sh[i + c], l0);
          l1 = fmx(k_at(t, i + 16u + c), q_sh[i + 16u + c], l1);
          l2 = fmx(k_at(t, i + 32u + c), q_sh[i + 32u + c], l2);
          l3 = fmx(k_at(t, i + 48u + c), q_sh[i + 48u + c], l3);
        }
        m[c] = (l0 + l2) + (l1 + l3);
      }
      d.x = reduce16(m);
    }
    for (u32 i = np; i < hd; i++) { d = ff_add_f(d, mul_rn(k_at(t, i), q_sh[i])); }
    return ff_round(d);
  };

  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 j = local_invocation_index();
  exact_init();
  const u32 task = wid.x + wid.y * nwg.x;
  if (task >= P.rows * P.n_heads) { return; }
  const u32 r = P.row_lo + task / P.n_heads;
  const u32 h = task % P.n_heads;
  const u32 hd = P.head_dim;
  const u32 kvh = h / (P.n_heads / P.n_kv_heads);
  const u32 qb = r * P.n_heads * hd + h * hd;
  for (u32 d = j; d < hd; d += WG) { q_sh[d] = to_f16(Q[qb + d]); }
  if (j == 0u) { n_sh = u32(POS[r]) + 1u; }
  workgroupBarrier(); // workgroupUniformLoad(&n_sh)
  const u32 n = n_sh;
  const u32 nkv = (n + 31u) / 32u * 32u;
  kbase = u32(SLOTS[r]) * P.context * (P.kv_dim / 2u) + kvh * (hd / 2u);
  pbase = task * P.p_stride;
  // llama.cpp's batched kernels only for rows whose sequence has >= 2 rows in the batch (host-decided).
  const bool batched = P.batched != 0u;
  const bool tiny = batched && hd % 16u == 0u;

  // The first cell inside the sliding window (0 without one).
  u32 first = 0u;
  if (P.window != 0u && n > P.window) { first = n - P.window; }

  f32 mx = -f32_inf();
  for (u32 t = first + j; t < n; t += WG) {
    f32 s = score(t, tiny);
    if (P.softcap != 0.0f) { s = mul_rn(glibc_tanhf(mul_rn(s, P.softcap_inv)), P.softcap); }
    s = mul_rn(s, P.scale);
    pset(t, s);
    mx = fmaxf(mx, s);
  }
  ffp[j].x = mx;
  pbarrier();
  for (u32 s = WG / 2u; s > 0u; s >>= 1u) {
    if (j < s) { ffp[j].x = fmaxf(ffp[j].x, ffp[j + s].x); }
    workgroupBarrier();
  }
  mx = ffp[0].x;
  workgroupBarrier();

  vec2<f32> sum = vec2<f32>(0.0f);
  for (u32 b = j * 16u; b < n; b += WG * 16u) {
    array<f32, 16> e;
    for (u32 c = 0u; c < 16u; c++) {
      const u32 t = b + c;
      if (t < n) {
        if (t >= first) { e[c] = v_expf(opq(pget(t) - mx)); } else { e[c] = 0.0f; }
        pset(t, e[c]);
      } else {
        e[c] = 0.0f;
      }
    }
    sum = ff_add_f(sum, reduce16(e));
  }
  ffp[j] = sum;
  workgroupBarrier();
  for (u32 s = WG / 2u; s > 0u; s >>= 1u) {
    if (j < s) { ffp[j] = ff_add(ffp[j], ffp[j + s]); }
    workgroupBarrier();
  }
  const vec2<f32> tot = ffp[0];
  // (float)(1 / sum) for the double sum hi + lo: one Newton correction of 1/hi.
  const f32 q0 = div_rn(1.0f, tot.x);
  const f32 res = opq(fmx(-q0, tot.x, 1.0f) - mul_rn(q0, tot.y));
  const f32 inv = fmx(q0, res, q0);
  pbarrier();
  for (u32 t = j; t < nkv; t += WG) {
    if (t < n) { pset(t, to_f16(mul_rn(pget(t), inv))); } else { pset(t, 0.0f); }
  }
  pbarrier();

  // The weighted sum over V, 64 output dimensions at a time (see the WGSL for the lane layout).
  const u32 np = nkv - nkv % 64u;
  const u32 dl = j % 64u;
  const u32 q4 = j / 64u;
  const u32 ob = r * P.n_heads * hd + h * hd;
  for (u32 i0 = 0u; i0 < hd; i0 += 64u) {
    const u32 i = i0 + dl;
    if (i < hd) {
      for (u32 c = 4u * q4; c < 4u * q4 + 4u; c++) {
        f32 lane = 0.0f;
        if (batched) {
          for (u32 t = c; t < nkv; t += 16u) {
            f32 v = 0.0f;
            if (t < n) { v = v_at(t, i); }
            lane = fmx(v, pget(t), lane);
          }
        } else {
          array<f32, 4> a;
          for (u32 g = 0u; g < 4u; g++) {
            f32 acc = 0.0f;
            for (u32 t = c + 16u * g; t < np; t += 64u) {
              f32 v = 0.0f;
              if (t < n) { v = v_at(t, i); }
              acc = fmx(v, pget(t), acc);
            }
            a[g] = acc;
          }
          lane = (a[0] + a[2]) + (a[1] + a[3]);
        }
        lane_sh[dl * 16u + c] = lane;
      }
    }
    workgroupBarrier();
    if (q4 == 0u && i < hd) {
      array<f32, 16> l;
      for (u32 c = 0u; c < 16u; c++) { l[c] = lane_sh[dl * 16u + c]; }
      if (batched) {
        OUT[ob + i] = reduce16(l);
      } else {
        vec2<f32> d = vec2<f32>(0.0f);
        if (np > 0u) { d.x = reduce16(l); }
        for (u32 t = np; t < n; t++) { d = ff_add_f(d, mul_rn(v_at(t, i), pget(t))); }
        OUT[ob + i] = ff_round(d);
      }
    }
    workgroupBarrier();
  }
}

extern "C" int rf_k_attention_exact(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_BOOL_SWITCH(l->variant, LONG,
                 return rf_go(attention_exact_main<LONG>, l, rf_wg_fixed(l, WG), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3),
                              rf_buf(l, 4), rf_buf(l, 5), rf_buf(l, 6)));
}
