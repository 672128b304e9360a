// attention: causal GQA attention of each q row over its slot's cached positions 0..pos.
// One workgroup per (row, head) streams over the keys in chunks of WG positions in ONE pass
// (online softmax, as flash attention does): no score matrix is materialized and no score is
// computed twice. Per chunk:
//   1. thread j scores position c + j: s_j = scale * q·k_j (q rounded to f16, as llama.cpp does),
//      with four independent partial sums so that its key's loads are in flight together;
//   2. the chunk's max m_new (wg_max), p_j = exp(s_j - m_new) into workgroup memory, the running
//      normalizer l = l * exp(m - m_new) + wg_sum(p);
//   3. the WG threads split into WG / (head_dim / 2) groups, thread (g, d) adding p_j * v_j for
//      dimension pair d over the positions j = g mod groups of the chunk, four positions' loads at
//      a time; its accumulator is first rescaled by exp(m - m_new).
// At the end the groups' sums are added and divided by l. The probabilities stay in f32 (llama.cpp's
// CPU path rounds them to f16): fast numerics, within the NMSE table.
// The cache is f16 pairs in u32 words (see kv_store.wgsl); head_dim is even. softcap != 0 caps each
// score as softcap * tanh(s * softcap_inv) before the scale; window != 0 starts the row at position
// p at cell p - window + 1 (both in f32 here; attention_exact replays llama.cpp).
// q8 != 0 (head_dim a multiple of 32) also writes the output quantized to Q8 blocks into XQ, as
// q8_quant.wgsl would (the same quants and scales: 16 threads' pairs per block, amax and quant sum
// through workgroup memory), so that the output projection's matvec needs no q8_quant dispatch.
// needs: a reduction (wg_sum, wg_max), common/half.wgsl (round_f16x2), common/exact.wgsl (q8: div_rn, mul_rn, to_f16)
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
  q8: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> KC: array<u32>;
@group(0) @binding(3) var<storage, read> VC: array<u32>;
@group(0) @binding(4) var<storage, read> SLOTS: array<i32>;
@group(0) @binding(5) var<storage, read> POS: array<i32>;
@group(0) @binding(6) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(7) var<storage, read_write> XQ: array<u32>;

override WG: u32 = 256u; // >= MAX_HEAD_DIM / 2: every dimension pair has a thread
const MAX_HEAD_DIM: u32 = 256u;

var<workgroup> q_sh: array<vec2<f32>, 128>; // MAX_HEAD_DIM / 2
var<workgroup> p_sh: array<f32, WG>;
var<workgroup> acc_sh: array<vec2<f32>, WG>;
var<workgroup> n_sh: u32;
var<workgroup> qw_sh: array<u32, WG>;
var<workgroup> qs_sh: array<i32, WG>;

fn score(kb: u32, hp: u32) -> f32 {
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  var d = 0u;
  for (; d + 4u <= hp; d += 4u) {
    s0 += dot(q_sh[d], unpack2x16float(KC[kb + d]));
    s1 += dot(q_sh[d + 1u], unpack2x16float(KC[kb + d + 1u]));
    s2 += dot(q_sh[d + 2u], unpack2x16float(KC[kb + d + 2u]));
    s3 += dot(q_sh[d + 3u], unpack2x16float(KC[kb + d + 3u]));
  }
  for (; d < hp; d++) { s0 += dot(q_sh[d], unpack2x16float(KC[kb + d])); }
  var s = (s0 + s1) + (s2 + s3);
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
  exact_init(nwg);
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

  let groups = WG / hp;
  let d = lid % hp;
  let g = lid / hp;
  var m = -1e30;
  var l = 0.0;
  var acc = vec2<f32>(0.0);
  for (var c = first; c < n; c += WG) {
    let j = c + lid;
    var s = -3.0e38;
    if (j < n) { s = score(base + j * kvp, hp); }
    let m_new = max(m, wg_max(s));
    var p = 0.0;
    if (j < n) { p = exp(s - m_new); }
    let alpha = exp(m - m_new);
    l = l * alpha + wg_sum(p); // wg_sum's barriers also order the p_sh writes below after the last chunk's reads
    m = m_new;
    p_sh[lid] = p;
    workgroupBarrier();
    let cn = min(WG, n - c);
    if (g < groups) {
      var a0 = vec2<f32>(0.0);
      var a1 = vec2<f32>(0.0);
      var a2 = vec2<f32>(0.0);
      var a3 = vec2<f32>(0.0);
      let vb = base + c * kvp + d;
      var jj = g;
      for (; jj + 3u * groups < cn; jj += 4u * groups) {
        let v0 = VC[vb + jj * kvp];
        let v1 = VC[vb + (jj + groups) * kvp];
        let v2 = VC[vb + (jj + 2u * groups) * kvp];
        let v3 = VC[vb + (jj + 3u * groups) * kvp];
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
  let ob = r * P.n_heads * P.head_dim + h * P.head_dim;
  var sum = vec2<f32>(0.0);
  if (lid < hp) {
    sum = acc_sh[lid];
    for (var k = 1u; k < groups; k++) { sum += acc_sh[k * hp + lid]; }
    sum = sum / l;
    OUT[ob + 2u * lid] = sum.x;
    OUT[ob + 2u * lid + 1u] = sum.y;
  }
  if (P.q8 != 0u) { store_q8(sum, lid, hp, ob); }
}

// The head's output as Q8 blocks: thread d < hp holds pair d, 16 pairs per block.
fn store_q8(sum: vec2<f32>, lid: u32, hp: u32, ob: u32) {
  p_sh[lid] = max(abs(sum.x), abs(sum.y));
  workgroupBarrier();
  let l0 = lid & ~15u;
  var amax = 0.0;
  for (var j = 0u; j < 16u; j++) { amax = max(amax, p_sh[l0 + j]); }
  let dF = div_rn(amax, 127.0);
  var id = 0.0;
  if (amax != 0.0) { id = div_rn(127.0, amax); }
  let q0 = i32(round(mul_rn(sum.x, id)));
  let q1 = i32(round(mul_rn(sum.y, id)));
  qw_sh[lid] = (bitcast<u32>(q0) & 0xffu) | ((bitcast<u32>(q1) & 0xffu) << 8u);
  qs_sh[lid] = q0 + q1;
  workgroupBarrier();
  if (lid < hp) {
    let xb = (ob / 32u + lid / 16u) * 10u;
    let j = lid % 16u;
    if (j % 2u == 0u) { XQ[xb + j / 2u] = qw_sh[lid] | (qw_sh[lid + 1u] << 16u); }
    if (j == 0u) {
      var total = 0;
      for (var t = 0u; t < 16u; t++) { total += qs_sh[lid + t]; }
      XQ[xb + 8u] = bitcast<u32>(to_f16(dF));
      XQ[xb + 9u] = bitcast<u32>(to_f16(mul_rn(dF, f32(total))));
    }
  }
}
