// Twin of shaders/attention.wgsl (bindings as pointers; RED is the reduction flavour, picked by
// rf_launch.reduce; workgroup arrays sized by WG are sized at RF_MAX_WG). exp is expf. The entry
// refuses a workgroup below MAX_HEAD_DIM / 2, which the WGSL only states. store_q8 takes the
// workgroup arrays it shares as pointers.
#include "rf_launch.h"
#include "rf_wgsl.h"
#include "common/half.h"
#include "common/exact.h"
#include "common/reduce-shared.h"
#include "common/reduce-subgroup.h"

namespace {
struct Params {
  u32 rows;
  u32 n_heads;
  u32 n_kv_heads;
  u32 head_dim;
  u32 kv_dim;
  u32 context;
  f32 scale;
  u32 window;
  f32 softcap;
  f32 softcap_inv;
  u32 q8;
};

constexpr u32 MAX_HEAD_DIM = 256u;

RF_INLINE f32 score(const u32* __restrict__ KC, const vec2<f32>* q_sh, const Params& P, u32 kb, u32 hp) {
  f32 s0 = 0.0f;
  f32 s1 = 0.0f;
  f32 s2 = 0.0f;
  f32 s3 = 0.0f;
  u32 d = 0u;
  for (; d + 4u <= hp; d += 4u) {
    s0 += dot(q_sh[d], unpack2x16float(KC[kb + d]));
    s1 += dot(q_sh[d + 1u], unpack2x16float(KC[kb + d + 1u]));
    s2 += dot(q_sh[d + 2u], unpack2x16float(KC[kb + d + 2u]));
    s3 += dot(q_sh[d + 3u], unpack2x16float(KC[kb + d + 3u]));
  }
  for (; d < hp; d++) { s0 += dot(q_sh[d], unpack2x16float(KC[kb + d])); }
  f32 s = (s0 + s1) + (s2 + s3);
  if (P.softcap != 0.0f) {
    // tanh through exp of a non-positive argument: no overflow for any score
    const f32 y = s * P.softcap_inv;
    const f32 e = expf(-2.0f * fabsf(y));
    s = copysignf(1.0f, y) * (1.0f - e) / (1.0f + e) * P.softcap;
  }
  return s * P.scale;
}
}

// The head's output as Q8 blocks: thread d < hp holds pair d, 16 pairs per block.
RF_INLINE void store_q8(u32* __restrict__ XQ, f32* p_sh, u32* qw_sh, i32* qs_sh, vec2<f32> sum, u32 lid, u32 hp, u32 ob) {
  p_sh[lid] = fmaxf(fabsf(sum.x), fabsf(sum.y));
  workgroupBarrier();
  const u32 l0 = lid & ~15u;
  f32 amax = 0.0f;
  for (u32 j = 0u; j < 16u; j++) { amax = fmaxf(amax, p_sh[l0 + j]); }
  const f32 dF = div_rn(amax, 127.0f);
  f32 id = 0.0f;
  if (amax != 0.0f) { id = div_rn(127.0f, amax); }
  const i32 q0 = i32(round_even(mul_rn(sum.x, id)));
  const i32 q1 = i32(round_even(mul_rn(sum.y, id)));
  qw_sh[lid] = (bitcast<u32>(q0) & 0xffu) | ((bitcast<u32>(q1) & 0xffu) << 8u);
  qs_sh[lid] = q0 + q1;
  workgroupBarrier();
  if (lid < hp) {
    const u32 xb = (ob / 32u + lid / 16u) * 10u;
    const u32 j = lid % 16u;
    if (j % 2u == 0u) { XQ[xb + j / 2u] = qw_sh[lid] | (qw_sh[lid + 1u] << 16u); }
    if (j == 0u) {
      i32 total = 0;
      for (u32 t = 0u; t < 16u; t++) { total += qs_sh[lid + t]; }
      XQ[xb + 8u] = bitcast<u32>(to_f16(dF));
      XQ[xb + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(total))));
    }
  }
}

template <class RED>
__global__ void __launch_bounds__(RF_MAX_WG) attention_main(const Params P, const f32* __restrict__ Q, const u32* __restrict__ KC,
                                                            const u32* __restrict__ VC, const i32* __restrict__ SLOTS,
                                                            const i32* __restrict__ POS, f32* __restrict__ OUT, u32* __restrict__ XQ) {
  __shared__ vec2<f32> q_sh[MAX_HEAD_DIM / 2u];
  __shared__ f32 p_sh[RF_MAX_WG];
  __shared__ vec2<f32> acc_sh[RF_MAX_WG];
  __shared__ u32 n_sh;
  __shared__ u32 qw_sh[RF_MAX_WG];
  __shared__ i32 qs_sh[RF_MAX_WG];
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 WG = workgroup_size();
  RED::red_init();
  exact_init();
  const u32 lid = local_invocation_index();
  const u32 task = wid.x + wid.y * nwg.x;
  if (task >= P.rows * P.n_heads) { return; }
  const u32 r = task / P.n_heads;
  const u32 h = task % P.n_heads;
  const u32 hp = P.head_dim / 2u;     // pairs per head
  const u32 kvp = P.kv_dim / 2u;      // pairs per cached position
  const u32 kvh = h / (P.n_heads / P.n_kv_heads);
  const u32 qb = r * P.n_heads * P.head_dim + h * P.head_dim;
  for (u32 d = lid; d < hp; d += WG) { q_sh[d] = round_f16x2(vec2<f32>(Q[qb + 2u * d], Q[qb + 2u * d + 1u])); }
  if (lid == 0u) { n_sh = u32(POS[r]) + 1u; }
  workgroupBarrier(); // workgroupUniformLoad(&n_sh): also a barrier: q_sh is ready
  const u32 n = n_sh;
  const u32 base = u32(SLOTS[r]) * P.context * kvp + kvh * hp;
  u32 first = 0u;
  if (P.window != 0u && n > P.window) { first = n - P.window; }

  const u32 groups = WG / hp;
  const u32 d = lid % hp;
  const u32 g = lid / hp;
  f32 m = -1e30f;
  f32 l = 0.0f;
  vec2<f32> acc = vec2<f32>(0.0f);
  for (u32 c = first; c < n; c += WG) {
    const u32 j = c + lid;
    f32 s = -3.0e38f;
    if (j < n) { s = score(KC, q_sh, P, base + j * kvp, hp); }
    const f32 m_new = fmaxf(m, RED::wg_max(s));
    f32 p = 0.0f;
    if (j < n) { p = expf(s - m_new); }
    const f32 alpha = expf(m - m_new);
    l = l * alpha + RED::wg_sum(p); // wg_sum's barriers also order the p_sh writes below after the last chunk's reads
    m = m_new;
    p_sh[lid] = p;
    workgroupBarrier();
    const u32 cn = min(WG, n - c);
    if (g < groups) {
      vec2<f32> a0 = vec2<f32>(0.0f);
      vec2<f32> a1 = vec2<f32>(0.0f);
      vec2<f32> a2 = vec2<f32>(0.0f);
      vec2<f32> a3 = vec2<f32>(0.0f);
      const u32 vb = base + c * kvp + d;
      u32 jj = g;
      for (; jj + 3u * groups < cn; jj += 4u * groups) {
        const u32 v0 = VC[vb + jj * kvp];
        const u32 v1 = VC[vb + (jj + groups) * kvp];
        const u32 v2 = VC[vb + (jj + 2u * groups) * kvp];
        const u32 v3 = VC[vb + (jj + 3u * groups) * kvp];
        a0 += p_sh[jj] * unpack2x16float(v0);
        a1 += p_sh[jj + groups] * unpack2x16float(v1);
        a2 += p_sh[jj + 2u * groups] * unpack2x16float(v2);
        a3 += p_sh[jj + 3u * groups] * unpack2x16float(v3);
      }
      for (; jj < cn; jj += groups) { a0 += p_sh[jj] * unpack2x16float(VC[vb + jj * kvp]); }
      acc = acc * alpha + ((a0 + a1) + (a2 + a3));
    }
  }
  acc_sh[lid] = acc;
  workgroupBarrier();
  const u32 ob = r * P.n_heads * P.head_dim + h * P.head_dim;
  vec2<f32> sum = vec2<f32>(0.0f);
  if (lid < hp) {
    sum = acc_sh[lid];
    for (u32 k = 1u; k < groups; k++) { sum += acc_sh[k * hp + lid]; }
    sum = sum / l;
    OUT[ob + 2u * lid] = sum.x;
    OUT[ob + 2u * lid + 1u] = sum.y;
  }
  if (P.q8 != 0u) { store_q8(XQ, p_sh, qw_sh, qs_sh, sum, lid, hp, ob); }
}

extern "C" int rf_k_attention(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  const u32 wg = rf_wg(l, 256u);
  if (wg < MAX_HEAD_DIM / 2u) return (int)hipErrorInvalidValue; // every dimension pair needs a thread
  RF_REDUCE_SWITCH(l->reduce, RED,
                   return rf_go(attention_main<RED>, l, wg, P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3), rf_buf(l, 4), rf_buf(l, 5), rf_buf(l, 6)));
}
