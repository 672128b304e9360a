// attention: causal GQA attention of each q row over its slot's cached positions 0..pos.
// One workgroup per (row, head) streams over the keys in chunks of WG positions; no score matrix
// is materialized. Two passes, so that the normalized probabilities can be rounded to f16 as
// llama.cpp does (it multiplies f16 probabilities with the f16 V cache; q is rounded to f16 too):
//   1. scores s_j = scale * q·k_j; running max m and running sum l of exp(s_j - m) (online softmax)
//   2. scores again; p_j = f16(exp(s_j - m) / l); the WG threads split into WG / (head_dim / 2)
//      groups, thread (g, d) accumulating dimension pair d over the positions j = g mod groups of
//      each chunk (so every thread works in decode); the groups' sums are added at the end.
// The cache is f16 pairs in u32 words (see kv_store.wgsl); head_dim is even. softcap != 0 caps each
// score as softcap * tanh(s * softcap_inv) before the scale; window != 0 starts the row at position
// p at cell p - window + 1 (both in f32 here; attention_exact replays llama.cpp).
// needs: a reduction (wg_sum, wg_max), common/half.wgsl (round_f16, round_f16x2)
struct Params {
  rows: u32,
  n_heads: u32,
  n_kv_heads: u32,
  head_dim: u32,
  kv_dim: u32,
  context: u32,
  scale: f32,
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

override WG: u32 = 256u; // >= MAX_HEAD_DIM / 2: every dimension pair has a thread
const MAX_HEAD_DIM: u32 = 256u;

var<workgroup> q_sh: array<vec2<f32>, 128>; // MAX_HEAD_DIM / 2
var<workgroup> p_sh: array<f32, WG>;
var<workgroup> acc_sh: array<vec2<f32>, WG>;
var<workgroup> n_sh: u32;

fn score(kb: u32, hp: u32) -> f32 {
  var s = 0.0;
  for (var d = 0u; d < hp; d++) { s += dot(q_sh[d], unpack2x16float(KC[kb + d])); }
  if (P.softcap != 0.0) {
    // tanh through exp of a non-positive argument: no overflow for any score
    let y = s * P.softcap_inv;
    let e = exp(-2.0 * abs(y));
    s = sign(y) * (1.0 - e) / (1.0 + e) * P.softcap;
  }
  return s * P.scale;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ri: RedIn) {
  red_init(ri);
  let lid = ri.lid;
  let task = wid.x + wid.y * nwg.x;
  if (task >= P.rows * P.n_heads) { return; }
  let r = task / P.n_heads;
  let h = task % P.n_heads;
  let hp = P.head_dim / 2u;     // pairs per head
  let kvp = P.kv_dim / 2u;      // pairs per cached position
  let kvh = h / (P.n_heads / P.n_kv_heads);
  let qb = r * P.n_heads * P.head_dim + h * P.head_dim;
  for (var d = lid; d < hp; d += WG) { q_sh[d] = round_f16x2(vec2<f32>(Q[qb + 2u * d], Q[qb + 2u * d + 1u])); }
  if (lid == 0u) { n_sh = u32(POS[r]) + 1u; }
  let n = workgroupUniformLoad(&n_sh); // also a barrier: q_sh is ready
  let base = u32(SLOTS[r]) * P.context * kvp + kvh * hp;
  var first = 0u;
  if (P.window != 0u && n > P.window) { first = n - P.window; }

  // Pass 1: softmax max and normalizer.
  var m = -1e30;
  var l = 0.0;
  for (var c = first; c < n; c += WG) {
    let j = c + lid;
    var s = -3.0e38;
    if (j < n) { s = score(base + j * kvp, hp); }
    let m_new = max(m, wg_max(s));
    var p = 0.0;
    if (j < n) { p = exp(s - m_new); }
    l = l * exp(m - m_new) + wg_sum(p);
    m = m_new;
  }

  // Pass 2: weighted sum of values.
  let groups = WG / hp;
  let d = lid % hp;
  let g = lid / hp;
  var acc = vec2<f32>(0.0);
  for (var c = first; c < n; c += WG) {
    let j = c + lid;
    var p = 0.0;
    if (j < n) { p = round_f16(exp(score(base + j * kvp, hp) - m) / l); }
    p_sh[lid] = p;
    workgroupBarrier();
    let cn = min(WG, n - c);
    if (g < groups) {
      for (var jj = g; jj < cn; jj += groups) {
        acc += p_sh[jj] * unpack2x16float(VC[base + (c + jj) * kvp + d]);
      }
    }
    workgroupBarrier(); // p_sh is rewritten by the next chunk
  }
  acc_sh[lid] = acc;
  workgroupBarrier();
  if (lid < hp) {
    var sum = acc_sh[lid];
    for (var k = 1u; k < groups; k++) { sum += acc_sh[k * hp + lid]; }
    let ob = r * P.n_heads * P.head_dim + h * P.head_dim;
    OUT[ob + 2u * lid] = sum.x;
    OUT[ob + 2u * lid + 1u] = sum.y;
  }
}
