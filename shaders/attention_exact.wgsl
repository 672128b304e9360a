// attention_exact: causal GQA attention with llama.cpp's CPU arithmetic (without flash attention),
// bit for bit as src/backends/cpu/attention.ts replays it:
//   scores = K·q (q rounded to f16; ggml_vec_dot_f16 for one row, tinyBLAS for batches when
//   head_dim % 16 == 0) times scale; soft_max: ggml_v_expf(s - max), each 16-cell block summed by
//   the AVX-512 tree and the blocks added in double (float-float here), times (float)(1/sum), rounded
//   to f16; out = V·p over the cells padded to 32 (vec_dot_f16 / tinyBLAS again).
// With softcap != 0 (gemma2) each score is soft-capped before the scale: tanhf(s * softcap_inv) *
// softcap (common/tanhf.wgsl). With window != 0 the row at position p attends to the cells from
// p - window + 1 on: the others take no part in the max and weigh exactly 0, the softmax's 16-cell
// blocks still starting at cell 0 as in ggml.
// One workgroup of 256 per (row, head); the scores of up to MAX_CTX positions stay in workgroup memory,
// longer contexts keep them in the PS scratch (variant LONG).
// needs: common/exact.wgsl, common/tanhf.wgsl
struct Params {
  rows: u32,
  n_heads: u32,
  n_kv_heads: u32,
  head_dim: u32,
  kv_dim: u32,
  context: u32,
  scale: f32,
  row_lo: u32,
  batched: u32,
  p_stride: u32,
  window: u32,
  softcap: f32,
  softcap_inv: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> KC: array<u32>;
@group(0) @binding(3) var<storage, read> VC: array<u32>;
@group(0) @binding(4) var<storage, read> SLOTS: array<i32>;
@group(0) @binding(5) var<storage, read> POS: array<i32>;
@group(0) @binding(6) var<storage, read_write> OUT: array<f32>;
// LONG != 0: more than MAX_CTX cells; the probabilities live in PS, p_stride floats per (row, head).
@group(0) @binding(7) var<storage, read_write> PS: array<f32>;
override LONG: u32 = 0u;

const WG: u32 = 256u;
const MAX_CTX: u32 = 2048u;

var<workgroup> q_sh: array<f32, 256>;
var<workgroup> p_sh: array<f32, MAX_CTX>;
var<workgroup> ffp: array<vec2<f32>, WG>;
// The 16 lane values of 64 output dimensions (the weighted sum over V), four invocations each.
var<workgroup> lane_sh: array<f32, 1024>;
var<workgroup> n_sh: u32;

var<private> kbase: u32;
var<private> pbase: u32;

fn pget(t: u32) -> f32 {
  if (LONG != 0u) { return PS[pbase + t]; }
  return p_sh[t];
}

fn pset(t: u32, v: f32) {
  if (LONG != 0u) { PS[pbase + t] = v; } else { p_sh[t] = v; }
}

// Other invocations read the probabilities next: order workgroup and (LONG) storage writes.
fn pbarrier() {
  storageBarrier();
  workgroupBarrier();
}

fn half_at(buf_word: u32, e: u32) -> f32 {
  return half_to_f32((buf_word >> ((e & 1u) * 16u)) & 0xffffu);
}

fn k_at(t: u32, e: u32) -> f32 {
  let kvp = P.kv_dim / 2u;
  return half_at(KC[kbase + t * kvp + (e >> 1u)], e);
}

fn v_at(t: u32, e: u32) -> f32 {
  let kvp = P.kv_dim / 2u;
  return half_at(VC[kbase + t * kvp + (e >> 1u)], e);
}

fn score(t: u32, tiny: bool) -> f32 {
  let hd = P.head_dim;
  if (tiny) {
    var l: array<f32, 16>;
    for (var c = 0u; c < 16u; c++) { l[c] = 0.0; }
    for (var i = 0u; i < hd; i += 16u) {
      for (var c = 0u; c < 16u; c++) { l[c] = fmx(k_at(t, i + c), q_sh[i + c], l[c]); }
    }
    return reduce16(l);
  }
  let np = hd - hd % 64u;
  var d = vec2<f32>(0.0);
  if (np > 0u) {
    var m: array<f32, 16>;
    for (var c = 0u; c < 16u; c++) {
      var l0 = 0.0; var l1 = 0.0; var l2 = 0.0; var l3 = 0.0;
      for (var i = 0u; i < np; i += 64u) {
        l0 = fmx(k_at(t, i + c), q_sh[i + c], l0);
        l1 = fmx(k_at(t, i + 16u + c), q_sh[i + 16u + c], l1);
        l2 = fmx(k_at(t, i + 32u + c), q_sh[i + 32u + c], l2);
        l3 = fmx(k_at(t, i + 48u + c), q_sh[i + 48u + c], l3);
      }
      m[c] = (l0 + l2) + (l1 + l3);
    }
    d.x = reduce16(m);
  }
  for (var i = np; i < hd; i++) { d = ff_add_f(d, mul_rn(k_at(t, i), q_sh[i])); }
  return ff_round(d);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) j: u32) {
  exact_init(nwg);
  let task = wid.x + wid.y * nwg.x;
  if (task >= P.rows * P.n_heads) { return; }
  let r = P.row_lo + task / P.n_heads;
  let h = task % P.n_heads;
  let hd = P.head_dim;
  let kvh = h / (P.n_heads / P.n_kv_heads);
  let qb = r * P.n_heads * hd + h * hd;
  for (var d = j; d < hd; d += WG) { q_sh[d] = to_f16(Q[qb + d]); }
  if (j == 0u) { n_sh = u32(POS[r]) + 1u; }
  let n = workgroupUniformLoad(&n_sh);
  let nkv = (n + 31u) / 32u * 32u;
  kbase = u32(SLOTS[r]) * P.context * (P.kv_dim / 2u) + kvh * (hd / 2u);
  pbase = task * P.p_stride;
  // llama.cpp's batched kernels only for rows whose sequence has >= 2 rows in the batch (host-decided).
  let batched = P.batched != 0u;
  let tiny = batched && hd % 16u == 0u;

  // The first cell inside the sliding window (0 without one).
  var first = 0u;
  if (P.window != 0u && n > P.window) { first = n - P.window; }

  var mx = -f32_inf();
  for (var t = first + j; t < n; t += WG) {
    var s = score(t, tiny);
    if (P.softcap != 0.0) { s = mul_rn(glibc_tanhf(mul_rn(s, P.softcap_inv)), P.softcap); }
    s = mul_rn(s, P.scale);
    pset(t, s);
    mx = max(mx, s);
  }
  ffp[j].x = mx;
  pbarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (j < s) { ffp[j].x = max(ffp[j].x, ffp[j + s].x); }
    workgroupBarrier();
  }
  mx = ffp[0].x;
  workgroupBarrier();

  var sum = vec2<f32>(0.0);
  for (var b = j * 16u; b < n; b += WG * 16u) {
    var e: array<f32, 16>;
    for (var c = 0u; c < 16u; c++) {
      let t = b + c;
      if (t < n) {
        if (t >= first) { e[c] = v_expf(opq(pget(t) - mx)); } else { e[c] = 0.0; }
        pset(t, e[c]);
      } else {
        e[c] = 0.0;
      }
    }
    sum = ff_add_f(sum, reduce16(e));
  }
  ffp[j] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (j < s) { ffp[j] = ff_add(ffp[j], ffp[j + s]); }
    workgroupBarrier();
  }
  let tot = ffp[0];
  // (float)(1 / sum) for the double sum hi + lo: one Newton correction of 1/hi.
  let q0 = div_rn(1.0, tot.x);
  let res = opq(fmx(-q0, tot.x, 1.0) - mul_rn(q0, tot.y));
  let inv = fmx(q0, res, q0);
  pbarrier();
  for (var t = j; t < nkv; t += WG) {
    if (t < n) { pset(t, to_f16(mul_rn(pget(t), inv))); } else { pset(t, 0.0); }
  }
  pbarrier();

  // The weighted sum over V, 64 output dimensions at a time: invocation j takes dimension j % 64
  // (adjacent invocations read adjacent halves of a V row) and lanes 4q..4q+3 of its 16 (q = j / 64),
  // each lane's chain in ggml's order; then one invocation per dimension folds the 16 lanes.
  //   batched (tinyBLAS): lane c is the chain over cells t = c mod 16 of the padded cells;
  //   single (ggml_vec_dot_f16): lane c folds 64-lane chains c, 16+c, 32+c, 48+c over the first np
  //   cells as (l[c] + l[32+c]) + (l[16+c] + l[48+c]); the cells from np on are added in double.
  let np = nkv - nkv % 64u;
  let dl = j % 64u;
  let q4 = j / 64u;
  let ob = r * P.n_heads * hd + h * hd;
  for (var i0 = 0u; i0 < hd; i0 += 64u) {
    let i = i0 + dl;
    if (i < hd) {
      for (var c = 4u * q4; c < 4u * q4 + 4u; c++) {
        var lane = 0.0;
        if (batched) {
          for (var t = c; t < nkv; t += 16u) {
            var v = 0.0;
            if (t < n) { v = v_at(t, i); }
            lane = fmx(v, pget(t), lane);
          }
        } else {
          var a: array<f32, 4>;
          for (var g = 0u; g < 4u; g++) {
            var acc = 0.0;
            for (var t = c + 16u * g; t < np; t += 64u) {
              var v = 0.0;
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
      var l: array<f32, 16>;
      for (var c = 0u; c < 16u; c++) { l[c] = lane_sh[dl * 16u + c]; }
      if (batched) {
        OUT[ob + i] = reduce16(l);
      } else {
        var d = vec2<f32>(0.0);
        if (np > 0u) { d.x = reduce16(l); }
        for (var t = np; t < n; t++) { d = ff_add_f(d, mul_rn(v_at(t, i), pget(t))); }
        OUT[ob + i] = ff_round(d);
      }
    }
    workgroupBarrier();
  }
}
