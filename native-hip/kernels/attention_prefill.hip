// Twin of shaders/attention_prefill.wgsl (bindings as pointers; WIDE a template parameter, picked by
// rf_launch.variant, and the overrides derived from it constexpr; workgroupUniformLoad is a barrier
// and a read). exp is expf, fma fmaf (always fused here). No reductions across a warp: the row
// maxima go through workgroup memory, so no warp width is assumed.
#include "rf_launch.h"
#include "rf_wgsl.h"

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
  u32 row0; // the dispatch's rows are row0 .. row0 + rows - 1 of the batch
};

constexpr u32 WG = 256u;
constexpr u32 QT = 32u;  // query vectors per workgroup
constexpr u32 TPR = 8u;  // threads per query vector (WG / QT)
}

template <u32 WIDE>
__global__ void __launch_bounds__(WG) attention_prefill_main(const Params P, const f32* __restrict__ Q, const u32* __restrict__ KC,
                                                              const u32* __restrict__ VC, const i32* __restrict__ SLOTS,
                                                              const i32* __restrict__ POS, f32* __restrict__ OUT) {
  constexpr u32 HP = 32u << WIDE;   // dimension pairs a head may have
  constexpr u32 KN = WIDE != 0u ? 8u : 24u; // cached positions per chunk: what fits in 16 KiB
  constexpr u32 KS = HP + 1u;       // row stride of q_sh and kv_sh: rows start in different banks
  constexpr u32 PS = KN + 1u;       // row stride of p_sh
  constexpr u32 KPT = KN / TPR;     // scores per thread
  constexpr u32 PPT = HP / TPR;     // output pairs per thread
  __shared__ u32 q_sh[QT * KS];     // the tile's q as f16 pairs
  __shared__ vec2<f32> kv_sh[KN * KS]; // the chunk's K, then its V, unpacked once
  __shared__ f32 p_sh[QT * PS];
  __shared__ f32 red_sh[WG];
  __shared__ i32 vslot_sh[QT];      // each vector's slot; -1 when done or past the rows
  __shared__ u32 vn_sh[QT];         // each vector's cells: pos + 1
  __shared__ u32 vfirst_sh[QT];     // each vector's first cell (the window)
  __shared__ i32 cur_sh;
  __shared__ u32 lo_sh;
  __shared__ u32 hi_sh;
  const vec3<u32> wid = workgroup_id();
  const vec3<u32> nwg = num_workgroups();
  const u32 lid = local_invocation_index();
  const u32 group = P.n_heads / P.n_kv_heads;
  const u32 total = P.rows * group;
  const u32 tiles = (total + QT - 1u) / QT;
  const u32 task = wid.x + wid.y * nwg.x;
  if (task >= tiles * P.n_kv_heads) { return; }
  const u32 kvh = task % P.n_kv_heads;
  // Last tiles first: a prompt's last rows see the most cells, and start before the short ones.
  const u32 tile = tiles - 1u - task / P.n_kv_heads;
  const u32 hp = P.head_dim / 2u;
  const u32 kvp = P.kv_dim / 2u;
  const u32 v = lid / TPR;
  const u32 t = lid % TPR;
  const u32 qv = tile * QT + v;
  const bool live = qv < total;
  const u32 r = P.row0 + min(qv, total - 1u) / group;
  const u32 h = kvh * group + qv % group;
  const u32 n = u32(POS[r]) + 1u;
  u32 first = 0u;
  if (P.window != 0u && n > P.window) { first = n - P.window; }
  const i32 slot = SLOTS[r];
  const u32 qb = r * P.n_heads * P.head_dim + h * P.head_dim;
  for (u32 i = 0u; i < PPT; i++) {
    const u32 d = t + TPR * i;
    if (live && d < hp) { q_sh[v * KS + d] = pack2x16float(vec2<f32>(Q[qb + 2u * d], Q[qb + 2u * d + 1u])); }
  }
  if (t == 0u) {
    vslot_sh[v] = select(-1, slot, live);
    vn_sh[v] = n;
    vfirst_sh[v] = first;
  }
  for (;;) {
    workgroupBarrier(); // the vectors' state (and the last pass's done marks) are written
    if (lid == 0u) {
      // The slot of the first vector not done, and the cells its vectors see.
      i32 cur = -1;
      u32 lo = 0xffffffffu;
      u32 hi = 0u;
      for (u32 i = 0u; i < QT; i++) {
        const i32 s = vslot_sh[i];
        if (cur < 0 && s >= 0) { cur = s; }
        if (s >= 0 && s == cur) {
          lo = min(lo, vfirst_sh[i]);
          hi = max(hi, vn_sh[i]);
        }
      }
      cur_sh = cur;
      lo_sh = lo;
      hi_sh = hi;
    }
    workgroupBarrier(); // workgroupUniformLoad(&cur_sh), (&lo_sh), (&hi_sh)
    const i32 cur = cur_sh;
    if (cur < 0) { break; }
    const u32 lo = lo_sh;
    const u32 hi = hi_sh;
    const bool in_pass = live && slot == cur;
    const u32 base = u32(cur) * P.context * kvp + kvh * hp;

    f32 m = -1e30f;
    f32 l = 0.0f;
    array<vec2<f32>, PPT> acc;
    for (u32 c = lo; c < hi; c += KN) {
      // The chunk's K (zeros past the last cell the tile sees).
      for (u32 w = lid; w < KN * HP; w += WG) {
        const u32 j = w / HP;
        const u32 d = w % HP;
        if (d < hp) {
          u32 kw = 0u;
          if (c + j < hi) { kw = KC[base + (c + j) * kvp + d]; }
          kv_sh[j * KS + d] = unpack2x16float(kw);
        }
      }
      workgroupBarrier();
      array<f32, KPT> s;
      for (u32 d = 0u; d < hp; d++) {
        const vec2<f32> qd = unpack2x16float(q_sh[v * KS + d]);
#pragma unroll
        for (u32 i = 0u; i < KPT; i++) {
          const vec2<f32> k = kv_sh[(t + TPR * i) * KS + d];
          s[i] = fmaf(qd.y, k.y, fmaf(qd.x, k.x, s[i]));
        }
      }
      f32 mx = -3.0e38f;
#pragma unroll
      for (u32 i = 0u; i < KPT; i++) {
        const u32 j = c + t + TPR * i;
        f32 si = s[i];
        if (P.softcap != 0.0f) {
          // tanh through exp of a non-positive argument: no overflow for any score
          const f32 y = si * P.softcap_inv;
          const f32 e = expf(-2.0f * fabsf(y));
          si = copysignf(1.0f, y) * (1.0f - e) / (1.0f + e) * P.softcap;
        }
        si = si * P.scale;
        if (!(in_pass && j >= first && j < n)) { si = -3.0e38f; }
        s[i] = si;
        mx = fmaxf(mx, si);
      }
      red_sh[lid] = mx;
      workgroupBarrier();
      f32 cm = red_sh[v * TPR];
      for (u32 k = 1u; k < TPR; k++) { cm = fmaxf(cm, red_sh[v * TPR + k]); }
      const f32 m_new = fmaxf(m, cm);
      const f32 alpha = expf(m - m_new);
      m = m_new;
#pragma unroll
      for (u32 i = 0u; i < KPT; i++) {
        const u32 j = c + t + TPR * i;
        f32 p = 0.0f;
        if (in_pass && j >= first && j < n) { p = expf(s[i] - m_new); }
        p_sh[v * PS + t + TPR * i] = p;
      }
      workgroupBarrier(); // every score is taken: kv_sh takes the chunk's V
      for (u32 w = lid; w < KN * HP; w += WG) {
        const u32 j = w / HP;
        const u32 d = w % HP;
        if (d < hp) {
          u32 vw = 0u;
          if (c + j < hi) { vw = VC[base + (c + j) * kvp + d]; }
          kv_sh[j * KS + d] = unpack2x16float(vw);
        }
      }
      workgroupBarrier();
      array<vec2<f32>, PPT> a;
      f32 ls = 0.0f;
#pragma unroll 4
      for (u32 j = 0u; j < KN; j++) {
        const f32 p = p_sh[v * PS + j];
        ls += p;
#pragma unroll
        for (u32 i = 0u; i < PPT; i++) {
          const vec2<f32> vv = kv_sh[j * KS + t + TPR * i];
          a[i] = vec2<f32>(fmaf(p, vv.x, a[i].x), fmaf(p, vv.y, a[i].y)); // fma(vec2(p), v, a)
        }
      }
      l = l * alpha + ls;
#pragma unroll
      for (u32 i = 0u; i < PPT; i++) { acc[i] = acc[i] * alpha + a[i]; }
      workgroupBarrier(); // every V and p is read before the next chunk overwrites them
    }
    if (in_pass) {
      const u32 ob = r * P.n_heads * P.head_dim + h * P.head_dim;
#pragma unroll
      for (u32 i = 0u; i < PPT; i++) {
        const u32 d = t + TPR * i;
        if (d < hp) {
          const vec2<f32> o = acc[i] / l;
          OUT[ob + 2u * d] = o.x;
          OUT[ob + 2u * d + 1u] = o.y;
        }
      }
      if (t == 0u) { vslot_sh[v] = -1; }
    }
  }
}

extern "C" int rf_k_attention_prefill(const rf_launch* l) {
  Params P;
  if (int e = rf_params(l, &P)) return e;
  RF_BOOL_SWITCH(l->variant, WIDE,
                 return rf_go(attention_prefill_main<WIDE>, l, rf_wg_fixed(l, WG), P, rf_buf(l, 0), rf_buf(l, 1), rf_buf(l, 2), rf_buf(l, 3), rf_buf(l, 4), rf_buf(l, 5)));
}
